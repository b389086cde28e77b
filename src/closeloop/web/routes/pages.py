"""Server-rendered pages: Overview, Scorecards (the drill path), a day's calls, one call, SLA, audit.

Filters live in the URL (``vendor``, ``center_id``, ``queue``, ``agent_id``, ``period``,
``start``, ``end``) and are carried down the drill path vendor -> center -> queue -> agent ->
day -> call. Every table answers ``?format=csv|parquet|json`` with exactly the Result the page
shows. Data comes only from :class:`closeloop.web.scope.ScopedData` (the caller's scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from closeloop.errors import ConfigError
from closeloop.results import Result
from closeloop.web.auth import client_ip, data, require
from closeloop.web.scope import DRILL, HEADLINE, NEXT_LEVEL, OutOfScope, ScopedData
from closeloop.web.views import data_response, link, render, wanted_format

router = APIRouter(include_in_schema=False)
Data = Annotated[ScopedData, Depends(data)]

#: The first drill level each role lands on.
_START = {"admin": "vendor", "analyst": "vendor", "vendor_manager": "center_id", "supervisor": "queue",
          "agent": "day"}
LEVELS = ("vendor", "center_id", "queue", "team", "agent_id", "day")
#: Metric sets a scorecard can show (``?view=``): operations, leads and sales, care.
VIEWS = {
    "ops": HEADLINE,
    "leads": ("sales", "conversion_per_lead", "first_call_close", "leads_per_sale", "contacts_per_sale",
              "data_capture", "revenue_per_call"),
    "care": ("handled", "resolution_rate", "repeat_rate", "csat", "csat_top2", "aht_s"),
}


@dataclass(frozen=True)
class Filters:
    """The drill filters and period of a request (checked against the scope by ScopedData)."""

    vendor: str | None = None
    center_id: str | None = None
    queue: str | None = None
    team: str | None = None
    agent_id: str | None = None
    period: str | None = None
    start: str | None = None
    end: str | None = None

    def drill(self) -> dict[str, str]:
        """Only the drill filters (vendor, center, queue, agent) that are set."""
        return {k: v for k in DRILL if (v := getattr(self, k))}

    def params(self) -> dict[str, Any]:
        """Everything to carry along in links."""
        return {k: getattr(self, k) for k in (*DRILL, "period", "start", "end")}


def filters(vendor: str | None = None, center_id: str | None = None, queue: str | None = None,
            team: str | None = None, agent_id: str | None = None,
            period: Annotated[str | None, Query(description="a month 2026-03, ISO week 2026-W10 or day")] = None,
            start: Annotated[date | None, Query(description="first day (center local time)")] = None,
            end: Annotated[date | None, Query(description="last day, inclusive")] = None) -> Filters:
    """The filters of a request's URL."""
    return Filters(vendor, center_id, queue, team, agent_id, period, start.isoformat() if start else None,
                   end.isoformat() if end else None)


Filt = Annotated[Filters, Depends(filters)]


# -- what each page shows (the API returns the same Results) ---------------------------------

def overview_data(d: ScopedData, f: Filters) -> dict[str, Any]:
    """Headline KPIs, the weekly trend with partial weeks marked, as-of time and SLA status."""
    drill = d.filters(f.drill())
    head = d.scorecard(None, drill, period=f.period, start=f.start, end=f.end)
    trend = d.scorecard(None, drill, grain="week", period=f.period, start=f.start, end=f.end)
    first, last = d.span()
    partial = {r["period"] for r in trend.rows() if r["period"] and first and last and
               (r["period"] < first or r["period"] + timedelta(days=6) > last)}
    try:
        sla = d.sla(summary=True)
    except ConfigError:
        sla = None
    return {"head": head, "trend": trend, "partial": partial, "first": first, "last": last, "as_of": d.as_of(),
            "sla": sla}


#: Rates drawn on the overview's trend chart and the scorecard's interval chart.
CHARTED = ("service_level", "abandon_rate", "close_rate")


def trend_chart(trend: Result, partial: set) -> str:
    """The weekly rates as lines (the report's SVG charts: no script, works offline)."""
    from closeloop.report.charts import line_chart

    rows = trend.rows()
    labels = [f"{r['period']}{'*' if r['period'] in partial else ''}" for r in rows]
    return line_chart("rates by week (* partial)", labels, {m: [r.get(m) for r in rows] for m in CHARTED}, pct=True)


def interval_chart(card: Result, key: str) -> str:
    """The first charted rate per group with its interval (the report's forest plot)."""
    from closeloop.report.charts import forest_plot

    metric = next((m for m in ("close_rate", *CHARTED) if f"{m}_low" in card.columns), None)
    if metric is None:
        return ""
    rows = [r for r in card.rows() if r.get(metric) is not None][:40]
    if not rows:
        return ""
    return forest_plot(f"{metric} with its interval", [str(r[key]) for r in rows], [r[metric] for r in rows],
                       [r[f"{metric}_low"] for r in rows], [r[f"{metric}_high"] for r in rows])


def scorecard_data(d: ScopedData, f: Filters, by: str, view: str = "ops") -> Result:
    """One level of the drill path within the filters, with the view's metrics."""
    if by not in LEVELS:
        raise HTTPException(status_code=400, detail=f"by: one of {', '.join(LEVELS)}")
    if view not in VIEWS:
        raise HTTPException(status_code=400, detail=f"view: one of {', '.join(VIEWS)}")
    return d.scorecard(by, d.filters(f.drill()), period=f.period, start=f.start, end=f.end, metrics=VIEWS[view])


def _level(request: Request, by: str | None) -> str:
    return by or _START.get(require(request).role, "vendor")


# -- pages ---------------------------------------------------------------------------------------

@router.get("/")
def overview(request: Request, d: Data, f: Filt) -> Response:
    """Headline KPIs with intervals, the weekly trend, as-of time and SLA status per contract."""
    got = overview_data(d, f)
    fmt = wanted_format(request)
    if fmt != "html":
        return data_response(request, got["head"], fmt, "overview")
    return render(request, "overview.html", title="Overview", f=f, metrics=HEADLINE, scope=d.scope,
                  link=link, chart=trend_chart(got["trend"], got["partial"]), **got)


@router.get("/scorecard")
def scorecard(request: Request, d: Data, f: Filt, by: str | None = None, view: str = "ops") -> Response:
    """A scorecard at one drill level; each row links one level down, keeping the filters."""
    level = _level(request, by)
    card = scorecard_data(d, f, level, view)
    fmt = wanted_format(request)
    if fmt != "html":
        return data_response(request, card, fmt, f"scorecard-{level}")
    chart = interval_chart(card, "period" if level == "day" else level)
    base = f.params() | ({"view": view} if view != "ops" else {})
    return render(request, "scorecard.html", title=f"Scorecard by {level}", card=card, by=level, f=f, chart=chart,
                  metrics=VIEWS[view], next_level=NEXT_LEVEL.get(level), levels=LEVELS, link=link,
                  base=base, view=view, views=VIEWS)


@router.get("/calls")
def calls(request: Request, d: Data, f: Filt, day: str | None = None) -> Response:
    """The calls of one local day within the filters (the last step before one call)."""
    got = d.calls(d.filters(f.drill()), day)
    fmt = wanted_format(request)
    if fmt != "html":
        return data_response(request, got, fmt, f"calls-{day or 'all'}")
    return render(request, "calls.html", title=f"Calls {day or ''}", rows=got.rows(), result=got, f=f, day=day,
                  link=link, base=f.params())


@router.get("/calls/{call_id}")
def call(request: Request, d: Data, call_id: str) -> Response:
    """One call: timeline, lead, agent, outcome, transcript (escaped) and recording when it has one."""
    got = d.call(call_id)
    who = require(request)
    request.app.state.accounts.audit(who.actor, "call_view", call_id, client_ip(request))
    c = got["call"]
    has_recording = d.recording_path(c.get("recording_uri")) is not None
    timeline = _timeline(c)
    from closeloop.ops.reviews import VERDICTS, reviews
    from closeloop.web.routes.qa import REVIEWERS, script_steps

    return render(request, "call.html", title=f"Call {call_id}", c=c, turns=got["turns"], lead=got["lead"],
                  timeline=timeline, has_recording=has_recording, reviews=reviews(request.app.state.store, call_id),
                  steps=script_steps(request), verdicts=VERDICTS, can_review=who.role in REVIEWERS)


def _timeline(c: dict[str, Any]) -> list[tuple[str, Any]]:
    """Offered, answered, hold, ended, wrap: what happened when."""
    steps: list[tuple[str, Any]] = [("offered", c.get("offered_at"))]
    if c.get("answered_at"):
        steps.append(("answered", c["answered_at"]))
    if c.get("hold_s"):
        steps.append(("on hold (s)", c["hold_s"]))
    steps.append(("ended", c.get("ended_at")))
    if c.get("wrap_s") is not None:
        steps.append(("wrap-up (s)", c["wrap_s"]))
    return steps


@router.get("/calls/{call_id}/recording")
def recording(request: Request, d: Data, call_id: str) -> Response:
    """The recording file (HTTP range requests for seeking); only files under WORKSPACE/recordings."""
    path = d.recording(call_id)
    rng = request.headers.get("range", "")
    if not rng or rng.replace(" ", "").startswith("bytes=0-"):  # one audit row per listen, not per chunk
        who = require(request)
        request.app.state.accounts.audit(who.actor, "recording_view", call_id, client_ip(request))
    media = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg",
             ".m4a": "audio/mp4", ".webm": "audio/webm"}.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media)


@router.get("/sla")
def sla(request: Request, d: Data, period: str | None = None) -> Response:
    """Each contract term per period: value, interval, target, verdict (contracts in scope only)."""
    try:
        got = d.sla(period=period)
    except ConfigError as exc:
        return render(request, "sla.html", title="SLA", result=None, rows=[], message=str(exc), period=period)
    fmt = wanted_format(request)
    if fmt != "html":
        return data_response(request, got, fmt, "sla")
    return render(request, "sla.html", title="SLA", result=got, rows=got.rows(), message=None, period=period,
                  charts=sla_history(got))


def sla_history(result: Result) -> list[str]:
    """One chart per contract term: its value per period beside its target (the history of the verdicts)."""
    from closeloop.metrics import METRICS
    from closeloop.report.charts import line_chart

    terms: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in result.rows():
        terms.setdefault((r["contract"], r["metric"]), []).append(r)
    out = []
    for (contract, metric), rows in terms.items():
        rows.sort(key=lambda r: r["period"])
        pct = getattr(METRICS.get(metric), "is_rate", False)
        out.append(line_chart(f"{contract}: {metric}", [str(r["period"]) for r in rows],
                              {"value": [r["value"] for r in rows], "target": [r["target"] for r in rows]}, pct=pct))
    return out


@router.get("/admin/audit")
def audit(request: Request, user: str | None = None, since: str | None = None) -> Response:
    """The audit log (admins only; anyone else gets 404)."""
    who = require(request)
    if who.role != "admin":
        raise OutOfScope("not found")
    from closeloop.workspace.base import as_of

    rows = request.app.state.accounts.audit_rows(as_of(since) if since else None, user, limit=500)
    return render(request, "audit.html", title="Audit log", rows=rows)


def day_of(value: Any) -> str:
    """A period value as the ``day`` URL parameter."""
    return value.isoformat() if isinstance(value, date) else str(value)
