"""Fuzzing the other ways in: Parquet, JSON Lines, WebVTT and Asterisk queue_log files.

Each file mixes valid content with corruptions (bad JSON, a byte order mark, invalid
UTF-8, NUL bytes, truncation, extreme and malformed values, odd column names). The
invariants are issue 13's: the ingest loads or raises one of closeloop's errors with a
documented exit code (never another exception: the CLI would show a traceback), and the
counts add up (read = loaded + rejected); Parquet values that load equal what was written.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.errors import CloseloopError
from closeloop.ingest import ingest_file
from closeloop.warehouse import Warehouse
from tests.fuzz.budget import budget

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
DOCUMENTED_EXITS = {1, 2, 3}
COUNTER = iter(range(10**9))


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Warehouse]]:
    root = tmp_path_factory.mktemp("formats")
    wh = Warehouse(root / "w.duckdb")
    for record in ("centers", "agents", "calls"):
        ingest_file(wh, record, EXAMPLES / f"{record}.csv")
    yield root, wh
    wh.close()


def attempt(wh: Warehouse, record: str, path: Path, fmt: str = "auto", **options: str) -> None:
    """Ingest and check the invariants that hold whatever the file holds."""
    try:
        res = ingest_file(wh, record, path, fmt, **options)
    except CloseloopError as exc:
        assert exc.exit_code in DOCUMENTED_EXITS, exc
        return
    assert res.rows_read == res.loaded + res.rejected, res


def maybe_truncated_gzip(draw: st.DrawFn, path: Path, data: bytes) -> Path:
    """The bytes as written, gzipped, or gzipped and cut short."""
    how = draw(st.sampled_from(["plain", "plain", "gzip", "cut"]))
    if how == "plain":
        path.write_bytes(data)
        return path
    packed = gzip.compress(data)
    gz = path.with_name(path.name + ".gz")
    gz.write_bytes(packed if how == "gzip" else packed[: max(1, len(packed) * 2 // 3)])
    return gz


NAMES = st.sampled_from(["call_id", "center_id", "queue", "offered_at", "hold_s", "csat", '"', "a b", "É", "x" * 60])
VALUES = st.one_of(st.none(), st.sampled_from(["", "C1", "AUS", "=1+2", "a\x00b", "1_000", "9", "-1", "nan",
                                               "9999-12-31T00:00:00", "2026-07-01", "2026-07-01T09:00:00+25:00"]),
                   st.text(max_size=8))


@budget(50)
@given(data=st.data())
def test_parquet(place: tuple[Path, Warehouse], data: st.DataObject) -> None:
    root, wh = place
    base = {"call_id": "P1", "center_id": "MNL", "queue": "q", "direction": "inbound", "call_type": "care",
            "offered_at": "2026-07-01T09:00:00", "answered_at": "2026-07-01T09:00:10",
            "ended_at": "2026-07-01T09:05:00", "agent_id": "B201", "outcome": "resolved"}
    n = next(COUNTER)
    rows = []
    for i in range(data.draw(st.integers(0, 6))):
        row = {**base, "call_id": f"P{n}_{i}"}
        for name in data.draw(st.lists(NAMES, max_size=3)):
            row[name] = data.draw(VALUES)
        rows.append(row)
    names = sorted({k for r in rows for k in r}) or ["call_id"]
    table = pa.table({n: pa.array([r.get(n) for r in rows], pa.string()) for n in names})
    path = root / f"p{n}.parquet"
    pq.write_table(table, path)
    if data.draw(st.booleans()):
        raw = path.read_bytes()
        path.write_bytes(raw[: data.draw(st.integers(0, len(raw)))])  # truncated
    attempt(wh, "calls", path)
    for i, row in enumerate(rows):  # what loaded is what was written (queue trimmed; empty is NULL)
        if row["call_id"] != f"P{n}_{i}" or not isinstance(row.get("queue"), str):
            continue
        got = wh.con.execute("SELECT queue FROM calls WHERE call_id = ?", [row["call_id"]]).fetchall()
        if got:
            assert got[0][0] == (row["queue"].strip(" ") or None), (got, row)


@st.composite
def jsonl_bytes(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        turn = {"speaker": draw(st.sampled_from(["agent", "customer", "robot"])),
                "start": draw(st.sampled_from([0, 1.5, -1, "x", None])), "end": draw(st.sampled_from([2, 1, None])),
                "text": draw(st.text(max_size=10))}
        obj = {"call_id": draw(st.sampled_from(["C0001", "C0002", "", "nope"])), "turns": [turn]}
        kind = draw(st.sampled_from(["ok", "ok", "broken", "array", "bad_utf8", "nul", "blank"]))
        if kind == "ok":
            lines.append(json.dumps(obj).encode())
        elif kind == "broken":
            lines.append(json.dumps(obj).encode()[:-3])
        elif kind == "array":
            lines.append(b"[1, 2]")
        elif kind == "bad_utf8":
            lines.append(b'{"call_id": "\xff\xfe", "turns": []}')
        elif kind == "nul":
            lines.append(json.dumps(obj).encode().replace(b"turns", b"tu\x00rns"))
        else:
            lines.append(b"")
    data = b"\n".join(lines) + b"\n"
    return (b"\xef\xbb\xbf" + data) if draw(st.booleans()) else data


@budget(50)
@given(data=st.data())
def test_jsonl(place: tuple[Path, Warehouse], data: st.DataObject) -> None:
    root, wh = place
    path = maybe_truncated_gzip(data.draw, root / f"t{next(COUNTER)}.jsonl", data.draw(jsonl_bytes()))
    attempt(wh, "transcripts", path)


@budget(50)
@given(data=st.data())
def test_webvtt(place: tuple[Path, Warehouse], data: st.DataObject) -> None:
    root, wh = place
    cues = []
    for i in range(data.draw(st.integers(0, 4))):
        timing = data.draw(st.sampled_from([f"00:00:0{i}.000 --> 00:00:0{i + 1}.000", "99:99 --> x", ""]))
        voice = data.draw(st.sampled_from(["<v Agent>", "<v Customer>", "<v Bob>", "Agent: ", "<v.agent>", ""]))
        cues.append(f"{timing}\n{voice}{data.draw(st.text(max_size=12))}\n")
    head = data.draw(st.sampled_from(["WEBVTT", "\ufeffWEBVTT", "WEBVTT\nNOTE call_id: C0001", "nope"]))
    text = head + "\n\n" + "\n".join(cues)
    raw = text.encode("utf-8", errors="replace")
    if data.draw(st.booleans()):
        raw = raw.replace(b"A", b"\xff")
    path = maybe_truncated_gzip(data.draw, root / "C0001.vtt", raw)
    attempt(wh, "transcripts", path, "webvtt")


@budget(50)
@given(data=st.data())
def test_asterisk_queue_log(place: tuple[Path, Warehouse], data: st.DataObject) -> None:
    root, wh = place
    t0 = int(datetime(2026, 7, 1, tzinfo=UTC).timestamp())
    lines = []
    for i in range(data.draw(st.integers(0, 5))):
        call = f"{t0}.{i}"
        epoch = data.draw(st.sampled_from([str(t0 + i), "253402300800", "-5", "x", ""]))
        events = data.draw(st.lists(st.sampled_from([
            f"{epoch}|{call}|sales|NONE|ENTERQUEUE||5551234|1",
            f"{epoch}|{call}|sales|SIP/agent1|CONNECT|4|{call}|2",
            f"{epoch}|{call}|sales|SIP/agent1|COMPLETECALLER|4|120|1",
            f"{epoch}|{call}|sales|NONE|ABANDON|1|1|30",
            f"{epoch}|{call}|sales|NONE|EXITWITHTIMEOUT|1|1|99999999999999999999",
            f"{epoch}|NONE|NONE|NONE|QUEUESTART|",
            "garbage without pipes", f"{epoch}|{call}|sales\x00|NONE|ENTERQUEUE||1|1",
        ]), max_size=4))
        lines.extend(events)
    raw = ("\n".join(lines) + "\n").encode()
    if data.draw(st.booleans()):
        raw = raw.replace(b"sales", b"s\xffales", 1)
    path = maybe_truncated_gzip(data.draw, root / f"queue_log{next(COUNTER)}", raw)
    attempt(wh, "calls", path, "asterisk-queue-log", center_id="AUS")
