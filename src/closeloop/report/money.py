"""Report section: "Money — cost per hour, per call, per sale, and margin by vendor".

Why a section of its own: the cheapest hour is often not the cheapest sale. The table puts
each vendor's cost per handled hour beside its cost per sale (with the interval that the
sales count gives it) so the report answers both questions, and says when they differ.
The numbers are the scorecard's cost metrics (:mod:`closeloop.metrics.cost`), priced with
the contracts' ``[contract.price]``; left out when no contract has a price.
"""

from __future__ import annotations

from typing import Any

from closeloop.metrics import ScorecardRequest, Selection, scorecard
from closeloop.metrics.cost import COST_METRICS
from closeloop.report.sections import ReportContext, SectionResult, register_section

VOLUME = ("handled", "aht_s", "sales", "close_rate")


def money_rows(ctx: ReportContext, by: tuple[str, ...] = ("vendor",), grain: str | None = None) -> list[dict[str, Any]]:
    """Cost metrics (and the volume behind them) per group, with cost per handled hour added."""
    sel = Selection(by=by, filters=ctx.selection.filters, start=ctx.selection.start, end=ctx.selection.end)
    req = ScorecardRequest(selection=sel, grain=grain, metrics=(*VOLUME, *COST_METRICS),
                           contracts=tuple(ctx.contracts or ()))
    rows = scorecard(ctx.tables, ctx.conv, req).rows
    for r in rows:
        hours = (r["aht_s"] or 0.0) * r["handled"] / 3600.0
        r["cost_per_hour"] = r["cost"] / hours if hours and r["cost"] else None
    return [r for r in rows if r["cost"]]


def cheapest(rows: list[dict[str, Any]], key: str, name: str = "vendor") -> str | None:
    """The group with the lowest ``key`` (None when no group has it)."""
    have = [r for r in rows if r.get(key) is not None]
    return str(min(have, key=lambda r: r[key])[name]) if have else None


class MoneySection:
    """Cost per handled hour, per call, per sale (with CI), per lead worked, and margin by vendor."""

    key = "money"
    title = "Money: cost per hour, per call, per sale, and margin"

    def build(self, ctx: ReportContext) -> SectionResult | None:
        """None when no contract carries a price."""
        if not any(c.price is not None for c in ctx.contracts or ()):
            return None
        rows = money_rows(ctx)
        if not rows:
            return None
        hour, sale = cheapest(rows, "cost_per_hour"), cheapest(rows, "cost_per_sale")
        cols = [("vendor", "vendor"), ("handled", "handled"), ("sales", "sales"), ("close_rate", "close rate"),
                ("cost", "cost"), ("cost_per_hour", "cost / handled hour"), ("cost_per_call", "cost / call"),
                ("cost_per_sale", "cost / sale"), ("cost_per_sale_ci", "95% CI"), ("cost_per_lead", "cost / lead"),
                ("margin", "margin")]
        shown = [{**r, "cost_per_sale_ci": _money_ci(r.get("cost_per_sale_ci")),
                  **{k: _money(r.get(k)) for k in ("cost", "cost_per_hour", "cost_per_call", "cost_per_sale",
                                                   "cost_per_lead", "margin")}} for r in rows]
        verdict = ("" if len(rows) < 2 else f"The cheapest handled hour is {hour}'s; the cheapest sale is {sale}'s."
                   if hour != sale else f"{hour} is cheapest both per handled hour and per sale.")
        html = (f"<p>Costs under each contract's price (docs/sla.md): hourly prices apply to handle time ÷ "
                f"occupancy, monthly fees are shared by handled calls. {verdict} The cost-per-sale interval "
                f"comes from the Wilson interval of the sales count.</p>"
                + ctx.table(shown, cols, caption="By vendor"))
        monthly = money_rows(ctx, grain="month")
        if len({str(r["period"]) for r in monthly}) > 1:
            html += ctx.table([{**r, **{k: _money(r.get(k)) for k in ("cost", "cost_per_sale", "margin")}}
                               for r in monthly],
                              [("period", "month"), ("vendor", "vendor"), ("handled", "handled"), ("sales", "sales"),
                               ("cost", "cost"), ("cost_per_sale", "cost / sale"), ("margin", "margin")],
                              caption="By month")
        if len(rows) < 2:
            (r,) = rows
            line = f"{r['vendor']}: cost {_money(r['cost'])}, per sale {_money(r['cost_per_sale'])}"
            return SectionResult(html, [line])
        return SectionResult(html, [f"cheapest per handled hour: {hour}; cheapest per sale: {sale}"])


def _money(v: float | None) -> str:
    return "" if v is None else f"{v:,.2f}"


def _money_ci(ci: list[float | None] | None) -> str:
    if not ci or ci[0] is None:
        return ""
    return f"[{ci[0]:,.2f}–{'…' if ci[1] is None else f'{ci[1]:,.2f}'}]"


register_section(MoneySection(), after="sla")
