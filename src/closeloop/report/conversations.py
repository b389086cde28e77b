"""Report section: "What in the calls predicts lost sales".

Reads the results ``closeloop patterns`` stored (conversation_calls, conversation_events,
conversation_features) through the report's Ibis backend, so it never re-detects; the
analysis itself is :func:`closeloop.conversations.summary.lost_sales_summary`. Without
transcripts the section is left out; with transcripts but no stored scan it says how to
make one.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from closeloop.conversations.detect import Feature
from closeloop.conversations.qa import clock
from closeloop.conversations.summary import lost_sales_summary, pick_examples
from closeloop.errors import EmptySelectionError
from closeloop.report.charts import forest_plot
from closeloop.report.sections import ReportContext, SectionResult, register_section

FEATURE_PREFIX = "f_"
TOP = 8


class LostSalesPatterns:
    """The conversation-patterns section of the diagnostic report."""

    key = "conversations"
    title = "What in the calls predicts lost sales"

    def build(self, ctx: ReportContext) -> SectionResult | None:
        """Ranked patterns with CIs, prevalence by center and example moments (None without transcripts)."""
        backend = ctx.tables.calls.get_backend()
        transcripts = _table(backend, "transcripts")
        if transcripts is None or transcripts.count().to_pyarrow().as_py() == 0:
            return None
        if _table(backend, "conversation_calls") is None or _table(backend, "conversation_features") is None:
            raise EmptySelectionError("no stored conversation results: run 'closeloop patterns' first")
        catalog = [Feature(**r) for r in backend.table("conversation_features").to_pyarrow().to_pylist()]
        catalog = [f for f in catalog if f.calls in ("sales", "all")]
        frame = _frame(ctx, backend, catalog)
        if frame is None:
            raise EmptySelectionError("no answered sales calls with transcripts in the selection")
        summary = lost_sales_summary(frame["features"], frame["success"], catalog, frame["covariates"],
                                     frame["centers"], top=TOP)
        top = [e for e in summary.effects if not e.note][:TOP]
        lost = {c for c, ok in zip(frame["call_ids"], frame["success"], strict=True) if not ok}
        events = _events(backend, [e.feature for e in summary.significant if e.adjusted_diff < 0])
        examples = pick_examples(events, lost, [e.feature for e in summary.significant])
        return SectionResult(_html(ctx, summary, top, examples), summary.headline())


def _frame(ctx: ReportContext, backend: Any, catalog: list[Feature]) -> dict[str, Any] | None:
    """Per-call features, outcome and covariates of the selection's answered sales calls."""
    from closeloop.metrics import dimensions, enrich
    from closeloop.metrics.selection import apply_selection, needed_columns

    needs = needed_columns(ctx.selection, ("source",))
    calls = apply_selection(enrich(ctx.tables, ctx.conv, needs), ctx.selection, dimensions(ctx.tables))
    calls = calls.filter([calls.call_type == "sales", calls.outcome.isin(["sale", "no_sale", "callback"])])
    conv = backend.table("conversation_calls")
    names = [f.name for f in catalog if FEATURE_PREFIX + f.name in conv.columns]
    joined = (calls.select("call_id", "outcome", "center_id", "agent_id", "source")
              .join(conv.select("call_id", *(FEATURE_PREFIX + n for n in names)), "call_id"))
    table = joined.order_by("call_id").to_pyarrow()
    if table.num_rows == 0:
        return None
    import numpy as np

    col = table.column
    return {
        "call_ids": col("call_id").to_pylist(),
        "success": np.array([o == "sale" for o in col("outcome").to_pylist()], dtype=bool),
        "features": {n: np.asarray(col(FEATURE_PREFIX + n).to_pylist(), dtype=bool) for n in names},
        "covariates": {"center_id": col("center_id").to_pylist(), "source": col("source").to_pylist(),
                       "agent_id": col("agent_id").to_pylist()},
        "centers": col("center_id").to_pylist(),
    }


def _table(backend: Any, name: str) -> Any:
    """The Ibis table ``name``, or None if the warehouse has none."""
    from ibis.common.exceptions import TableNotFound

    try:
        return backend.table(name)
    except TableNotFound:
        return None


def _events(backend: Any, kinds: list[str]) -> list[dict[str, Any]]:
    ev = _table(backend, "conversation_events")
    if not kinds or ev is None:
        return []
    rows: list[dict[str, Any]] = ev.filter(ev.kind.isin(kinds)).to_pyarrow().to_pylist()
    return rows


def _html(ctx: ReportContext, summary: Any, top: list[Any], examples: dict[str, list[dict[str, Any]]]) -> str:
    parts = [f"<p>{summary.n_calls:,} answered sales calls with transcripts; close rate {summary.close_rate:.1%}. "
             "Each pattern's effect is the change in close rate when it occurs, adjusted for center, lead source "
             "and agent (logistic regression, 95% CI); patterns are ranked by sales lost per 1,000 calls "
             "(prevalence × effect). * = beyond noise after Benjamini–Hochberg adjustment.</p>"]
    harmful = [e for e in top if e.adjusted_diff < 0]
    if harmful:
        parts.append(Markup(forest_plot(
            "Drop in close rate when the pattern occurs (adjusted, 95% CI)", [e.label for e in harmful],
            [-e.adjusted_diff for e in harmful], [max(-e.adjusted_diff_ci[1], 0.0) for e in harmful],
            [-e.adjusted_diff_ci[0] for e in harmful], reference=0.0)))
    rows = [{
        "pattern": e.label, "calls": e.n_with, "prevalence": e.prevalence, "close_with": e.rate_with,
        "close_without": e.rate_without, "effect": e.adjusted_diff, "effect_ci": list(e.adjusted_diff_ci),
        "lost_per_1000": round(e.cost_per_1000, 1), "sig": "*" if e.significant else "",
    } for e in top]
    parts.append(ctx.table(rows, [("pattern", "pattern"), ("calls", "calls with it"), ("prevalence", "share"),
                                  ("close_with", "close rate with"), ("close_without", "without"),
                                  ("effect", "adjusted effect"), ("effect_ci", "95% CI"),
                                  ("lost_per_1000", "sales lost / 1,000 calls"), ("sig", "")],
                           caption="Patterns ranked by the sales they cost"))
    centers = sorted({r["group"] for r in summary.prevalence})
    if centers:
        labels = {e.feature: e.label for e in top}
        grid: dict[str, dict[str, Any]] = {}
        for r in summary.prevalence:
            grid.setdefault(r["feature"], {"pattern": labels.get(r["feature"], r["feature"])})[r["group"]] = \
                r["prevalence"]
        parts.append(ctx.table(list(grid.values()), [("pattern", "pattern"), *((c, c) for c in centers)],
                               caption="Share of calls with each pattern, by center"))
    moments = [{"pattern": next((e.label for e in summary.effects if e.feature == k), k), "call": m["call_id"],
                "at": clock(m["start_s"]), "speaker": m["speaker"], "what was said": m["evidence"]}
               for k, ms in examples.items() for m in ms]
    if moments:
        parts.append(ctx.table(moments, caption="Example moments from lost sales (listen to these)"))
    return "\n".join(str(p) for p in parts)


register_section(LostSalesPatterns(), after="drivers")
