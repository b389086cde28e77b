"""Report section: "Leads — funnel, speed-to-lead and follow-ups".

Reads what ``closeloop leads dedupe`` and ``leads score`` stored (``leads_merged``,
``lead_scores``) and the calls, through the report's backend; the analysis is
:func:`closeloop.leads.funnel.leads_report`. Left out when leads were never deduplicated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from closeloop.leads.funnel import LeadsReport, leads_report
from closeloop.report.charts import bar_chart
from closeloop.report.sections import ReportContext, SectionResult, register_section


class LeadsSection:
    """Funnel by source and tier, speed-to-lead, conversion by attempt, follow-up compliance."""

    key = "leads"
    title = "Leads: funnel, speed-to-lead and follow-ups"

    def build(self, ctx: ReportContext) -> SectionResult | None:
        """None when the workspace has no deduplicated leads."""
        backend = ctx.tables.calls.get_backend()
        merged_t = _table(backend, "leads_merged")
        merged = merged_t.to_pyarrow() if merged_t is not None else None
        if merged is None or merged.num_rows == 0:
            return None
        scores_t = _table(backend, "lead_scores")
        scores = scores_t.to_pyarrow() if scores_t is not None else None
        calls = (backend.table("calls").select("lead_id", "offered_at", "answered_at", "outcome")
                 .filter(lambda t: t.lead_id.notnull()).to_pyarrow())
        report = leads_report(merged, scores, calls, datetime.now(UTC))
        return SectionResult(_html(ctx, report), report.headline)


def _table(backend: Any, name: str) -> Any:
    """The Ibis table ``name``, or None if the warehouse has none."""
    from ibis.common.exceptions import TableNotFound

    try:
        return backend.table(name)
    except TableNotFound:
        return None


def _html(ctx: ReportContext, r: LeadsReport) -> str:
    funnel_cols = [("leads", "leads"), ("callable", "callable"), ("called", "called"), ("reached", "reached"),
                   ("sold", "sold"), ("conversion", "sold / called"), ("conversion_ci", "95% CI")]
    parts: list[Any] = ["<p>Leads after deduplication (one per person). <em>Callable</em> excludes leads waiting "
                        "for enrichment; conversion is sales over leads called, with Wilson 95% intervals.</p>"]
    tiers = [row for row in r.funnel_tier if row["conversion"] is not None]
    if tiers:
        parts.append(Markup(bar_chart("Conversion by score tier", [t["tier"] for t in tiers],
                                      [t["conversion"] for t in tiers], pct=True)))
    parts.append(ctx.table(r.funnel_tier, [("tier", "tier"), *funnel_cols], caption="Funnel by score tier"))
    parts.append(ctx.table(r.funnel_source, [("source", "source"), *funnel_cols], caption="Funnel by source"))
    if r.speed.get("called"):
        s = r.speed
        parts.append(ctx.table([{"called": s["called"], "median": f"{s['median_min']:.0f} min",
                                 "p90": f"{s['p90_min']:.0f} min", "within_5": s["within_5_min"],
                                 "within_5_ci": s["within_5_min_ci"], "within_60": s["within_1_h"],
                                 "within_60_ci": s["within_1_h_ci"]}],
                               [("called", "leads called"), ("median", "median wait"), ("p90", "90th percentile"),
                                ("within_5", "within 5 min"), ("within_5_ci", "95% CI"),
                                ("within_60", "within 1 h"), ("within_60_ci", "95% CI")],
                               caption="Speed-to-lead: creation to first call"))
    parts.append(ctx.table(r.by_attempt, [("attempt", "attempt"), ("leads", "leads with this attempt"),
                                          ("sales", "sales on it"), ("conversion", "conversion"),
                                          ("conversion_ci", "95% CI")], caption="Conversion by attempt number"))
    c = r.compliance
    if c["due"]:
        parts.append(ctx.table([c], [("due", "follow-ups due"), ("on_time", "on time"), ("late", "late"),
                                     ("missed", "missed"), ("compliance", "on-time share"),
                                     ("compliance_ci", "95% CI")],
                               caption="Follow-up compliance (cadence 24 h / 3 d / 7 d, calling windows in the "
                                       "lead's time zone, 4 h grace)"))
    return "\n".join(str(p) for p in parts)


register_section(LeadsSection())
