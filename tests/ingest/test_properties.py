"""Property tests: random and malformed rows never crash ingestion, and nothing is lost."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeloop.ingest import ingest_file
from closeloop.warehouse import Warehouse

from .conftest import CALL_HEADER, EXAMPLES, GOOD_CALL

# Values that are valid for some field, invalid for others, or hostile to CSV.
NASTY = st.one_of(
    st.sampled_from(["", " ", "NULL", "nan", "-1", "1e309", "0", "5", "9", "sale", "abandoned", "inbound",
                     "2026-07-01T09:00:00", "2026-07-01T09:00:00+08:00", "2026-02-30", "A001", "AUS", "🙂", "a,b",
                     '"quoted"', "x\ny", "\\", "DROP TABLE calls;--"]),
    st.text(max_size=12),
)


@st.composite
def call_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    """Mostly-valid calls with a few fields replaced by nasty values."""
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        row = {**GOOD_CALL, "call_id": f"P{draw(st.integers(0, 8))}" if draw(st.booleans()) else f"U{i}"}
        for field in draw(st.lists(st.sampled_from(CALL_HEADER), max_size=4)):
            row[field] = draw(NASTY)
        rows.append(row)
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=call_rows(), delimiter=st.sampled_from([",", ";", "\t"]))
def test_loaded_plus_rejected_equals_rows_read(rows: list[dict[str, str]], delimiter: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calls.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CALL_HEADER, delimiter=delimiter)
            writer.writeheader()
            writer.writerows(rows)
        with Warehouse(Path(tmp) / "w.duckdb") as wh:
            ingest_file(wh, "centers", EXAMPLES / "centers.csv")
            res = ingest_file(wh, "calls", path)
            assert res.rows_read == len(rows)
            assert res.loaded + res.rejected == res.rows_read
            assert wh.count("calls") == res.loaded
            assert wh.con.execute("SELECT count(*) FROM rejects WHERE record = 'calls'").fetchone()[0] == res.rejected
            assert wh.con.execute("SELECT count(*) - count(DISTINCT call_id) FROM calls").fetchone()[0] == 0


@settings(max_examples=40, deadline=None)
@given(lines=st.lists(st.one_of(st.text(max_size=40), st.sampled_from(["a,b,c", ",,,,", '"unterminated', "\x00"])),
                      max_size=8))
def test_arbitrary_text_lines_never_crash(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calls.csv"
        body = "\n".join(line.replace("\r", "") for line in lines)
        path.write_text(",".join(CALL_HEADER) + "\n" + body + "\n", encoding="utf-8", errors="surrogatepass")
        with Warehouse(Path(tmp) / "w.duckdb") as wh:
            res = ingest_file(wh, "calls", path)
            assert res.loaded + res.rejected == res.rows_read
            assert wh.count("calls") == res.loaded
