"""The loading path: formats, counts that add up, idempotency, transactions, unreadable files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from closeloop.errors import InputError, SchemaError
from closeloop.ingest import ingest_arrow, ingest_file
from closeloop.model import CALLS
from closeloop.warehouse import Warehouse

from .conftest import CALL_HEADER, EXAMPLES, call, write_csv


def counts(wh: Warehouse) -> tuple[int, int, int]:
    return wh.count("calls"), wh.count("rejects"), wh.count("ingests")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_any_delimiter(wh: Warehouse, tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "c.csv", [call(call_id="A"), call(call_id="B")], CALL_HEADER, delimiter)
    assert ingest_file(wh, "calls", path).loaded == 2


def test_gzip_and_parquet(wh: Warehouse, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "c.csv", [call(call_id="G1"), call(call_id="G2", csat="9")], CALL_HEADER)
    gz = tmp_path / "c.csv.gz"
    with src.open("rb") as fh, gzip.open(gz, "wb") as out:
        shutil.copyfileobj(fh, out)
    res = ingest_file(wh, "calls", gz)
    assert (res.loaded, res.rejected) == (1, 1)
    table = duckdb.sql(f"SELECT * FROM read_csv('{src}', all_varchar=true)").to_arrow_table()
    pq.write_table(table, tmp_path / "c.parquet")
    res = ingest_file(wh, "calls", tmp_path / "c.parquet")
    assert (res.rows_read, res.loaded, res.rejected) == (2, 1, 1)
    assert wh.con.execute("SELECT line FROM rejects WHERE source LIKE '%parquet'").fetchone()[0] == 2


def test_header_names_are_normalised_and_extras_kept(wh: Warehouse, tmp_path: Path) -> None:
    row = {("Call ID" if k == "call_id" else k.upper()): v for k, v in call(call_id="N1").items()}
    row["Campaign Name"] = "spring"
    res = ingest_file(wh, "calls", write_csv(tmp_path / "c.csv", [row]))
    assert res.loaded == 1
    assert wh.con.execute("SELECT call_id, campaign_name FROM calls").fetchone() == ("N1", "spring")


def test_missing_optional_columns_read_as_empty(wh: Warehouse, tmp_path: Path) -> None:
    header = [c for c in CALL_HEADER if c not in ("csat", "order_value", "lead_id", "hold_s", "wrap_s")]
    res = ingest_file(wh, "calls", write_csv(tmp_path / "c.csv", [call()], header))
    assert res.loaded == 1
    assert wh.con.execute("SELECT csat, hold_s FROM calls").fetchone() == (None, None)


def test_reingest_updates_by_key_never_duplicates(wh: Warehouse, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", [call(call_id="K1"), call(call_id="K2")], CALL_HEADER)
    ingest_file(wh, "calls", first)
    ingest_file(wh, "calls", first)
    assert wh.count("calls") == 2
    overlap = write_csv(tmp_path / "b.csv", [call(call_id="K2", outcome="no_sale", order_value=""),
                                             call(call_id="K3")], CALL_HEADER)
    res = ingest_file(wh, "calls", overlap)
    assert (res.loaded, res.replaced) == (2, 1)
    assert wh.count("calls") == 3
    assert wh.con.execute("SELECT outcome FROM calls WHERE call_id = 'K2'").fetchone()[0] == "no_sale"


def test_reingest_replaces_the_files_earlier_rejects(wh: Warehouse, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [call(call_id="R1", csat="9")], CALL_HEADER)
    ingest_file(wh, "calls", path)
    ingest_file(wh, "calls", path)
    assert wh.count("rejects") == 1
    write_csv(path, [call(call_id="R1", csat="4")], CALL_HEADER)  # the user fixed the row
    ingest_file(wh, "calls", path)
    assert (wh.count("rejects"), wh.count("calls")) == (0, 1)


def test_duplicate_key_in_file_last_wins_earlier_rejected(wh: Warehouse, tmp_path: Path) -> None:
    rows = [call(call_id="D", outcome="no_sale", order_value=""), call(call_id="E"), call(call_id="D")]
    res = ingest_file(wh, "calls", write_csv(tmp_path / "c.csv", rows, CALL_HEADER))
    assert (res.loaded, res.rejected) == (2, 1)
    assert wh.con.execute("SELECT outcome FROM calls WHERE call_id = 'D'").fetchone()[0] == "sale"
    line, reason, raw = wh.con.execute("SELECT line, reason, raw FROM rejects").fetchone()
    assert (line, reason) == (2, "call_id: duplicate key in this file; line 4 kept")
    assert "no_sale" in raw


def test_malformed_lines_are_kept_with_their_physical_line(wh: Warehouse, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [call(call_id=f"M{i}") for i in range(5)], CALL_HEADER)
    lines = path.read_text().splitlines()
    lines.insert(2, "short,row")                      # becomes line 3
    lines.insert(4, lines[4] + ",extra,fields")        # line 5: too many fields
    lines.append(",".join(call(call_id="LAST", csat="9").values()))  # last line: a validation reject
    path.write_text("\n".join(lines) + "\n")
    res = ingest_file(wh, "calls", path)
    assert res.rows_read == len(lines) - 1
    assert (res.loaded, res.rejected) == (5, 3)
    got = wh.con.execute("SELECT line, field, split_part(reason, ':', 1) FROM rejects ORDER BY line").fetchall()
    assert [g[0] for g in got] == [3, 5, len(lines)]
    assert got[0][2] == "too few fields" and got[1][2] == "too many fields" and got[2][1] == "csat"


def test_failure_midway_leaves_warehouse_as_it_was(wh: Warehouse, tmp_path: Path) -> None:
    ingest_file(wh, "calls", write_csv(tmp_path / "a.csv", [call(call_id="S1")], CALL_HEADER))
    before = counts(wh)

    def interrupt(step: str) -> None:
        if step == "committing":  # everything is written; the user presses Ctrl-C
            raise KeyboardInterrupt

    rows = [call(call_id="S1", outcome="no_sale", order_value=""), call(call_id="S2"), call(call_id="S3", csat="0")]
    with pytest.raises(KeyboardInterrupt):
        ingest_file(wh, "calls", write_csv(tmp_path / "b.csv", rows, CALL_HEADER), progress=interrupt)
    assert counts(wh) == before
    assert wh.con.execute("SELECT outcome FROM calls").fetchone()[0] == "sale"
    res = ingest_file(wh, "calls", tmp_path / "b.csv")  # and the same file then loads normally
    assert (res.loaded, res.rejected, res.replaced) == (2, 1, 1)


@pytest.mark.parametrize(
    ("content", "error", "words"),
    [
        (None, InputError, "no such file"),
        (b"\x00\x01\x02binary\x00", InputError, "not a text file"),
        (b"agent_id,center_id,skills\nA1,AUS,sales:5\n", SchemaError, "missing required column"),
        (b"", InputError, ""),
    ],
)
def test_unreadable_files_raise_one_line_errors(wh: Warehouse, tmp_path: Path, content, error, words) -> None:
    path = tmp_path / "calls.csv"
    if content is not None:
        path.write_bytes(content)
    before = counts(wh)
    with pytest.raises(error) as info:
        ingest_file(wh, "calls", path)
    assert str(path) in str(info.value) and words in str(info.value)
    assert "\n" not in str(info.value)
    assert counts(wh) == before


def test_wrong_kind_is_named(wh: Warehouse) -> None:
    with pytest.raises(SchemaError, match="for agents"):
        ingest_file(wh, "agents", EXAMPLES / "calls.csv")
    with pytest.raises(InputError, match="JSON Lines"):
        ingest_file(wh, "calls", EXAMPLES / "transcripts.jsonl")


def test_ingest_arrow_typed_table_like_a_file(wh: Warehouse) -> None:
    table = pa.table({
        "call_id": ["T1", "T2"], "center_id": ["AUS", "AUS"], "queue": ["q", "q"], "direction": ["inbound"] * 2,
        "call_type": ["care"] * 2,
        "offered_at": pa.array([1_750_000_000_000_000] * 2, pa.timestamp("us", tz="UTC")),
        "answered_at": pa.array([1_750_000_010_000_000, None], pa.timestamp("us", tz="UTC")),
        "ended_at": pa.array([1_750_000_300_000_000, 1_750_000_030_000_000], pa.timestamp("us", tz="UTC")),
        "agent_id": ["A001", None], "lead_id": [None, None], "hold_s": [0.0, None], "wrap_s": [10.0, None],
        "outcome": ["resolved", "abandoned"], "order_value": [None, None], "csat": pa.array([4, None], pa.int64()),
    }).cast(CALLS.arrow_schema())
    res = ingest_arrow(wh, "calls", table, source="sim:test")
    assert (res.loaded, res.rejected) == (2, 0)
    assert wh.con.execute("SELECT epoch(offered_at) FROM calls LIMIT 1").fetchone()[0] == 1_750_000_000


def test_interrupted_first_load_leaves_the_empty_table(wh: Warehouse, tmp_path: Path) -> None:
    """A first load renames its stage into place; an interrupt must undo that too."""
    from closeloop.model import CALLS

    def interrupt(step: str) -> None:
        if step == "committing":
            raise KeyboardInterrupt

    path = write_csv(tmp_path / "a.csv", [call(call_id="F1"), call(call_id="F2", csat="9")], CALL_HEADER)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(wh, "calls", path, progress=interrupt)
    assert wh.columns("calls") == CALLS.names
    assert counts(wh) == (0, 0, 1)  # only the centers ingest of the fixture is logged
    res = ingest_file(wh, "calls", path)
    assert (res.loaded, res.rejected) == (1, 1)
    assert wh.columns("calls") == CALLS.names
    tables = {r[0] for r in wh.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "__stage" not in tables


def test_first_load_keeps_extra_columns_and_later_loads_upsert(wh: Warehouse, tmp_path: Path) -> None:
    first = [{**call(call_id="X1"), "campaign": "spring"}]
    ingest_file(wh, "calls", write_csv(tmp_path / "a.csv", first))
    assert wh.columns("calls")[-1] == "campaign"
    second = [{**call(call_id="X1", outcome="no_sale", order_value=""), "campaign": "summer"}, call(call_id="X2")]
    res = ingest_file(wh, "calls", write_csv(tmp_path / "b.csv", second))
    assert (res.loaded, res.replaced) == (2, 1)
    assert wh.con.execute("SELECT call_id, outcome, campaign FROM calls ORDER BY call_id").fetchall() == [
        ("X1", "no_sale", "summer"), ("X2", "sale", None)]
