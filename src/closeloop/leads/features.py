"""Attribute features and the columns a model must not see.

Typed attributes (:mod:`closeloop.leads.attributes`) become model features beside the canonical
ones (:func:`closeloop.leads.train.lead_features`):

* ``number`` as is, ``boolean`` as 0/1, ``category`` as a native categorical;
* ``time`` as hours from the value to the lead's creation (positive: before it), so a date
  means the same whatever day the model is used;
* ``text`` is kept in the warehouse but not used (free text would need its own model);
* ``after_call`` attributes are never used: they are written once the outcome is known.

:func:`drop_uninformative` then drops, with a note, any column that is empty for every lead
or constant in the training data (a boosted model cannot split on it, and an all-empty
categorical used to crash the encoder).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.leads.attributes import AttributeType, KnownAt, TypedAttributes


@dataclass(frozen=True)
class Note:
    """Why a column is not a feature (or was changed): shown in the CLI and the model card."""

    feature: str
    action: str  # "excluded" | "dropped"
    reason: str

    def row(self) -> dict[str, str]:
        """A table row."""
        return {"feature": self.feature, "action": self.action, "reason": self.reason}


def attribute_features(attrs: TypedAttributes, lead_ids: list[str], created: list[datetime]
                       ) -> tuple[dict[str, Any], list[str], list[Note]]:
    """Feature columns of the attributes for the given leads (in their order), the categoricals, notes.

    A lead without attribute values (none in the file, or a merged lead whose first record had
    none) gets missing values, which the model handles natively.
    """
    index = pc.index_in(pa.array(lead_ids, pa.string()), value_set=attrs.values.column("lead_id"))
    rows = index.to_numpy(zero_copy_only=False)
    present = ~np.isnan(rows.astype(float))
    take = np.where(present, rows, 0).astype(np.int64)
    created_s = np.array([c.timestamp() for c in created], dtype=float)
    cols: dict[str, Any] = {}
    categorical: list[str] = []
    notes: list[Note] = []
    for a in attrs.attributes:
        if a.known_at is KnownAt.AFTER_CALL:
            notes.append(Note(a.name, "excluded", "known only after the call (known_at = after_call)"))
            continue
        if a.filled == 0:
            notes.append(Note(a.name, "dropped", "empty for every lead"))
            continue
        if a.type is AttributeType.TEXT:
            notes.append(Note(a.name, "excluded", "free text: kept in the warehouse, not a model feature"))
            continue
        values = attrs.values.column(a.name).combine_chunks().take(pa.array(take))
        values = pc.if_else(pa.array(present), values, pa.scalar(None, values.type))
        if a.type is AttributeType.CATEGORY:
            cols[a.name] = np.asarray(values.to_pylist(), dtype=object)
            categorical.append(a.name)
        elif a.type is AttributeType.TIME:
            seconds = pc.divide(pc.cast(pc.cast(values, pa.timestamp("us", "UTC")), pa.int64()), 1e6)
            cols[a.name] = (created_s - _floats(seconds)) / 3600.0
        else:
            cols[a.name] = _floats(pc.cast(values, pa.float64()))
    return cols, categorical, notes


def _floats(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def drop_uninformative(columns: dict[str, Any], categorical: list[str]) -> tuple[list[str], list[Note]]:
    """Names of columns with at least two distinct values (missing counts as one), and notes for the rest."""
    keep, notes = [], []
    for name, values in columns.items():
        if name in categorical:
            arr = np.asarray(values, dtype=object)
            filled = arr[arr != None]  # noqa: E711 - elementwise test for None
            distinct = len(set(map(str, filled))) + (len(filled) < len(arr))
            empty = len(filled) == 0
        else:
            arr = np.asarray(values, dtype=float)
            filled = arr[~np.isnan(arr)]
            distinct = len(np.unique(filled)) + (len(filled) < len(arr))
            empty = len(filled) == 0
        if empty:
            notes.append(Note(name, "dropped", "empty for every lead"))
        elif distinct < 2:
            notes.append(Note(name, "dropped", "the same value for every lead"))
        else:
            keep.append(name)
    return keep, notes
