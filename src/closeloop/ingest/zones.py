"""Reading offset-less local times fast where a zone's offset no longer changes.

Turning a local wall time into an instant with ICU (``timezone(zone, ts)``) costs DuckDB
about twice as much as parsing the timestamp itself, and ingest does it for every time
of every row. Many contact centers sit in zones with one fixed offset for decades
(Manila, Bogota, Kolkata, UTC, ...): there an instant is the wall time minus a constant.
Which zones qualify, and since when, is asked of ICU itself, so both paths read the same
time-zone database and agree to the microsecond (tests compare them). Zones that still
change (DST) get a table of their offsets over 2000-2040, asked of ICU the same way, for
all but the local times a change skips or repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from closeloop.ingest.rules import lit

# Local days sampled (at noon) to find a zone's last offset change. DST zones change every
# year up to the end, so they never qualify. Times before FIRST_DAY always go through ICU.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2100, 1, 1)
# A zone that changed after this is treated as having no fixed offset.
LATEST_SINCE = date(2090, 1, 1)


@dataclass(frozen=True)
class FixedOffset:
    """A zone's UTC offset (microseconds, east positive) from local time ``since`` onwards."""

    offset_us: int
    since: date


_CACHE: dict[str, FixedOffset | None] = {}


def fixed_offsets(con: duckdb.DuckDBPyConnection, zones: list[str]) -> dict[str, FixedOffset]:
    """The zones among ``zones`` whose offset is constant from some local day on (per ICU).

    Remembered per process (ICU's data does not change while it runs); a new zone costs
    about 30 ms.
    """
    todo = sorted(set(zones) - set(_CACHE))
    if todo:
        found = _ask_icu(con, todo)
        _CACHE.update({z: found.get(z) for z in todo})
    return {z: f for z in set(zones) if (f := _CACHE[z]) is not None}


def _ask_icu(con: duckdb.DuckDBPyConnection, zones: list[str]) -> dict[str, FixedOffset]:
    """A change at any hour of day D shows at noon of D or D+1, so the offset holds from two
    days after the last noon sample that differs."""
    values = ", ".join(f"({lit(z)})" for z in zones)
    rows = con.execute(f"""
        WITH noon AS (
            SELECT z.zone, d::TIMESTAMP + INTERVAL 12 HOUR AS local
            FROM (VALUES {values}) AS z(zone),
                 range(DATE '{FIRST_DAY}', DATE '{LAST_DAY}', INTERVAL 1 DAY) AS t(d)
        ), off AS (
            SELECT zone, local, epoch_us(local) - epoch_us(timezone(zone, local)) AS off_us FROM noon
        ), last AS (
            SELECT zone, arg_max(off_us, local) AS final_us FROM off GROUP BY zone
        )
        SELECT l.zone, l.final_us, max(o.local) FILTER (WHERE o.off_us <> l.final_us)
        FROM last AS l JOIN off AS o USING (zone) GROUP BY l.zone, l.final_us""").fetchall()
    out: dict[str, FixedOffset] = {}
    for zone, final_us, last_change in rows:
        since = FIRST_DAY if last_change is None else last_change.date() + timedelta(days=2)
        if since <= LATEST_SINCE:
            out[zone] = FixedOffset(int(final_us), since)
    return out


def zone_columns(con: duckdb.DuckDBPyConnection, zones: list[str], zone_sql: str = "__tz") -> str:
    """SELECT items ``__tz_offset`` and ``__tz_since`` for rows whose zone is ``zone_sql``.

    Both are NULL for zones without a fixed offset; :func:`closeloop.ingest.rules.typed`
    then reads the row's times through ICU.
    """
    fixed = fixed_offsets(con, zones)
    if not fixed:
        return "CAST(NULL AS BIGINT) AS __tz_offset, CAST(NULL AS TIMESTAMP) AS __tz_since"
    offsets = " ".join(f"WHEN {lit(z)} THEN {f.offset_us}" for z, f in sorted(fixed.items()))
    since = " ".join(f"WHEN {lit(z)} THEN TIMESTAMP '{f.since}'" for z, f in sorted(fixed.items()))
    return (f"CAST(CASE {zone_sql} {offsets} END AS BIGINT) AS __tz_offset, "
            f"CAST(CASE {zone_sql} {since} END AS TIMESTAMP) AS __tz_since")


# Zones whose offset still changes (DST) are read through a table of their offsets over this
# window of UTC instants; local times outside it, and those a change skips or repeats, go to ICU.
DST_WINDOW = (datetime(2000, 1, 1), datetime(2040, 1, 1))


@dataclass(frozen=True)
class OffsetSpan:
    """Local times from ``start`` (microseconds since the epoch, wall clock) up to the next
    span's start read with ``offset_us``, or through ICU when it is None (a DST gap or overlap)."""

    start: int
    offset_us: int | None


_SPANS: dict[str, list[OffsetSpan]] = {}


def offset_spans(con: duckdb.DuckDBPyConnection, zone: str) -> list[OffsetSpan]:
    """The zone's offset by local time over :data:`DST_WINDOW`, as spans (asked of ICU once per process).

    ICU gives the offset of hourly UTC instants; each hour whose offset differs from the
    next is searched minute by minute for the change. A change at instant T from offset o1
    to o2 ends local times T + o1 and starts T + o2: local times between the two are skipped
    (spring) or repeated (autumn) and are left to ICU, which decides them its own way.
    """
    if zone in _SPANS:
        return _SPANS[zone]
    lo, hi = DST_WINDOW
    rows = con.execute(f"""
        WITH hours AS (
            SELECT t, epoch_us(timezone({lit(zone)}, t::TIMESTAMPTZ)) - epoch_us(t) AS off
            FROM range(TIMESTAMP '{lo}', TIMESTAMP '{hi}', INTERVAL 1 HOUR) AS r(t)
        ), changed AS (
            SELECT t FROM (SELECT t, off, lead(off) OVER (ORDER BY t) AS nxt FROM hours) WHERE off <> nxt
        ), minutes AS (
            SELECT m, epoch_us(timezone({lit(zone)}, m::TIMESTAMPTZ)) - epoch_us(m) AS off
            FROM changed, range(t, t + INTERVAL 1 HOUR + INTERVAL 1 MINUTE, INTERVAL 1 MINUTE) AS r(m)
        )
        SELECT epoch_us(m), prev, off FROM (
            SELECT m, off, lag(off) OVER (ORDER BY m) AS prev FROM minutes) WHERE off <> prev
        ORDER BY m""").fetchall()
    first = con.execute(
        f"SELECT epoch_us(timezone({lit(zone)}, TIMESTAMPTZ '{lo}+00')) - epoch_us(TIMESTAMP '{lo}')").fetchone()[0]  # type: ignore[index]
    last = rows[-1][2] if rows else first
    window_end = int((hi - datetime(1970, 1, 1)).total_seconds()) * 10**6
    window_start = int((lo - datetime(1970, 1, 1)).total_seconds()) * 10**6
    spans = [OffsetSpan(window_start + int(first), int(first))]
    for instant, before, after in rows:
        a, b = instant + before, instant + after
        spans.append(OffsetSpan(min(a, b), None))
        spans.append(OffsetSpan(max(a, b), int(after)))
    spans.append(OffsetSpan(window_end + int(last), None))  # past the window: ICU
    _SPANS[zone] = spans
    return spans


def _nested(local_us: str, spans: list[OffsetSpan], lo: int, hi: int) -> str:
    """A balanced CASE choosing among spans[lo:hi] (each row makes ~log2(n) comparisons)."""
    if hi - lo == 1:
        off = spans[lo].offset_us
        return "CAST(NULL AS BIGINT)" if off is None else str(off)
    mid = (lo + hi) // 2
    return f"CASE WHEN {local_us} < {spans[mid].start} THEN {_nested(local_us, spans, lo, mid)} " \
           f"ELSE {_nested(local_us, spans, mid, hi)} END"


def local_offset_sql(con: duckdb.DuckDBPyConnection, zones: list[str], local: str, zone_sql: str = "__tz") -> str:
    """SQL giving the UTC offset (µs) of local time ``local`` in the row's zone, or NULL for ICU to decide.

    Why: ICU costs ~100 ns per value (it builds a calendar for each), ten times a balanced
    CASE over the zone's offset spans. Zones with a fixed offset are left to
    :func:`zone_columns`; local times before a zone's first span or in a gap or overlap
    give NULL. Tests compare the result with ICU's for any local time.
    """
    fixed = fixed_offsets(con, zones)
    dst = sorted(z for z in set(zones) if z not in fixed)
    if not dst:
        return "CAST(NULL AS BIGINT)"
    local_us = f"epoch_us({local})"
    branches = []
    for z in dst:
        spans = offset_spans(con, z)
        inner = _nested(local_us, spans, 0, len(spans))
        branches.append(f"WHEN {lit(z)} THEN CASE WHEN {local_us} >= {spans[0].start} THEN {inner} END")
    return f"CASE {zone_sql} {' '.join(branches)} END"
