"""What a scorecard looks at: filters, date range, grouping keys — validated against the frame.

Filters are small text expressions a command line can carry, parsed here once:
``vendor=acme``, ``queue=sales|upsell`` (any of), ``direction!=outbound``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from closeloop.errors import EmptySelectionError, InputError
from closeloop.metrics.localtime import day_number

_FILTER = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Filter:
    """``column = any of values`` (or ``!=``: none of them)."""

    column: str
    values: tuple[str, ...]
    negate: bool = False

    def __str__(self) -> str:
        return f"{self.column}{'!=' if self.negate else '='}{'|'.join(self.values)}"


def parse_filter(text: str) -> Filter:
    """Parse ``col=v``, ``col=v1|v2`` or ``col!=v``; InputError showing the forms otherwise."""
    m = _FILTER.match(text)
    if not m or not m.group(3):
        raise InputError(f"cannot read filter {text!r}: use COLUMN=VALUE, COLUMN=V1|V2 or COLUMN!=VALUE")
    values = tuple(v.strip() for v in m.group(3).split("|") if v.strip())
    return Filter(m.group(1), values, negate=m.group(2) == "!=")


@dataclass(frozen=True)
class Selection:
    """Which calls (date range in local time, filters) and how to group them."""

    by: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    start: date | None = None
    end: date | None = None

    def describe(self) -> str:
        """One line for messages: what was selected."""
        parts = [str(f) for f in self.filters]
        if self.start:
            parts.append(f"from {self.start}")
        if self.end:
            parts.append(f"to {self.end}")
        return ", ".join(parts) or "all calls"


def check_columns(valid: Sequence[str], names: Sequence[str], what: str) -> None:
    """InputError listing the ``valid`` dimensions if any of ``names`` is not one."""
    bad = [n for n in names if n not in valid]
    if bad:
        raise InputError(f"unknown {what} {', '.join(map(repr, bad))}; valid: {', '.join(valid)}")


def needed_columns(sel: Selection, *more: Iterable[str]) -> set[str]:
    """Columns a selection (and any further column lists) uses: tells enrich which joins to make."""
    cols = {f.column for f in sel.filters} | set(sel.by)
    for m in more:
        cols |= set(m)
    return cols


def apply_selection(frame: Any, sel: Selection, valid: Sequence[str]) -> Any:
    """Filter ``frame`` by the selection's dates (inclusive, local time) and filters.

    ``valid`` lists the dimensions (see :func:`closeloop.metrics.frame.dimensions`).
    """
    check_columns(valid, [f.column for f in sel.filters], "filter column")
    check_columns(valid, sel.by, "dimension")
    if sel.start and sel.end and sel.end < sel.start:
        raise InputError(f"--to {sel.end} is before --from {sel.start}")
    conds = [filter_condition(frame, f) for f in sel.filters]
    if sel.start:
        conds.append(frame.local_day >= day_number(sel.start))
    if sel.end:
        conds.append(frame.local_day <= day_number(sel.end))
    return frame.filter(*conds) if conds else frame


def filter_condition(frame: Any, f: Filter) -> Any:
    """The Ibis condition of one filter (``!=`` keeps rows where the column is missing)."""
    col = frame[f.column].cast("string")
    cond = col.isin(list(f.values))
    return ~cond | col.isnull() if f.negate else cond


def require_rows(n_calls: int, sel: Selection) -> None:
    """EmptySelectionError saying what matched nothing, instead of an empty table."""
    if n_calls == 0:
        raise EmptySelectionError(f"no calls match the selection ({sel.describe()}); nothing to report")
