"""Report section: "Leads — funnel, speed-to-lead and follow-ups".

Reads what ``closeloop leads dedupe`` and ``leads score`` stored (``leads_merged``,
``lead_scores``) and the calls, through the report's backend; the analysis is
:func:`closeloop.leads.funnel.leads_report`. Left out when leads were never deduplicated.

:func:`model_card_body` is the scorer's model card: ``closeloop leads score`` stores it
(``lead_model_card``) for the report's "Lead score: model card" section, and ``--report
FILE.html`` also writes it as a page of its own (:func:`model_card_html`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from closeloop.leads.funnel import LeadsReport, leads_report
from closeloop.report.charts import bar_chart
from closeloop.report.sections import ReportContext, SectionResult, environment, format_column, register_section

if TYPE_CHECKING:  # the report itself should not pay for scikit-learn
    from closeloop.leads.train import ScoreRun


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


# ----- model card (``closeloop leads score --report FILE.html``) -------------------------------

CARD_TITLE = "Lead score: model card"


CARD_TABLE = "lead_model_card"  # the latest card, stored by 'leads score' for 'closeloop report'


class LeadModelSection:
    """The model card of the latest ``leads score`` run, as stored in ``lead_model_card``."""

    key = "lead-model"
    title = CARD_TITLE

    def build(self, ctx: ReportContext) -> SectionResult | None:
        """None when no score was ever computed."""
        table = _table(ctx.tables.calls.get_backend(), CARD_TABLE)
        if table is None:
            return None
        rows = table.to_pyarrow().to_pylist()
        if not rows:
            return None
        latest = max(rows, key=lambda r: r["generated_at"])
        return SectionResult(latest["html"], [latest["summary"]])


def model_card_summary(run: ScoreRun) -> str:
    """One line for the terminal: held-out AUC beside the baselines, features used and excluded."""
    if not run.reports:
        return f"{run.model.kind} model on {run.model.n_train:,} leads; too little history to evaluate"
    figures = ", ".join(f"{r.name} {r.auc:.3f}" for r in run.reports)
    return (f"held-out AUC {figures}; {len(run.features)} features, "
            f"{sum(n.action == 'excluded' for n in run.notes)} columns excluded")


def model_card_html(run: ScoreRun, generated: datetime | None = None) -> str:
    """A standalone page (the report's template) holding :func:`model_card_body`."""
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return environment().get_template("report.html.j2").render(
        title=CARD_TITLE, scope=f"{run.scores.num_rows:,} leads scored",
        sections=[{"key": "model-card", "title": CARD_TITLE, "html": Markup(model_card_body(run)), "error": None}],
        generated=when)


def model_card_body(run: ScoreRun) -> str:
    """The model card of a scoring run, for a sceptic.

    Features used and excluded (and why), held-out evaluation beside the logistic-regression and
    source-only baselines, stated vs observed sale rate per tier, and the calibration plot.
    """
    env = environment()

    def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], caption: str) -> str:
        return env.get_template("table.html.j2").render(rows=rows, columns=columns, caption=caption,
                                                        cell=format_column)

    m = run.model
    parts: list[str] = [f"<p>Model: <strong>{escape(m.kind)}</strong> trained on {m.n_train:,} called leads "
                        f"(base sale rate {m.base_rate:.1%}); parameters {escape(str(m.params or '-'))}. "
                        "Probabilities are Platt-calibrated on the newest fifth of the training window; reasons "
                        "are tree SHAP contributions in log-odds and add up to each score's log-odds.</p>"]
    if run.split:
        s = run.split
        parts.append(f"<p>Evaluation: time-ordered split. Trained on the {s['train']:,} oldest called leads "
                     f"(up to {escape(str(s['train_until']))}), tested on the {s['test']:,} newest "
                     f"(from {escape(str(s['test_from']))}); no test lead is older than a training lead.</p>")
        rows = [r.row() for r in run.reports]
        parts.append(table(rows, [("name", "score"), ("n", "leads"), ("positives", "sales"), ("auc", "AUC"),
                                  ("auc_low", "95% low"), ("auc_high", "95% high"), ("brier", "Brier"),
                                  ("ece", "ECE"), ("lift_top_decile", "lift top 10%")],
                           "Held-out quality beside the baselines (AUC interval: Hanley–McNeil)"))
        gains = [("source only", run.auc_gain), ("logistic regression", run.auc_gain_logistic)]
        parts.append(table([{"versus": name, "gain": g[0], "low": g[1], "high": g[2],
                             "verdict": "better" if g[1] > 0 else ("worse" if g[2] < 0 else "within noise")}
                            for name, g in gains if g],
                           [("versus", "model vs"), ("gain", "AUC gain"), ("low", "95% low"), ("high", "95% high"),
                            ("verdict", "verdict")], "AUC difference, paired bootstrap"))
        parts.append(table(run.tiers, [("tier", "tier"), ("leads", "leads"), ("stated", "stated chance"),
                                       ("observed", "observed"), ("observed_low", "95% low"),
                                       ("observed_high", "95% high"), ("lift", "lift")],
                           "Tiers on the held-out leads: stated chance vs observed sale rate"))
        parts.append(calibration_svg(run.reports[0].reliability))
    else:
        parts.append("<p>Too little held-out history to evaluate (needs 100 called leads with sales in the "
                     "newest 30%).</p>")
    parts.append(table([{"feature": f} for f in m.encoding.names], [("feature", "feature")],
                       f"Features used ({len(m.encoding.names)})"))
    parts.append(table([n.row() for n in run.notes], [("feature", "column"), ("action", "action"),
                                                     ("reason", "why")], "Columns not used, and why"))
    return "\n".join(parts)


def calibration_svg(points: list[dict[str, float]], size: int = 280) -> str:
    """Reliability diagram: mean predicted vs observed sale rate per bin, against the diagonal."""
    pad = 36
    top = max([0.05] + [max(p["predicted"], p["observed"]) for p in points]) * 1.1
    inner = size - 2 * pad

    def xy(px: float, py: float) -> tuple[float, float]:
        return pad + inner * px / top, size - pad - inner * py / top

    (x0, y0), (x1, y1) = xy(0, 0), xy(top, top)
    marks = [f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#9ca3af" '
             'stroke-dasharray="4 3"/>']
    for p in points:
        cx, cy = xy(p["predicted"], p["observed"])
        marks.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#2563eb" data-predicted="{p["predicted"]:.4f}" '
                     f'data-observed="{p["observed"]:.4f}"><title>predicted {p["predicted"]:.1%}, observed '
                     f'{p["observed"]:.1%} ({p["n"]:,} leads)</title></circle>')
    return (f'<svg class="chart" role="img" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
            f'<title>Calibration: predicted vs observed sale rate</title>'
            f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{size - pad}" stroke="#374151"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{size - pad}" stroke="#374151"/>'
            f'<text x="{size / 2}" y="{size - 8}" font-size="11" text-anchor="middle">predicted</text>'
            f'<text x="12" y="{size / 2}" font-size="11" transform="rotate(-90 12 {size / 2})" '
            f'text-anchor="middle">observed</text>'
            f'<text x="{size - pad}" y="{size - pad + 14}" font-size="10" text-anchor="end">{top:.0%}</text>'
            + "".join(marks) + "</svg>")


register_section(LeadModelSection(), after="leads")
