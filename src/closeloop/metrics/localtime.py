"""Local wall-clock time of each call in its center's time zone, as fast portable arithmetic.

Converting every row with the SQL ``timezone()`` function goes through a calendar library
per row, which dominated scorecards on tens of millions of calls. A zone's UTC offset only
changes at a few known instants (DST transitions), so the offset is an expression::

    offset(zone, t) = base_offset + sum(delta_k * (t >= transition_k))

built here with :mod:`zoneinfo` for the zones and time range in the data, and local time
is ``epoch + offset`` in integer seconds. Days, ISO weeks (Monday start) and months are
then integer arithmetic too (months via the days-to-civil algorithm of H. Hinnant), so the
same expressions run on any Ibis backend.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis

EPOCH_DAY = date(1970, 1, 1)
_STEP = timedelta(days=1)
_QUARTER = 900  # every real offset and transition is a multiple of 15 minutes
_RULES_FROM = int(datetime(1900, 1, 1, tzinfo=UTC).timestamp())
_RULES_TO = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())


def offset_at(zone: ZoneInfo, epoch_s: int) -> int:
    """UTC offset of ``zone`` in seconds at ``epoch_s``."""
    off = datetime.fromtimestamp(epoch_s, UTC).astimezone(zone).utcoffset()
    return int(off.total_seconds()) if off else 0


def transitions(zone_name: str, start_s: int, end_s: int) -> tuple[int, list[tuple[int, int]]]:
    """``(offset at start, [(instant, change in offset), ...])`` for ``start_s..end_s``."""
    zone = ZoneInfo(zone_name)
    # Zone rules are only known for modern times: outside 1900-2100 the offset is held at the
    # edge's, so one absurd date (year 1 or 9999, loaded before the plausibility window) neither
    # overflows datetime nor walks millions of days.
    start_s, end_s = max(start_s, _RULES_FROM), min(max(end_s, _RULES_FROM), _RULES_TO)
    start_s = min(start_s, end_s)
    start_s -= start_s % _QUARTER  # keep every probe on an absolute quarter hour
    end_s += -end_s % _QUARTER
    base = offset_at(zone, start_s)
    out, prev, t = [], base, start_s
    day = int(_STEP.total_seconds())
    while t < end_s:
        nxt = min(t + day, end_s)
        cur = offset_at(zone, nxt)
        if cur != prev:
            lo, hi = t, nxt  # offset(lo) == prev, offset(hi) == cur: bisect to the quarter hour
            while hi - lo > _QUARTER:
                mid = lo + ((hi - lo) // 2 // _QUARTER) * _QUARTER or lo + _QUARTER
                if offset_at(zone, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            out.append((hi, cur - prev))
            prev = cur
        t = nxt
    return base, out


def offset_expr(zone_col: ibis.Expr, epoch: ibis.Expr, zones: Iterable[str], start_s: int, end_s: int,
                default: str) -> ibis.Expr:
    """Integer offset seconds of each row's ``zone_col`` at ``epoch`` (``default`` zone where null)."""

    def one(name: str) -> ibis.Expr:
        base, changes = transitions(name, start_s, end_s)
        expr = ibis.literal(base, type="int64")
        for instant, delta in changes:
            expr = expr + (epoch >= instant).cast("int64") * delta
        return expr

    names = sorted(set(zones) - {default})
    if not names:
        return one(default)
    return ibis.cases(*((zone_col == n, one(n)) for n in names), else_=one(default))


def civil_month(days: ibis.Expr) -> ibis.Expr:
    """Month key ``year * 12 + month - 1`` of a day number (days since 1970-01-01)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = ibis.ifelse(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2).cast("int64")
    return year * 12 + month - 1


def period_start(key: int, grain: str) -> date:
    """The first day of a period from its integer key (day number or month key)."""
    if grain == "month":
        return date(key // 12, key % 12 + 1, 1)
    return EPOCH_DAY + timedelta(days=int(key))


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH_DAY).days
