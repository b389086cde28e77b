"""The built-in report sections: headline, scorecards, drivers, agents, SLA.

Each is a plain function registered with :func:`~closeloop.report.sections.section`, in
the order they appear. They use only the public metrics/stats/contracts APIs, exactly as a
plugged-in section would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from closeloop.contracts import FAIL, check_contracts, summarise
from closeloop.errors import CloseloopError
from closeloop.metrics import METRICS, dimensions, enrich
from closeloop.metrics.explain import gap_analysis, mode_switching, volume_vs_conversion
from closeloop.metrics.selection import apply_selection, needed_columns
from closeloop.report.charts import bar_chart, forest_plot, line_chart
from closeloop.report.sections import ReportContext, SectionResult, format_cell, format_column, section

KPI_METRICS = ("offered", "handled", "service_level", "abandon_rate", "asa_s", "aht_s", "sales", "close_rate",
               "first_call_close", "csat_top2", "revenue_per_call")
GROUP_METRICS = ("offered", "handled", "service_level", "abandon_rate", "asa_s", "aht_s", "close_rate",
                 "first_call_close", "csat_top2", "resolution_rate", "data_capture")
COVARIATES = ("source", "product", "hour", "direction")
MIN_GAP_CALLS = 50


def pct(v: float | None) -> str:
    """A rate as a percentage for the terminal."""
    return "n/a" if v is None else f"{v * 100:.1f}%"


def ci_text(ci: list[float | None] | None) -> str:
    """``[a%–b%]`` or empty."""
    return "" if not ci or None in ci else f"[{pct(ci[0])}–{pct(ci[1])}]"


@section("headline", "Headline KPIs and trends")
def headline(ctx: ReportContext) -> SectionResult:
    """KPI tiles with CIs, weekly trends and the sales funnel."""
    (row,) = ctx.scorecard(metrics=(*KPI_METRICS, "dialled")).rows
    tiles = []
    for name in KPI_METRICS:
        if row.get(name) is not None:
            tiles.append({"label": name, "value": format_column(row[name], name),
                          "ci": format_cell(row.get(f"{name}_ci"))})
    weekly = ctx.scorecard(grain="week", metrics=("handled", "close_rate", "service_level", "abandon_rate")).rows
    weeks = [str(r["period"]) for r in weekly]
    rates = line_chart("Weekly rates", weeks, {
        "close rate": [r["close_rate"] for r in weekly], "service level": [r["service_level"] for r in weekly],
        "abandon rate": [r["abandon_rate"] for r in weekly],
    }, pct=True)
    volume = line_chart("Weekly handled calls", weeks, {"handled": [r["handled"] for r in weekly]})
    sales = ctx.scorecard(metrics=("close_rate",)).rows[0]
    funnel = bar_chart("Funnel", ["offered + dialled", "handled", "handled sales calls", "sales"], [
        row["offered"] + row["dialled"], row["handled"], sales.get("close_rate_n", 0), row["sales"],
    ])
    html = ctx.render("kpis.html.j2", tiles=tiles, charts=[Markup(rates), Markup(volume), Markup(funnel)])
    summary = [
        f"{row['handled']:,} handled of {row['offered']:,} offered + {row['dialled']:,} dialled; "
        f"close rate {pct(row['close_rate'])} {ci_text(row.get('close_rate_ci'))}".rstrip() + ", "
        f"service level {pct(row['service_level'])}, abandon {pct(row['abandon_rate'])}"
    ]
    return SectionResult(html, summary)


def _group_dims(ctx: ReportContext) -> list[str]:
    """Vendor and center, each only where the data has more than one of them."""
    dims = []
    for dim in ("vendor", "center_id"):
        rows = ctx.scorecard(by=(dim,), metrics=("handled",)).rows
        if len([r for r in rows if r["handled"]]) > 1:
            dims.append(dim)
    return dims


@section("scorecards", "Vendor and center scorecards")
def scorecards(ctx: ReportContext) -> SectionResult | None:
    """One table per dimension, with significance marks, and a forest plot of close rates."""
    dims = _group_dims(ctx) or ["center_id"]
    overall = ctx.scorecard(metrics=("close_rate",)).rows[0]["close_rate"]
    parts, summary = [], []
    for dim in dims:
        card = ctx.scorecard(by=(dim,), metrics=GROUP_METRICS)
        rows = [_marked(r, GROUP_METRICS) for r in card.rows]
        parts.append(ctx.table(rows, [(dim, dim)] + [(m, m) for m in GROUP_METRICS], caption=f"By {dim}"))
        rated = [r for r in card.rows if r.get("close_rate") is not None]
        if rated:
            parts.append(forest_plot(
                f"Close rate by {dim} (95% CI; dashed: overall)", [r[dim] for r in rated],
                [r["close_rate"] for r in rated], [r["close_rate_ci"][0] for r in rated],
                [r["close_rate_ci"][1] for r in rated], reference=overall,
            ))
        for r in card.rows:
            for m in ("close_rate", "service_level"):
                if r.get(f"{m}_sig"):
                    summary.append(f"{dim} {r[dim]}: {m} {pct(r[m])} is {r[f'{m}_sig']} than the rest beyond noise")
    return SectionResult("\n".join(parts), summary[:6])


def _marked(row: dict[str, Any], metrics: tuple[str, ...]) -> dict[str, Any]:
    out = dict(row)
    for m in metrics:
        sig = row.get(f"{m}_sig")
        if sig and row.get(m) is not None:
            arrow = "▲" if sig == "higher" else "▼"
            out[m] = Markup('{} <span class="{}">{}</span>').format(format_cell(row[m]),
                                                                   "up" if sig == "higher" else "down", arrow)
    return out


def _covariates(ctx: ReportContext) -> tuple[str, ...]:
    """Mix dimensions that vary in the data (a constant one explains nothing)."""
    frame = apply_selection(enrich(ctx.tables, ctx.conv, needed_columns(ctx.selection, COVARIATES)), ctx.selection,
                            dimensions(ctx.tables))
    sales = frame.filter(frame.handled_sales)
    counts = sales.aggregate(**{c: sales[c].nunique() for c in COVARIATES}).to_pyarrow().to_pylist()[0]
    return tuple(c for c in COVARIATES if (counts[c] or 0) > 1)


@section("drivers", "What drives the close-rate gap")
def drivers(ctx: ReportContext) -> SectionResult | None:
    """Mix vs performance between the best and worst group, lead sources, mode switching."""
    parts, summary = [], []
    covs = _covariates(ctx)
    for dim in _group_dims(ctx)[:1]:
        rows = [r for r in ctx.scorecard(by=(dim,), metrics=("close_rate",)).rows
                if r.get("close_rate") is not None and r["close_rate_n"] >= MIN_GAP_CALLS]
        if len(rows) < 2 or not covs:
            continue
        best = max(rows, key=lambda r: r["close_rate"])
        worst = min(rows, key=lambda r: r["close_rate"])
        rep = gap_analysis(ctx.tables, ctx.conv, dim, str(best[dim]), str(worst[dim]), covs, ctx.selection)
        g = rep.gap
        verdict = "more than noise" if g.performance_pvalue < 0.05 else "within noise"
        parts.append(ctx.render("gap.html.j2", dim=dim, gap=g, covs=", ".join(covs), verdict=verdict, pct=pct,
                                chart=Markup(bar_chart("Gap split (percentage points)", ["raw gap", "mix",
                                                                                         "performance"],
                                                       [g.gap * 100, g.mix * 100, g.performance * 100]))))
        levels = [r for r in rep.levels if r["covariate"] == covs[0]]
        parts.append(ctx.table(levels, [("level", covs[0]), ("share_a", f"share {g.a}"), ("rate_a", f"close {g.a}"),
                                        ("share_b", f"share {g.b}"), ("rate_b", f"close {g.b}")],
                               caption=f"Mix by {covs[0]}"))
        summary.append(f"{dim} gap {g.a} vs {g.b}: {g.gap * 100:+.1f} pts = mix {g.mix * 100:+.1f} + performance "
                       f"{g.performance * 100:+.1f} [{g.performance_ci[0] * 100:+.1f}, "
                       f"{g.performance_ci[1] * 100:+.1f}] ({verdict})")
    if "source" in covs:
        src = [r for r in ctx.scorecard(by=("source",), metrics=("close_rate",)).rows if r["close_rate"] is not None]
        parts.append(forest_plot("Close rate by lead source", [r["source"] or "(none)" for r in src],
                                 [r["close_rate"] for r in src], [r["close_rate_ci"][0] for r in src],
                                 [r["close_rate_ci"][1] for r in src]))
    try:
        modes = mode_switching(ctx.tables, ctx.conv, ctx.selection)
    except CloseloopError:
        modes = None
    if modes and len(modes["previous"]) > 1:
        prev = modes["previous"]
        parts.append(forest_plot("Close rate by the agent's previous call", [r["previous"] for r in prev],
                                 [r["close_rate"] for r in prev], [r["close_rate_ci"][0] for r in prev],
                                 [r["close_rate_ci"][1] for r in prev]))
        parts.append(ctx.table(modes["position"], [("position", "position in sales run"), ("calls", "calls"),
                                                   ("close_rate", "close rate"), ("close_rate_ci", "95% CI")]))
        if "care_vs_sales" in modes:
            d = modes["care_vs_sales"][0]
            lo, hi = d["difference_ci"]
            summary.append(f"after a care call close rate differs by {d['difference'] * 100:+.1f} pts "
                           f"[{lo * 100:+.1f}, {hi * 100:+.1f}] vs after a sales call (p={d['pvalue']:.2g})")
    if not parts:
        return None
    return SectionResult("\n".join(parts), summary)


@section("agents", "Agents (raw and shrunk close rates)")
def agents(ctx: ReportContext) -> SectionResult | None:
    """Agents ranked by shrunk close rate, raw beside it, with the volume flag."""
    card = ctx.scorecard(by=("agent_id",), metrics=("close_rate",))
    rows = [r for r in card.rows if r.get("close_rate_shrunk") is not None]
    if not rows:
        return None
    flags = {r["agent_id"]: r for r in volume_vs_conversion(ctx.tables, ctx.conv, ctx.selection)}
    for r in rows:
        v = flags.get(r["agent_id"], {})
        r["leads_touched"] = v.get("leads_touched")
        r["flag"] = v.get("flag")
    rows.sort(key=lambda r: r["close_rate_shrunk"], reverse=True)
    shown = rows if len(rows) <= 30 else rows[:15] + rows[-15:]
    cols = [("agent_id", "agent"), ("close_rate_n", "sales calls"), ("close_rate", "raw close"),
            ("close_rate_ci", "raw 95% CI"), ("close_rate_shrunk", "shrunk close"),
            ("close_rate_shrunk_ci", "shrunk 95% interval"), ("leads_touched", "leads"), ("flag", "flag")]
    note = ("<p class=\"note\">Shrunk rates pull agents with few calls toward their team's rate (beta-binomial "
            "empirical Bayes), so a lucky 9-call agent does not outrank a steady 900-call one."
            + (f" Showing the top and bottom 15 of {len(rows)} agents." if len(rows) > 30 else "") + "</p>")
    flagged = [r["agent_id"] for r in rows if r["flag"]]
    summary = [f"{len(rows)} agents; top by shrunk close rate: {rows[0]['agent_id']} "
               f"({pct(rows[0]['close_rate_shrunk'])}, raw {pct(rows[0]['close_rate'])} on {rows[0]['close_rate_n']})"]
    if flagged:
        summary.append(f"high close rate on few leads: {', '.join(map(str, flagged[:5]))}")
    return SectionResult(note + ctx.table(shown, cols), summary)


@section("sla", "SLA status")
def sla(ctx: ReportContext) -> SectionResult | None:
    """Each contract per period, then every failing term."""
    if not ctx.contracts:
        return None
    results = check_contracts(ctx.tables, ctx.conv, ctx.contracts, ctx.selection.start, ctx.selection.end)
    if not results:
        return SectionResult('<p class="note">No calls in any contract\'s scope.</p>', [])
    summ = summarise(results)
    failed = [_readable(r.row()) for r in results if r.status == FAIL]
    html = ctx.table(summ, [("contract", "contract"), ("period", "period"), ("passed", "passed"),
                            ("failed", "failed"), ("not_judged", "not judged"), ("score", "weighted score"),
                            ("penalty", "penalty"), ("bonus", "bonus")])
    if failed:
        html += ctx.table(failed, [("contract", "contract"), ("period", "period"), ("metric", "metric"),
                                   ("value", "value"), ("ci", "95% CI"), ("target", "target"),
                                   ("margin", "margin"), ("penalty", "penalty")], caption="Breaches")
    return SectionResult(html, [f"SLA: {len(failed)} failed term-periods of {len(results)}"])


def _readable(row: dict[str, Any]) -> dict[str, Any]:
    """An SLA row with value, CI, target and margin formatted for the metric (rate or seconds)."""
    rate = METRICS[row["metric"]].is_rate
    fmt: Callable[[float], str] = (lambda v: f"{v * 100:.1f}%") if rate else (lambda v: f"{v:,.1f}")
    out = dict(row)
    for key in ("value", "target", "margin"):
        out[key] = fmt(row[key]) if row[key] is not None else ""
    out["target"] = ("≥ " if row["direction"] == "at_least" else "≤ ") + out["target"]
    out["ci"] = f"[{fmt(row['ci'][0])}–{fmt(row['ci'][1])}]" if row["ci"] and None not in row["ci"] else ""
    out["penalty"] = f"{row['penalty']:,.0f}"
    return out
