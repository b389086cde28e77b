"""Activity features: what a lead did before the call being ranked (``lead_events`` records).

For each merged lead and a cut-off time — its first call for leads in the training history,
the scoring time for leads still to be called — only events strictly **before** the cut-off
count, so no feature can see the call or what followed it:

* ``events_n`` and ``events_last_h`` — all events, and hours from the latest to the cut-off;
* per kind (the :data:`MAX_KINDS` most frequent): ``<kind>_n``, ``<kind>_last_h`` and, when the
  kind carries values, ``<kind>_value`` (their sum: seconds on pages, pages viewed).

A lead without events gets counts of 0 and a missing recency (never active), which the model
reads natively. Events reach a merged lead through its lineage (any source record's lead_id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_KINDS = 10


def event_kinds(events: pa.Table) -> dict[str, bool]:
    """The :data:`MAX_KINDS` most frequent kinds, each with whether it carries values (decided once,
    so the history and the live leads get the same columns)."""
    kinds = np.asarray(pc.fill_null(events.column("kind"), "").to_pylist(), dtype=str)
    has_value = np.asarray(pc.is_valid(events.column("value")).to_pylist(), dtype=bool)
    names, counts = np.unique(kinds, return_counts=True) if len(kinds) else (np.array([]), np.array([]))
    top = names[np.argsort(-counts, kind="stable")][:MAX_KINDS]
    return {str(k): bool(has_value[kinds == k].any()) for k in top}


def activity_features(events: pa.Table, lineage: list[str], cutoffs: list[datetime],
                      kinds: dict[str, bool] | None = None) -> dict[str, Any]:
    """Feature columns (float arrays, one value per merged lead) from events before each lead's cut-off.

    ``lineage``: per merged lead, its source lead ids joined by commas (``leads_merged.lead_ids``);
    ``kinds``: from :func:`event_kinds` (default: of ``events``).
    """
    kinds = event_kinds(events) if kinds is None else kinds
    n = len(lineage)
    owner: dict[str, int] = {}
    for i, ids in enumerate(lineage):
        for lead_id in str(ids).split(","):
            owner[lead_id] = i
    who = np.array([owner.get(x, -1) for x in events.column("lead_id").to_pylist()], dtype=np.int64)
    at = _seconds(events.column("at"))
    cut = np.array([c.timestamp() for c in cutoffs], dtype=float)
    keep = (who >= 0) & ~np.isnan(at)
    keep[keep] &= at[keep] < cut[who[keep]]
    kind = np.asarray(pc.fill_null(events.column("kind"), "").to_pylist(), dtype=str)
    values = np.asarray(pc.cast(events.column("value"), pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    who, at, kind, values = who[keep], at[keep], kind[keep], values[keep]
    out = _counts("events", who, at, cut, n)
    for name, has_value in kinds.items():
        mask = kind == name
        label = _label(name)
        out.update(_counts(label, who[mask], at[mask], cut, n))
        if has_value:
            out[f"{label}_value"] = np.bincount(who[mask], weights=np.nan_to_num(values[mask]), minlength=n)
    return out


def _counts(label: str, who: np.ndarray, at: np.ndarray, cut: np.ndarray, n: int) -> dict[str, np.ndarray]:
    last = np.full(n, -np.inf)
    np.maximum.at(last, who, at)
    recency = np.where(np.isfinite(last), (cut - last) / 3600.0, np.nan)
    return {f"{label}_n": np.bincount(who, minlength=n).astype(float), f"{label}_last_h": recency}


def _seconds(column: pa.ChunkedArray) -> np.ndarray:
    micros = pc.cast(pc.cast(column, pa.timestamp("us", "UTC")), pa.int64())
    return np.asarray(pc.divide(pc.cast(micros, pa.float64()), 1e6).to_numpy(zero_copy_only=False), dtype=float)


def _label(kind: str) -> str:
    """A kind as a feature name: ``E-mail opened`` -> ``e_mail_opened``."""
    text = "".join(c if c.isalnum() else "_" for c in kind.strip().lower()).strip("_")
    return text or "unknown"
