"""Issue 13's reproductions, one test each: values never changed without a word, bad files named.

Each case is what a demanding user did to an earlier version: the quoting of one file
changing another's values, blank lines shifting reported lines, a year typed 9999, a
truncated gzip, a line too long for the reader, a 500-column header, a column named ``"``.
"""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from closeloop.errors import ConfigError, InputError
from closeloop.ingest import TimeWindow, ingest_file
from closeloop.warehouse import Warehouse
from tests.ingest.conftest import CALL_HEADER, call

HEADER = ",".join(CALL_HEADER)


def line(**overrides: str) -> str:
    """One call as a CSV line (values written as given: the test controls the quoting)."""
    return ",".join(call(**overrides)[c] for c in CALL_HEADER)


def write(path: Path, *lines: str, newline: str = "\n") -> Path:
    path.write_bytes((newline.join([HEADER, *lines]) + newline).encode("utf-8"))
    return path


def rejects(wh: Warehouse) -> list[tuple[int, str, str, str]]:
    return wh.con.execute("SELECT line, field, reason, raw FROM rejects ORDER BY line").fetchall()


def queues(wh: Warehouse) -> dict[str, str]:
    return dict(wh.con.execute("SELECT call_id, queue FROM calls").fetchall())


def test_rfc4180_quoting_is_read_the_same_in_every_file(wh: Warehouse, tmp_path: Path) -> None:
    """Pinned dialect: "" is a quote, ' is a character, a quoted delimiter is data."""
    path = write(tmp_path / "q.csv",
                 line(call_id="C1", queue='"has ""q"" inside"'),
                 line(call_id="C2", queue="'abc'"),
                 line(call_id="C3", queue='"Smith, John"'))
    res = ingest_file(wh, "calls", path)
    assert (res.loaded, res.rejected) == (3, 0)
    assert queues(wh) == {"C1": 'has "q" inside', "C2": "'abc'", "C3": "Smith, John"}


def test_a_quoted_value_after_many_plain_rows_loses_its_quotes(wh: Warehouse, tmp_path: Path) -> None:
    plain = [line(call_id=f"P{i}", queue="plain") for i in range(25_000)]
    path = write(tmp_path / "late.csv", *plain, line(call_id="Q", queue='"plain"'))
    res = ingest_file(wh, "calls", path)
    assert res.rejected == 0
    assert wh.con.execute("SELECT queue FROM calls WHERE call_id = 'Q'").fetchone() == ("plain",)


def test_an_unterminated_quote_is_rejected_with_its_line_not_swallowed(wh: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", line(call_id="C1"), line(call_id="C2", queue='"unterminated'),
                 line(call_id="C3"))
    res = ingest_file(wh, "calls", path)
    assert res.rows_read == res.loaded + res.rejected
    assert queues(wh) == {"C1": "sales_inbound"}  # nothing after it is loaded as part of a value
    (got,) = rejects(wh)
    assert got[0] == 3 and "quoted" in got[2] and got[3].startswith("C2,")


def test_nul_bytes_are_rejected_never_stored(wh: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path / "nul.csv", line(call_id="C1"), line(call_id="C2", queue="a\x00b"))
    res = ingest_file(wh, "calls", path)
    assert (res.loaded, res.rejected) == (1, 1)
    (got,) = rejects(wh)
    assert got[:2] == (3, "queue") and "NUL" in got[2]


def test_blank_lines_and_multiline_records_keep_physical_lines(wh: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path / "b.csv",
                 line(call_id="C1"),                                 # line 2
                 "",                                                 # line 3: blank
                 line(call_id="C2", queue='"two\nlines"'),           # lines 4-5
                 "",                                                 # line 6
                 line(call_id="C3", csat="9"),                       # line 7: bad value
                 "too,few",                                          # line 8: malformed
                 line(call_id="C4", hold_s="-1"),                    # line 9: bad value
                 newline="\r\n")
    res = ingest_file(wh, "calls", path)
    assert (res.loaded, res.rejected) == (2, 3)
    assert [r[0] for r in rejects(wh)] == [7, 8, 9]
    text = path.read_text(encoding="utf-8").splitlines()  # physical lines
    assert [r[3] for r in rejects(wh)] == [text[6], text[7], text[8]]


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"hold_s": "1_000"}, "hold_s", "not a number"),
    ({"csat": "1_0"}, "csat", "not a whole number"),
    ({"offered_at": "2026-07-01"}, "offered_at", "time of day"),
    ({"offered_at": "2026-07-01T09:00:00+25:00"}, "offered_at", "±18:00"),
    ({"offered_at": "2026-07-01T09:00:00-99:59"}, "offered_at", "±18:00"),
])
def test_values_duckdb_would_bend_are_rejected(wh: Warehouse, tmp_path: Path, overrides: dict[str, str],
                                               field: str, words: str) -> None:
    res = ingest_file(wh, "calls", write(tmp_path / "v.csv", line(**overrides)))
    assert res.rejected == 1
    (got,) = rejects(wh)
    assert got[1] == field and words in got[2]


def test_accepted_forms_load_as_written(wh: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path / "ok.csv",
                 line(call_id="C1", offered_at="2026-07-01T09:00:00+14:00", answered_at="",
                      ended_at="2026-07-01T09:00:00+14:00", outcome="abandoned", agent_id=""),
                 line(call_id="C2", hold_s="1e1", offered_at="2026-07-01 09:00"))
    res = ingest_file(wh, "calls", path)
    assert res.rejected == 0, rejects(wh)
    got = dict(wh.con.execute("SELECT call_id, epoch(offered_at) FROM calls").fetchall())
    assert got["C1"] == datetime(2026, 7, 1, 9, tzinfo=timezone(timedelta(hours=14))).timestamp()


def test_hire_dates_may_be_dates(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    path.write_text("agent_id,center_id,skills,hired_at\nA1,AUS,sales:5,2024-03-04\n", encoding="utf-8")
    assert ingest_file(wh, "agents", path).rejected == 0


@pytest.mark.parametrize("stamp", ["9999-12-31T00:00:00", "0001-01-01T00:00:00", "2999-01-01T00:00:00",
                                   "1989-12-31T23:59:59Z"])
def test_timestamps_outside_the_window_are_rejected(wh: Warehouse, tmp_path: Path, stamp: str) -> None:
    res = ingest_file(wh, "calls", write(tmp_path / "w.csv", line(offered_at=stamp)))
    assert res.rejected == 1
    assert "plausible window 1990-01-01" in rejects(wh)[0][2]


def test_the_window_is_configurable(wh: Warehouse, tmp_path: Path) -> None:
    old = write(tmp_path / "old.csv", line(offered_at="1985-06-01T09:00:00", answered_at="1985-06-01T09:00:10",
                                          ended_at="1985-06-01T09:05:00"))
    res = ingest_file(wh, "calls", old, window=TimeWindow(earliest=date(1980, 1, 1)))
    assert res.rejected == 0


def test_window_settings_are_validated(tmp_path: Path) -> None:
    from closeloop.settings import init_workspace, load_settings

    settings = init_workspace(tmp_path)
    assert (settings.earliest, settings.latest_years_ahead) == (date(1990, 1, 1), 2)
    cfg = tmp_path / "closeloop.toml"
    cfg.write_text(cfg.read_text().replace('earliest = "1990-01-01"', 'earliest = "last year"'))
    with pytest.raises(ConfigError, match=r"ingest\.earliest"):
        load_settings(tmp_path)


def _gz_truncated(path: Path, text: str) -> Path:
    data = gzip.compress(text.encode("utf-8"))
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("rows", [3, 300_000])
def test_a_truncated_gzip_is_bad_input_naming_the_file(wh: Warehouse, tmp_path: Path, rows: int) -> None:
    text = "\n".join([HEADER, *(line(call_id=f"C{i}") for i in range(rows))]) + "\n"
    path = _gz_truncated(tmp_path / "calls.csv.gz", text)
    with pytest.raises(InputError, match=r"calls\.csv\.gz"):
        ingest_file(wh, "calls", path)
    assert wh.count("calls") == 0


def test_a_truncated_gzip_of_transcripts_is_bad_input(wh: Warehouse, tmp_path: Path) -> None:
    text = '{"call_id": "C1", "turns": [{"speaker": "agent", "start": 0, "end": 1, "text": "hi"}]}\n' * 5000
    path = _gz_truncated(tmp_path / "t.jsonl.gz", text)
    with pytest.raises(InputError, match=r"t\.jsonl\.gz"):
        ingest_file(wh, "transcripts", path)


def test_an_over_long_line_is_a_reject_and_the_others_load(wh: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path / "long.csv", line(call_id="C1"), line(call_id="C2", queue="x" * 3_000_000),
                 line(call_id="C3"))
    res = ingest_file(wh, "calls", path)
    assert (res.loaded, res.rejected) == (2, 1)
    (got,) = rejects(wh)
    assert got[0] == 3 and "too long" in got[2]


def test_a_500_column_header_loads_and_keeps_its_extras(wh: Warehouse, tmp_path: Path) -> None:
    extras = [f"extra_{i}" for i in range(485)]
    path = tmp_path / "wide.csv"
    bad = call(call_id="C2", csat="9")
    rows = [",".join([*call().values(), *(str(i) for i in range(485))]),
            ",".join([*(bad[c] for c in CALL_HEADER), *("x" for _ in range(485))])]
    path.write_text("\n".join([",".join([*CALL_HEADER, *extras]), *rows]) + "\n", encoding="utf-8")
    res = ingest_file(wh, "calls", path)
    assert (res.loaded, res.rejected) == (1, 1)
    assert wh.con.execute('SELECT "extra_484" FROM calls').fetchone() == ("484",)
    assert rejects(wh)[0][3].endswith(",x,x")


def test_a_column_named_quote_is_kept(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(f'{HEADER},""""\n{line(call_id="C1")},v1\n', encoding="utf-8")
    ingest_file(wh, "calls", path)  # first load: the stage becomes the table
    path.write_text(f'{HEADER},""""\n{line(call_id="C2")},v2\n', encoding="utf-8")
    wh.con.execute('ALTER TABLE calls DROP COLUMN """"')  # a later load adds the column itself
    assert ingest_file(wh, "calls", path).loaded == 1
    assert wh.con.execute('SELECT """" FROM calls WHERE call_id = \'C2\'').fetchone() == ("v2",)


def test_the_delimiter_can_be_given(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text(";".join(CALL_HEADER) + "\n" + ";".join(call().values()) + "\n", encoding="utf-8")
    assert ingest_file(wh, "calls", path, delimiter=";").loaded == 1
    with pytest.raises(InputError, match="delimiter"):
        ingest_file(wh, "calls", path, delimiter='"')


def test_jsonl_with_a_bom_is_accepted(tmp_path: Path) -> None:
    with Warehouse(tmp_path / "w.duckdb") as wh:
        ingest_file(wh, "calls", write(tmp_path / "c.csv", line(call_id="C1")))
        path = tmp_path / "t.jsonl"
        path.write_bytes(b"\xef\xbb\xbf" + b'{"call_id": "C1", "turns": [{"speaker": "agent", "start": 0, "end": 1, '
                         b'"text": "hello"}]}\n')
        res = ingest_file(wh, "transcripts", path)
        assert (res.loaded, res.rejected) == (1, 0)


def test_a_format_option_the_format_does_not_take_is_bad_input(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "C1.vtt"
    path.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Agent>hi\n", encoding="utf-8")
    with pytest.raises(InputError, match="--center: not an option of format 'webvtt'"):
        ingest_file(wh, "transcripts", path, "webvtt", center_id="X")


def test_multi_file_ingest_names_what_it_committed(wh: Warehouse, tmp_path: Path) -> None:
    from closeloop.ingest import FilesIngestError, ingest_files

    good = write(tmp_path / "good.csv", line(call_id="C1"))
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(FilesIngestError, match=r"good\.csv: 1 loaded") as err:
        ingest_files(wh, "calls", [good, bad])
    assert err.value.exit_code == 2 and [r.loaded for r in err.value.done] == [1]
    assert wh.count("calls") == 1


def test_a_long_transcript_line_loads(tmp_path: Path) -> None:
    """A JSONL line past DuckDB's 2 MB default (a long call) is read, not a failed file."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        ingest_file(wh, "calls", write(tmp_path / "c.csv", line(call_id="C1"), line(call_id="C2")))
        turn = {"speaker": "agent", "start": 0, "end": 1, "text": "x" * 3_000_000}
        path = tmp_path / "t.jsonl"
        path.write_text("\n".join(json.dumps({"call_id": c, "turns": [turn]}) for c in ("C1", "C2")) + "\n")
        res = ingest_file(wh, "transcripts", path)
        assert (res.loaded, res.rejected) == (2, 0)
