"""The report's view of conversations: ranked patterns, prevalence by center, example moments.

Pure: takes per-call arrays and stored events, returns plain data a report section turns
into tables and charts, so the same content can be rendered elsewhere (JSON, web page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from closeloop.conversations.detect import Feature
from closeloop.conversations.outcomes import PatternEffect, pattern_effects, prevalence_by_group


@dataclass(frozen=True)
class LostSalesSummary:
    """What in the calls predicts lost sales, ready to render."""

    n_calls: int
    close_rate: float
    effects: list[PatternEffect]
    prevalence: list[dict[str, Any]]
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def significant(self) -> list[PatternEffect]:
        """Patterns that lower (or raise) the close rate beyond noise, costliest first."""
        return [e for e in self.effects if e.significant]

    def headline(self) -> list[str]:
        """One line per costly significant pattern, for the terminal summary."""
        lines = []
        for e in self.significant[:3]:
            if e.adjusted_diff < 0:
                lines.append(f"{e.label}: {e.prevalence:.0%} of calls, close rate {e.adjusted_diff:+.1%} "
                             f"(adjusted), ~{e.cost_per_1000:.0f} sales lost per 1,000 calls")
        return lines or ["no conversation pattern lowers the close rate beyond noise"]


def lost_sales_summary(
    features: Mapping[str, np.ndarray], success: np.ndarray, catalog: Sequence[Feature],
    covariates: Mapping[str, Sequence[str | None]], centers: Sequence[str | None], top: int = 8,
    min_calls: int = 30,
) -> LostSalesSummary:
    """Ranked pattern effects on the close rate and, for the top ``top``, prevalence by center."""
    y = np.asarray(success, dtype=bool)
    effects = pattern_effects(features, y, catalog, covariates, min_calls=min_calls)
    shown = [e.feature for e in effects if not e.note][:top]
    by_name = {f.name: f for f in catalog}
    prevalence = prevalence_by_group({k: features[k] for k in shown}, centers, [by_name[k] for k in shown])
    return LostSalesSummary(len(y), float(y.mean()) if len(y) else float("nan"), effects, prevalence)


def pick_examples(
    events: Sequence[Mapping[str, Any]], lost_calls: set[str], kinds: Sequence[str], per_kind: int = 2,
) -> dict[str, list[dict[str, Any]]]:
    """Up to ``per_kind`` moments of each kind from lost calls, earliest call ids first (deterministic)."""
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    for e in sorted(events, key=lambda r: (str(r["call_id"]), float(r["start_s"] or 0))):
        kind = e["kind"]
        if (kind in out and len(out[kind]) < per_kind and e["call_id"] in lost_calls
                and not any(x["call_id"] == e["call_id"] for x in out[kind])):
            out[kind].append(dict(e))
    return out
