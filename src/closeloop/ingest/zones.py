"""Reading offset-less local times fast where a zone's offset no longer changes.

Turning a local wall time into an instant with ICU (``timezone(zone, ts)``) costs DuckDB
about twice as much as parsing the timestamp itself, and ingest does it for every time
of every row. Many contact centers sit in zones with one fixed offset for decades
(Manila, Bogota, Kolkata, UTC, ...): there an instant is the wall time minus a constant.
Which zones qualify, and since when, is asked of ICU itself, so both paths read the same
time-zone database and agree to the microsecond (tests compare them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

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
