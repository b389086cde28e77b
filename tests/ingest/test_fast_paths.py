"""The ingest's fast paths agree with the slow, obvious definitions they replace.

``record_failed`` merges each record's rules into few comparisons; ``may_have_padding``
lets clean CSV files skip the per-value space test; duplicate keys are found through
hashes first. Each is checked against the definition it stands for, on any input.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeloop.ingest import ingest_file
from closeloop.ingest.rules import raw_select, record_checks, record_failed, typed_select
from closeloop.ingest.sources import may_have_padding
from closeloop.ingest.zones import zone_columns
from closeloop.model import RECORDS
from closeloop.warehouse import Warehouse

from .conftest import CALL_HEADER, EXAMPLES, GOOD_CALL, write_csv

# Values around every rule's edges: empty, blank, padded, out of range, not finite, wrong
# case, other fields' values, timestamps with and without offsets.
VALUES = st.one_of(
    st.none(),
    st.sampled_from([
        "", " ", "  x ", "0", "-0.0", "-1", "1", "5", "6", "1.5", "2.0", "nan", "NaN", "inf", "-inf", "1e309",
        "1.7976931348623157e308", "sale", "SALE", " no_sale", "resolved", "abandoned", "no_answer", "callback",
        "inbound", "Outbound", "sales", "care", "x", "AUS", "US", "us", "ZZ", "America/Chicago", "Mars/Base",
        "2026-07-01T09:00:00", "2026-07-01T08:00:00", "2026-07-01T09:00:00Z", "2026-07-01T09:00:00+02:00",
        "2026-07-01 09:00:00-05", "2026-02-30", "not a time", "A001", "L001", "agent", "customer",
    ]),
    st.text(max_size=6),
)


def _valid_row(record: str) -> dict[str, str]:
    """The first row of the record's example file (calls: the conftest's good call)."""
    if record == "calls":
        return dict(GOOD_CALL)
    path = EXAMPLES / f"{record}.csv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.DictReader(fh))


def _rows(draw: st.DrawFn, record: str, names: list[str]) -> list[dict[str, str | None]]:
    """Valid rows with one or two fields replaced: a rule's edge must show, not be masked by others."""
    base = _valid_row(record)
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        row: dict[str, str | None] = {n: base.get(n) for n in names}
        for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=2)):
            row[name] = draw(VALUES)
        rows.append(row)
    return rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), record=st.sampled_from(sorted(RECORDS)))
def test_record_failed_is_true_exactly_when_a_check_fails(data: st.DataObject, record: str) -> None:
    schema = RECORDS[record]
    names = [f.name for f in schema.fields]
    rows = _rows(data.draw, record, names)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    table = {n: [r[n] for r in rows] for n in names}
    cols = ", ".join(f"unnest(${i + 1}::VARCHAR[]) AS \"{n}\"" for i, n in enumerate(names))
    relation = (f"SELECT *, 'America/Chicago' AS __tz, {zone_columns(con, ['America/Chicago'])} FROM "
                f"(SELECT *, {raw_select(schema)} FROM (SELECT {cols}))")
    slow = " OR ".join(f"coalesce(({c.failed}), false)" for c in record_checks(schema)) or "false"
    fast = f"coalesce(({record_failed(schema)}), false)"
    got = con.execute(f"SELECT ({slow}) AS slow, ({fast}) AS fast FROM ({typed_select(schema, relation)})",
                      [table[n] for n in names]).fetchall()
    assert len(got) == len(rows)
    assert [s for s, _ in got] == [f for _, f in got]


def _csv_text(rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([["a", "b", "c"], *rows])
    return out.getvalue()


CELLS = st.one_of(st.sampled_from(["", " ", "x", " x", "x ", "a b", '"', 'say "hi" ', "1,2", "\n"]),
                  st.text(alphabet=" ab,;\"\t\r\n", max_size=5))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(CELLS, min_size=3, max_size=3), max_size=6),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), chunk=st.integers(1, 64))
def test_padding_scan_never_misses_a_padded_value(rows: list[list[str]], delimiter: str, chunk: int) -> None:
    """When the scan says 'no padding', DuckDB's reader indeed gives no value with a space at an end."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv"
        path.write_text(_csv_text(rows, delimiter), encoding="utf-8")
        if may_have_padding(path, delimiter, chunk=chunk):
            return
        try:
            values = duckdb.sql(
                f"SELECT * FROM read_csv('{path}', header = true, all_varchar = true, delim = '{delimiter}', "
                "strict_mode = false, null_padding = true)").fetchall()
        except duckdb.Error:
            return  # not CSV enough to read; the ingest rejects such lines structurally
        for row in values:
            for v in row:
                assert v is None or not (v.startswith(" ") or v.endswith(" ") or v == ""), (rows, v)


def test_padding_scan_examples(tmp_path: Path) -> None:
    cases = {"a,b\n1,2\n": False, "a b,c\nx y,z\n": False, "a,b\n1, 2\n": True, "a,b\n1 ,2\n": True,
             "a,b\n 1,2\n": True, "a,b\n1,2 \r\n": True, "a,b\n1,2 ": True, 'a,b\n"x ",2\n': True, "a,b\n": False}
    for text, want in cases.items():
        path = tmp_path / "x.csv"
        path.write_text(text)
        assert [may_have_padding(path, ",", chunk=c) for c in (1, 2, 3, 1 << 20)] == [want] * 4, text


def test_padded_and_clean_files_load_the_same(tmp_path: Path) -> None:
    """A file with padded values (slow path) loads the same rows as its clean twin (fast path)."""
    rows = [{**GOOD_CALL, "call_id": f"C{i}", "agent_id": f"A{i % 3}"} for i in range(20)]
    clean = write_csv(tmp_path / "clean.csv", rows)
    padded = write_csv(tmp_path / "padded.csv", [{k: f" {v}  " if i % 2 else v for k, v in r.items()}
                                                for i, r in enumerate(rows)])
    assert not may_have_padding(clean, ",") and may_have_padding(padded, ",")
    loaded = []
    for path in (clean, padded):
        with Warehouse(tmp_path / f"{path.stem}.duckdb") as wh:
            ingest_file(wh, "centers", EXAMPLES / "centers.csv")
            res = ingest_file(wh, "calls", path)
            assert res.rejected == 0
            loaded.append(wh.con.execute(f"SELECT {', '.join(CALL_HEADER)} FROM calls ORDER BY call_id").fetchall())
    assert loaded[0] == loaded[1]


def test_duplicate_keys_found_through_hashes(tmp_path: Path) -> None:
    rows = [{**GOOD_CALL, "call_id": f"C{i % 7}"} for i in range(30)]
    with Warehouse(tmp_path / "w.duckdb") as wh:
        ingest_file(wh, "centers", EXAMPLES / "centers.csv")
        res = ingest_file(wh, "calls", write_csv(tmp_path / "d.csv", rows))
        assert (res.loaded, res.rejected) == (7, 23)
        reasons = wh.con.execute("SELECT DISTINCT field FROM rejects").fetchall()
        assert reasons == [("call_id",)]


def test_files_too_big_to_stay_cached_are_not_scanned(tmp_path: Path, monkeypatch) -> None:
    """Past the scan limit the file is taken as padded: it would otherwise be read from disk twice."""
    import closeloop.ingest.sources as sources

    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    assert not sources.may_have_padding(path, ",")
    monkeypatch.setattr(sources, "scan_limit_bytes", lambda: 4)
    assert sources.may_have_padding(path, ",")
