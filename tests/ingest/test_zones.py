"""Offset-less local times read through a zone's fixed offset equal ICU's reading, always."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.ingest.rules import typed
from closeloop.ingest.zones import fixed_offsets, local_offset_sql, offset_spans, zone_columns
from closeloop.model import CALLS

ZONES = ["UTC", "Asia/Manila", "America/Bogota", "Asia/Kolkata", "America/Mexico_City", "America/Chicago",
         "Europe/London", "Australia/Sydney", "Africa/Casablanca", "Asia/Kathmandu", "America/Sao_Paulo",
         "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "Asia/Tehran", "Europe/Berlin"]
DST_ZONES = ["America/Chicago", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago",
             "Africa/Casablanca"]
OFFERED = next(f for f in CALLS.fields if f.name == "offered_at")


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    return c


def _read_both(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str]]) -> list[tuple[object, object]]:
    """(closeloop's reading, ICU's reading) of each (zone, local time text)."""
    con.execute("CREATE OR REPLACE TEMP TABLE t (__tz VARCHAR, __r_offered_at VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    return con.execute(f"""
        SELECT {typed(OFFERED)}, timezone(__tz, try_cast(__r_offered_at AS TIMESTAMP))
        FROM (SELECT *, {local_offset_sql(con, ZONES, "__l_offered_at")} AS __o_offered_at FROM (
              SELECT *, {zone_columns(con, ZONES)}, try_cast(__r_offered_at AS TIMESTAMP) AS __l_offered_at
              FROM t))""").fetchall()


def test_fixed_zones_are_found_with_the_day_they_settled(con: duckdb.DuckDBPyConnection) -> None:
    fixed = fixed_offsets(con, ZONES)
    assert fixed["UTC"].offset_us == 0
    assert fixed["Asia/Manila"].offset_us == 8 * 3600 * 10**6
    assert fixed["Asia/Kathmandu"].offset_us == (5 * 60 + 45) * 60 * 10**6
    assert fixed["America/Mexico_City"].since.year == 2022  # DST abolished in October 2022
    for dst_zone in ("America/Chicago", "Europe/London", "Australia/Sydney"):
        assert dst_zone not in fixed


def test_edges_of_a_settled_zone_match_icu(con: duckdb.DuckDBPyConnection) -> None:
    since = fixed_offsets(con, ["America/Mexico_City"])["America/Mexico_City"].since
    rows = [("America/Mexico_City", f"{since.isoformat()}T{h:02d}:30:00") for h in range(24)]
    rows += [("America/Mexico_City", f"2022-10-{d:02d}T01:30:00") for d in range(25, 32)]  # last DST change
    rows += [("Asia/Manila", "1978-03-22T00:30:00"), ("UTC", "1969-12-31T23:59:59.999999")]
    for ours, icu in _read_both(con, rows):
        assert ours == icu


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ZONES),
                          st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2099, 12, 31))),
                min_size=1, max_size=300))
def test_any_local_time_in_any_zone_reads_as_icu_does(con: duckdb.DuckDBPyConnection,
                                                      rows: list[tuple[str, datetime]]) -> None:
    text = [(z, d.isoformat()) for z, d in rows]
    for (zone, local), (ours, icu) in zip(text, _read_both(con, text), strict=True):
        assert ours == icu, (zone, local)


def test_every_dst_change_in_the_window_reads_as_icu_does(con: duckdb.DuckDBPyConnection) -> None:
    """Local times every 10 minutes from 2 h before to 2 h after each change: gaps, overlaps, edges."""
    rows = []
    for zone in DST_ZONES:
        for span in offset_spans(con, zone):
            start = datetime(1970, 1, 1) + timedelta(microseconds=span.start)
            rows += [(zone, (start + timedelta(minutes=k)).isoformat()) for k in range(-120, 121, 10)]
            rows += [(zone, (start - timedelta(microseconds=1)).isoformat())]
    for (zone, local), (ours, icu) in zip(rows, _read_both(con, rows), strict=True):
        assert ours == icu, (zone, local)


def test_dst_zones_are_read_from_their_table_not_icu(con: duckdb.DuckDBPyConnection) -> None:
    """An ordinary local time in a DST zone gets its offset from the table (the fast path runs)."""
    sql = local_offset_sql(con, ["America/Chicago"], "TIMESTAMP '2026-07-01 09:00:00'", "'America/Chicago'")
    assert con.execute(f"SELECT {sql}").fetchone()[0] == -5 * 3600 * 10**6
    gap = local_offset_sql(con, ["America/Chicago"], "TIMESTAMP '2026-03-08 02:30:00'", "'America/Chicago'")
    assert con.execute(f"SELECT {gap}").fetchone()[0] is None  # skipped hour: ICU decides
