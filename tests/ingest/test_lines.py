"""Reject line numbers on a file big enough for DuckDB to read it on several threads.

A CSV row's line comes from its position in the stage table (numbering rows in the query
would make the read single-threaded), so this checks that the position survives a
parallel read, rows the reader skips, duplicate keys and a later upsert.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from closeloop.ingest import ingest_file
from closeloop.warehouse import Warehouse

ROWS = 600_000  # ~75 MB: several of the CSV reader's 32 MB buffers, so several threads
BAD_CSAT = {1_234, 150_001, 299_999, 433_333, 599_998}  # row indexes (0-based) with csat 9
MALFORMED_AFTER = 200_000  # a line with too few fields follows this row
DUPLICATE = (10, 520_000)  # row 520,000 repeats the call_id of row 10


def _write(path: Path) -> None:
    """The file: header, then one call per row, with planted bad rows; returns nothing."""
    bad = ", ".join(str(i) for i in BAD_CSAT)
    duckdb.sql(f"""
        COPY (
            SELECT CASE WHEN i = {DUPLICATE[1]} THEN 'C{DUPLICATE[0]}' ELSE 'C' || i END AS call_id,
                   'AUS' AS center_id, 'sales_inbound' AS queue, 'inbound' AS direction, 'sales' AS call_type,
                   '2026-07-01T09:00:00' AS offered_at, '2026-07-01T09:00:10' AS answered_at,
                   '2026-07-01T09:05:00' AS ended_at, 'A' || (i % 50) AS agent_id, '' AS lead_id, '0' AS hold_s,
                   '10' AS wrap_s, 'no_sale' AS outcome, '' AS order_value,
                   CASE WHEN i IN ({bad}) THEN '9' ELSE '4' END AS csat
            FROM range({ROWS}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',')""")
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(MALFORMED_AFTER + 2, "broken,line\n")  # after the header and MALFORMED_AFTER + 1 rows
    path.write_text("".join(lines))


def _line(row: int) -> int:
    """The physical line of a 0-based row index (header is line 1, one malformed line inserted)."""
    return row + 2 + (1 if row > MALFORMED_AFTER else 0)


@pytest.mark.slow
def test_reject_lines_survive_a_parallel_read(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    _write(path)
    text = path.read_text().splitlines()
    wh.con.execute("SET threads = 4")
    res = ingest_file(wh, "calls", path)
    assert res.rows_read == ROWS + 1
    assert res.rejected == len(BAD_CSAT) + 2  # + the malformed line + the earlier duplicate
    rejects = wh.con.execute("SELECT line, field, raw FROM rejects WHERE record = 'calls' ORDER BY line").fetchall()
    expected = sorted([_line(i) for i in BAD_CSAT] + [MALFORMED_AFTER + 3, _line(DUPLICATE[0])])
    assert [r[0] for r in rejects] == expected
    for line, _field, raw in rejects:  # raw text is rebuilt from the fields: the empty "" lose their quotes
        assert raw == text[line - 1].replace('""', ""), f"line {line}"
    dup = wh.con.execute("SELECT reason FROM rejects WHERE line = ?", [_line(DUPLICATE[0])]).fetchone()[0]
    assert dup == f"call_id: duplicate key in this file; line {_line(DUPLICATE[1])} kept"
    assert wh.count("calls") == ROWS - len(BAD_CSAT) - 1
    # Loading it again (now an upsert, not a first load) decides every row the same way.
    again = ingest_file(wh, "calls", path)
    assert (again.loaded, again.rejected, again.replaced) == (res.loaded, res.rejected, res.loaded)
    assert [r[0] for r in wh.con.execute("SELECT line FROM rejects WHERE record = 'calls' ORDER BY line").fetchall()] \
        == expected


def test_a_stage_left_by_a_crash_is_dropped_by_the_next_load(wh: Warehouse, tmp_path: Path) -> None:
    from .conftest import CALL_HEADER, call, write_csv

    wh.con.execute("CREATE TABLE __stage AS SELECT 1 AS leftover")
    res = ingest_file(wh, "calls", write_csv(tmp_path / "a.csv", [call(call_id="S1")], CALL_HEADER))
    assert res.loaded == 1
    tables = {r[0] for r in wh.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "__stage" not in tables


@pytest.mark.parametrize("max_case", [1000, 1])
def test_zones_by_case_or_join_agree(wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     max_case: int) -> None:
    """Past MAX_CASE_CENTERS the zone comes from a join, with rows numbered in the query instead."""
    from closeloop.ingest import load

    from .conftest import CALL_HEADER, call, write_csv

    monkeypatch.setattr(load, "MAX_CASE_CENTERS", max_case)
    rows = [call(call_id=f"Z{i}", center_id=c, csat="9" if i == 4 else "5")
            for i, c in enumerate(["AUS", "MNL", "BOG", " MNL ", "AUS", "XXX"])]
    ingest_file(wh, "calls", write_csv(tmp_path / "z.csv", rows, CALL_HEADER))
    got = wh.con.execute("SELECT call_id, strftime(offered_at, '%H:%M') FROM calls ORDER BY call_id").fetchall()
    # 09:00 local: Chicago (CDT, UTC-5) 14:00, Manila (UTC+8) 01:00, Bogota (UTC-5) 14:00, unknown -> UTC
    assert got == [("Z0", "14:00"), ("Z1", "01:00"), ("Z2", "14:00"), ("Z3", "01:00"), ("Z5", "09:00")]
    assert wh.con.execute("SELECT line FROM rejects WHERE record = 'calls'").fetchall() == [(6,)]
