"""Leakage guard: columns that give the outcome away are excluded, with a warning naming them.

A lead export often carries fields written *after* the sale (a status, a tag, a call's
duration). A model trained on them looks superb on paper and is useless before the call.
Four tests (1–3 on the training leads; 4 on every called lead, since it looks at times, not outcomes):

1. **Name** — the column's name says it is a call result (``duration``, ``status``,
   ``outcome``, ``converted``, ``disposition``, ...) and the settings do not declare it
   ``known_at = "creation"`` or ``"event"``. The UCI bank-marketing ``duration`` is one: it is
   known only once the call has ended.
2. **Near-perfect single-feature AUC** — the column alone ranks buyers above non-buyers with
   AUC ≥ :data:`MAX_SINGLE_AUC` (either direction). Categoricals are scored by out-of-fold
   target encoding, so an id-like column does not look perfect merely by memorising rows.
3. **Only on converted leads** — the column is filled almost only where the lead bought
   (≥ :data:`ONLY_ON_CONVERTED` of the filled rows are sales, and it is filled on at least a
   fifth of the sales): a value written by the sale itself.
4. **Times after the call** (:func:`times_after_the_call`) — a time attribute later than the
   lead's first call on ≥ :data:`AFTER_CALL_SHARE` of the called leads that have one: a "last
   activity" or "closed at" that the CRM updated after the call (the export was taken later).

Tests 2 and 3 look at a random sample of at most :data:`SAMPLE` leads.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from closeloop.leads.features import Note

MAX_SINGLE_AUC = 0.98
AFTER_CALL_SHARE = 0.05
SAMPLE = 200_000  # a leak is blatant: a random sample of this many leads shows it (and costs 5x less at 1M)
ONLY_ON_CONVERTED = 0.98
# Words that name a call's result wherever they appear in a column name, and names that do when alone
# ("status" is a lead's status, "marital_status" is not).
POST_CALL_WORDS = re.compile(r"(^|[_ .-])(duration|talk_?time|disposition|converted|revenue|order_?value|"
                             r"sale_?value|deal_?stage)([_ .-]|$)", re.IGNORECASE)
POST_CALL_NAMES = frozenset({"status", "lead_status", "outcome", "call_outcome", "result", "won", "is_won", "sold"})


def post_call_name(name: str) -> bool:
    """Whether a column's name says it is written on or after the call."""
    return name.lower() in POST_CALL_NAMES or POST_CALL_WORDS.search(name) is not None


def find_leaks(columns: dict[str, Any], categorical: list[str], y: np.ndarray,
               declared_safe: frozenset[str] = frozenset(), rng: np.random.Generator | None = None) -> list[Note]:
    """Notes for the columns to exclude, each naming the test it failed and the figure."""
    y = np.asarray(y, dtype=int)
    if y.min(initial=1) == y.max(initial=0):  # one class only: nothing to measure against
        return []
    rng = rng or np.random.default_rng(0)
    rows = np.sort(rng.choice(len(y), SAMPLE, replace=False)) if len(y) > SAMPLE else None
    if rows is not None:
        y = y[rows]
    notes = []
    for name, values in columns.items():
        if rows is not None:
            values = np.asarray(values, dtype=object if name in categorical else float)[rows]
        if name not in declared_safe and post_call_name(name):
            notes.append(Note(name, "excluded", "leak: its name says it is written on or after the call "
                                                "(declare known_at = \"creation\" in the settings if it is not)"))
            continue
        filled = _filled(values, name in categorical)
        if filled.sum() >= 10 and y[filled].mean() >= ONLY_ON_CONVERTED and filled[y == 1].mean() >= 0.2:
            share = f"{y[filled].mean():.1%} of the {int(filled.sum())} filled are sales"
            notes.append(Note(name, "excluded", f"leak: filled only on converted leads ({share})"))
            continue
        score = _target_encoded(values, y, rng) if name in categorical else _numeric(values)
        value = roc_auc_score(y, score)
        single = max(value, 1 - value)
        if single >= MAX_SINGLE_AUC:
            notes.append(Note(name, "excluded", f"leak: alone it ranks sales with AUC {single:.3f} "
                                                f"(≥ {MAX_SINGLE_AUC}); no honest pre-call field does"))
    return notes


def _filled(values: Any, is_categorical: bool) -> np.ndarray:
    if is_categorical:
        array: np.ndarray = np.asarray(values, dtype=object) != None  # noqa: E711 - elementwise test for None
        return array
    numbers: np.ndarray = ~np.isnan(np.asarray(values, dtype=float))
    return numbers


def _numeric(values: Any) -> np.ndarray:
    """Values with missing as its own lowest rank."""
    arr = np.asarray(values, dtype=float)
    low = np.nanmin(arr) - 1 if (~np.isnan(arr)).any() else 0.0
    return np.where(np.isnan(arr), low, arr)


def _target_encoded(values: Any, y: np.ndarray, rng: np.random.Generator, folds: int = 2) -> np.ndarray:
    """Each row scored by its category's sale rate in the other fold (unseen there: that fold's overall rate)."""
    arr = np.asarray(values, dtype=object)
    keys = np.where(arr == None, "\x00missing", arr).astype(str)  # noqa: E711 - elementwise test for None
    codes = np.unique(keys, return_inverse=True)[1]
    k = int(codes.max()) + 1 if len(codes) else 0
    fold = rng.integers(0, folds, len(keys))
    out = np.empty(len(keys))
    for f in range(folds):
        train, test = fold != f, fold == f
        base = y[train].mean() if train.any() else y.mean()
        count = np.bincount(codes[train], minlength=k)
        sales = np.bincount(codes[train], weights=y[train], minlength=k)
        rate = np.where(count > 0, sales / np.maximum(count, 1), base)
        out[test] = rate[codes[test]]
    return out


def times_after_the_call(hours_before_creation: dict[str, np.ndarray], created_s: np.ndarray,
                         first_call_s: np.ndarray) -> list[Note]:
    """Notes for time attributes (as hours before creation) that often fall after the lead's first call."""
    called = ~np.isnan(first_call_s)
    notes = []
    for name, hours in hours_before_creation.items():
        value_s = created_s - np.asarray(hours, dtype=float) * 3600.0
        has = called & ~np.isnan(value_s)
        if has.sum() < 10:
            continue
        share = float((value_s[has] > first_call_s[has]).mean())
        if share >= AFTER_CALL_SHARE:
            notes.append(Note(name, "excluded", f"leak: {share:.0%} of its times are after the lead's first call "
                                                "(updated after the call)"))
    return notes
