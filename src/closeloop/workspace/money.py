"""Money use-cases of the :class:`~closeloop.workspace.Workspace`: the outsourcing estimate.

``explain_outsource`` returns one row per candidate receiving party (declared columns
below), ranked by net gain, with today's segment, the assumptions and notes as extras. The
arithmetic is :func:`closeloop.metrics.outsource.estimate_outsource`; costs come from the
contract file's prices (docs/sla.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop.results import Result, schema_of
from closeloop.workspace.analysis import Where, flatten, names, selection

if TYPE_CHECKING:
    from closeloop.workspace.core import Progress

OUTSOURCE = schema_of("outsource", [
    ("party", "str", "candidate receiving party (a value of by)"),
    ("contract", "str", "its contract, when one covers it"),
    ("history", "int", "its handled sales calls"),
    ("comparable", "int", "of which of a kind (covariate combination) the segment has"),
    ("coverage", "float", "share of the segment's calls of kinds it handled at least 10 times"),
    ("flag", "str", "why to read the estimate with care (too little comparable history...), else null"),
    ("close_rate", "float", "close rate it would reach on the segment's mix (mix-adjusted)"),
    ("close_rate_low", "float", "lower end (delta method)"), ("close_rate_high", "float", "upper end"),
    ("sales_delta", "float", "sales gained (+) or lost (-) on the segment"),
    ("sales_delta_low", "float", "lower end (MOVER)"), ("sales_delta_high", "float", "upper end"),
    ("revenue_delta", "float", "revenue gained or lost, at today's average order value"),
    ("revenue_delta_low", "float", "lower end"), ("revenue_delta_high", "float", "upper end"),
    ("cost_after", "float", "the segment's cost under its contract (variable prices)"),
    ("cost_after_low", "float", "at the sales interval's ends"), ("cost_after_high", "float", "upper end"),
    ("cost_per_sale_after", "float", "cost_after / its predicted sales"),
    ("cost_per_sale_after_low", "float", "lower end"), ("cost_per_sale_after_high", "float", "upper end"),
    ("net_gain", "float", "(revenue - cost) after minus today's"),
    ("net_gain_low", "float", "lower end"), ("net_gain_high", "float", "upper end"),
    ("service_level_target", "float", "its service-level term (0.8 without one)"),
    ("agents_alone", "int", "agents the segment's busiest hour needs (Erlang C)"),
    ("agents_alone_low", "int", "at the lower end of the hour's Poisson rate interval"),
    ("agents_alone_high", "int", "at its upper end"),
    ("agents_extra", "int", "agents it needs on top of its own traffic in that hour"),
])


class Money:
    """The outsourcing estimate (mixed into Workspace)."""

    def explain_outsource(self, segment: str, to: str | Sequence[str], by: str = "vendor",
                          adjust_for: str | Sequence[str] = ("source", "product"), min_history: int = 200,
                          where: Where = None, period: str | None = None, start: str | date | None = None,
                          end: str | date | None = None, contracts: str | Path | None = None, conf: float = 0.95,
                          progress: Progress | None = None) -> Result:
        """What moving the calls matching ``segment`` (a SQL condition) to each party in ``to`` would change.

        Rows: one per candidate, best net gain first (docs/metrics.md, "Outsourcing
        estimate"). Extras: ``today`` (the segment as handled today), ``assumptions``,
        ``notes``, ``segment``. Costs need prices in the contract file; without one, the
        estimate is made without costs.
        """
        from closeloop.metrics.outsource import estimate_outsource
        from closeloop.workspace.core import QUIET

        has_file = contracts is not None or (self.root / "contracts.toml").is_file()
        terms = self.contracts(contracts) if has_file else []
        conv = self.conventions(conf=conf)
        with self.fact_tables(conv, progress or QUIET) as tables:
            est = estimate_outsource(tables, conv, terms, segment, names(to), by, names(adjust_for),
                                     selection(None, where, start, end, period), min_history)
        rows = [flatten(c.row()) for c in est.candidates]
        return Result.from_rows(OUTSOURCE, rows, title="candidates, best net gain first", segment=est.segment,
                                today=_today(est.today), assumptions=est.assumptions, notes=est.notes, by=by)


def _today(today: Any) -> dict[str, Any]:
    out = asdict(today)
    out["close_rate_ci"] = list(today.close_rate_ci) if today.close_rate_ci else None
    return out
