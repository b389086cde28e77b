"""Report section: the vendor review pack — what both sides bring to the weekly call.

Shown when the report is scoped to one vendor (``closeloop report --vendor V``; the report's
selection then has the filter ``vendor=V`` and only V's contracts, so every other section —
scorecards, agents, SLA, conversation patterns — is V's alone). This section adds the trend
since the contract started: week by week, the volume, service, selling and cost figures,
the money the SLA terms moved, and the first 90 days marked as ramp-up, when misses are
expected and are read differently.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from closeloop.contracts import Contract, check_contracts, summarise
from closeloop.contracts.terms import RAMP_UP_DAYS
from closeloop.errors import EmptySelectionError
from closeloop.metrics import ScorecardRequest, Selection, scorecard
from closeloop.report.sections import ReportContext, SectionResult, register_section

TREND = ("handled", "service_level", "abandon_rate", "close_rate", "csat_top2", "data_capture")
COST = ("cost", "cost_per_sale")


def review_vendor(selection: Selection) -> str | None:
    """The one vendor a selection is scoped to (``vendor=V``), else None."""
    for f in selection.filters:
        if f.column == "vendor" and not f.negate and len(f.values) == 1:
            return f.values[0]
    return None


def vendor_contracts(contracts: list[Contract] | None, vendor: str) -> list[Contract]:
    """The contracts whose scope names ``vendor``."""
    return [c for c in contracts or () if any(f.column == "vendor" and vendor in f.values and not f.negate
                                               for f in c.filters)]


def latest_period(ctx: ReportContext, grain: str) -> tuple[date, date]:
    """First and last day of the latest ``grain`` (week, month) with calls in the selection."""
    rows = ctx.scorecard(grain=grain, metrics=("handled",)).rows
    first = max(r["period"] for r in rows)
    if grain == "week":
        return first, first + timedelta(days=6)
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


class VendorReview:
    """Weekly trend since the contract start with ramp-up marked, and the SLA money per period."""

    key = "vendor"
    title = "Vendor review: trend since the contract start"

    def build(self, ctx: ReportContext) -> SectionResult | None:
        """None unless the report is scoped to one vendor."""
        vendor = review_vendor(ctx.selection)
        if vendor is None:
            return None
        contracts = vendor_contracts(ctx.contracts, vendor)
        starts = [c.start for c in contracts if c.start]
        since = min(starts) if starts else None
        sel = Selection(filters=ctx.selection.filters, start=since, end=ctx.selection.end)
        priced = tuple(c for c in contracts if c.price)
        req = ScorecardRequest(selection=sel, grain="week", metrics=(*TREND, *(COST if priced else ())),
                               contracts=priced)
        rows = scorecard(ctx.tables, ctx.conv, req).rows
        money = _sla_money(ctx, contracts, since)
        weeks = [r["period"] for r in rows]
        for r in rows:
            r["ramp_up"] = any(c.ramp_up(r["period"]) for c in contracts)
            r["sla_money"] = None
        for week, amount in money.items():  # a month starting mid-week lands in the first week shown of it
            i = next((i for i, w in enumerate(weeks) if w >= week), None)
            if i is not None:
                rows[i]["sla_money"] = (rows[i]["sla_money"] or 0.0) + amount
        cols = [("period", "week"), ("ramp_up", "ramp-up"), *((m, m.replace("_", " ")) for m in TREND)]
        if priced:
            cols += [("cost", "cost"), ("cost_per_sale", "cost / sale")]
        cols.append(("sla_money", "SLA money (bonus − penalty)"))
        shown = [{**r, **{k: _money(r.get(k)) for k in ("cost", "cost_per_sale", "sla_money")}} for r in rows]
        intro = (f"<p>{vendor}'s calls week by week since its contract started"
                 + (f" on {since} (the first {RAMP_UP_DAYS} days, to {since + timedelta(days=RAMP_UP_DAYS - 1)},"
                    " are ramp-up)" if since else " (no start date in its contract: the whole history)")
                 + ". SLA money is what the week's judged terms moved: bonuses earned minus breaches' cost; "
                 "monthly terms are shown in the first week of their month.</p>")
        html = intro + ctx.table(shown, cols, caption=f"{vendor}: weekly trend")
        line = f"{vendor}: {len(rows)} weeks" + (f" since {since}" if since else "")
        if rows and rows[-1]["close_rate"] is not None:
            line += f", last week close rate {rows[-1]['close_rate']:.1%}"
        if money:
            line += f", SLA money {sum(money.values()):+,.0f}"
        summary = [line]
        return SectionResult(html, summary)


def _sla_money(ctx: ReportContext, contracts: list[Contract], since: date | None) -> dict[date, float]:
    """Bonus minus penalty per week (monthly terms credited to the week holding the month's first day)."""
    if not contracts:
        return {}
    try:
        results = check_contracts(ctx.tables, ctx.conv, contracts, since, ctx.selection.end)
    except EmptySelectionError:
        return {}
    out: dict[date, float] = {}
    for s in summarise(results):
        week = s["period"] - timedelta(days=s["period"].weekday())
        out[week] = out.get(week, 0.0) + s["bonus"] - s["penalty"]
    return out


def _money(v: Any) -> str:
    return "" if v is None else f"{v:,.2f}"


register_section(VendorReview(), after="headline")
