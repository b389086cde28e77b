"""Fuzzing canonical CSV ingestion against an independent parser.

Hypothesis writes call files mixing valid rows with every class of corruption issue 13
found (quoting, delimiters inside values, line breaks inside values, blank lines, NUL
bytes, invalid UTF-8, wrong field counts, an unterminated quote, padded values, digit
separators, date-only and far-offset times, extreme years, over-long lines) and checks:

* the ingest either loads or raises one of closeloop's errors (whose exit code is in the
  documented set) — never another exception, which the CLI would print as a traceback;
* rows read = loaded + rejected;
* every loaded value equals what the file says, read by Python's csv module in the pinned
  dialect (RFC 4180: quote ", doubled to escape) and converted by Python;
* every reject's line is a line where a record of the file starts.

All examples load into one workspace; the last test runs the analytics commands on it.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.errors import CloseloopError
from closeloop.ingest import ingest_file
from closeloop.settings import init_workspace
from closeloop.warehouse import Warehouse
from tests.fuzz.budget import budget

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
HEADER = ["call_id", "center_id", "queue", "direction", "call_type", "offered_at", "answered_at", "ended_at",
          "agent_id", "lead_id", "hold_s", "wrap_s", "outcome", "order_value", "csat"]
ZONES = {"AUS": "America/Chicago", "MNL": "Asia/Manila"}
DOCUMENTED_EXITS = {1, 2, 3}

# Text that stresses quoting: quotes, delimiters, line breaks, spaces at the ends, formula starts.
TEXT = st.one_of(
    st.sampled_from(['has "q" inside', "'abc'", "Smith, John", "two\nlines", "two\r\nlines", " padded ", "=1+2",
                     '"plain"', "a;b|c\td", "", "   ", "ü日本", "x" * 300]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00\r"), max_size=12),
)


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """Instants across the whole plausibility window, its edges included."""
    lo, hi = datetime(1990, 1, 2, tzinfo=UTC), datetime.now(UTC) + timedelta(days=365)
    return draw(st.one_of(st.just(lo), st.just(hi), st.datetimes(min_value=lo.replace(tzinfo=None),
                                                               max_value=hi.replace(tzinfo=None)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC))))


def stamp(moment: datetime, center: str, form: int) -> str:
    """A timestamp as a file would write it: with an offset, or local in the center's zone (MNL has no DST)."""
    if center == "MNL" and form == 0:
        return moment.astimezone(ZoneInfo("Asia/Manila")).strftime("%Y-%m-%dT%H:%M:%S")
    if form == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(ZoneInfo("Asia/Kolkata")).isoformat()  # +05:30


@st.composite
def good_row(draw: st.DrawFn, ids: list[str]) -> dict[str, str]:
    center = draw(st.sampled_from(sorted(ZONES)))
    offered = draw(instants())
    answered = offered + timedelta(seconds=draw(st.integers(0, 600)))
    ended = answered + timedelta(seconds=draw(st.integers(0, 3600)))
    form = draw(st.integers(0, 2))
    care = draw(st.booleans())
    return {
        "call_id": draw(st.sampled_from(ids)), "center_id": center, "queue": draw(TEXT),
        "direction": draw(st.sampled_from(["inbound", "INBOUND", " inbound "])),
        "call_type": "care" if care else "sales",
        "offered_at": stamp(offered, center, form), "answered_at": stamp(answered, center, form),
        "ended_at": stamp(ended, center, form), "agent_id": draw(st.sampled_from(["A001", "A002", "B201"])),
        "lead_id": draw(st.sampled_from(["", "L001", "=HYPERLINK()"])),
        "hold_s": draw(st.sampled_from(["0", "5", "5.5", "1e1", " 7 "])),
        "wrap_s": str(draw(st.integers(0, 100))),
        "outcome": draw(st.sampled_from(["resolved", "escalated"] if care else ["sale", "no_sale", "callback"])),
        "order_value": draw(st.sampled_from(["", "249.0", "0"])), "csat": draw(st.sampled_from(["", "1", "5"])),
    }


# Corruptions of one value: (field, bad text).
BAD_VALUES = st.sampled_from([
    ("hold_s", "1_000"), ("csat", "9"), ("offered_at", "2026-07-01"), ("offered_at", "2026-07-01T09:00:00+25:00"),
    ("offered_at", "9999-12-31T00:00:00"), ("offered_at", "0001-01-01T00:00:00"), ("ended_at", "2999-01-01T00:00:00"),
    ("queue", "a\x00b"), ("direction", "sideways"), ("hold_s", "nan"), ("wrap_s", "-1"), ("call_id", ""),
])
# Corruptions of a whole line.
BAD_LINES = st.sampled_from(["blank", "short", "bad_utf8", "stray_quote"] * 5 + ["long"])  # long lines cost


@st.composite
def call_file(draw: st.DrawFn) -> bytes:
    ids = [f"F{i}" for i in range(draw(st.integers(1, 12)))]
    rows: list[Any] = []
    for _ in range(draw(st.integers(0, 10))):
        row = draw(good_row(ids))
        kind = draw(st.sampled_from(["good", "good", "good", "value", "line"]))
        if kind == "value":
            field, text = draw(BAD_VALUES)
            row[field] = text
        rows.append(draw(BAD_LINES) if kind == "line" else row)
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    out = io.StringIO()
    writer = csv.writer(out, quoting=quoting, lineterminator=newline)
    writer.writerow(HEADER)
    parts = [out.getvalue().encode()]
    for row in rows:
        out.seek(0)
        out.truncate()
        if isinstance(row, dict):
            writer.writerow([row[c] for c in HEADER])
            parts.append(out.getvalue().encode())
        elif row == "blank":
            parts.append(newline.encode())
        elif row == "short":
            parts.append(f"F0,AUS{newline}".encode())
        elif row == "long":
            parts.append(b"F0,AUS," + b"x" * 2_200_000 + newline.encode())
        elif row == "bad_utf8":
            parts.append(b"F0,AUS,\xff\xfe," + b",".join([b"x"] * 12) + newline.encode())
        else:  # a quote in the middle of an unquoted value, then a quoted value followed by text
            parts.append(f'F0,AUS,"ab"c,inbound,sales,,,,,,,,,,{newline}'.encode())
    if draw(st.booleans()) and rows:
        parts.append(b'F0,AUS,"never closed,inbound' + newline.encode())  # swallows the rest: last only
    data = b"".join(parts)
    return (b"\xef\xbb\xbf" + data) if draw(st.booleans()) else data


def records(data: bytes) -> list[tuple[int, list[str]]]:
    """(start line, fields) of every non-blank record, as Python's csv module reads the file."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", quotechar='"', doublequote=True)
    out, prev = [], 0
    for rec in reader:
        if rec:
            out.append((prev + 1, rec))
        prev = reader.line_num
    return out[1:]  # the header


def expected_instant(text: str, center: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(ZONES[center]))


def check_loaded(wh: Warehouse, data: bytes, source: str) -> None:
    """Every loaded row equals the last record of its key that was not rejected, read by Python."""
    rejected = {r[0] for r in wh.con.execute("SELECT line FROM rejects WHERE source = ?", [source]).fetchall()}
    by_key: dict[str, list[str]] = {}
    starts = set()
    for start, rec in records(data):
        starts.add(start)
        if start not in rejected and len(rec) == len(HEADER):
            by_key[rec[0].strip()] = rec
    assert rejected <= starts, f"reject lines {sorted(rejected - starts)} start no record"
    got = wh.con.execute(f"SELECT {', '.join(HEADER)} FROM calls WHERE call_id IN "
                         f"(SELECT unnest(?::VARCHAR[]))", [list(by_key)]).fetchall()
    for row in got:
        want = dict(zip(HEADER, by_key[row[0]], strict=True))
        have = dict(zip(HEADER, row, strict=True))
        for name in ("queue", "agent_id", "lead_id"):
            assert have[name] == (want[name].strip(" ") or None), (name, have[name], want[name])
        assert have["direction"] == want["direction"].strip().lower()
        for name in ("offered_at", "answered_at", "ended_at"):
            assert have[name] == expected_instant(want[name], want["center_id"]), (name, have[name], want[name])
        for name in ("hold_s", "order_value"):
            text = want[name].strip()
            assert (have[name] is None and not text) or math.isclose(have[name], float(text)), (name, text)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    settings = init_workspace(root)
    with Warehouse(settings.warehouse_path()) as wh:
        for record in ("centers", "agents", "leads"):
            ingest_file(wh, record, EXAMPLES / f"{record}.csv")
    return root


COUNTER = iter(range(10**9))


@budget(80)
@given(data=call_file())
def test_csv_ingest_keeps_its_promises(workspace: Path, data: bytes) -> None:
    path = workspace / f"fuzz-{next(COUNTER)}.csv"
    path.write_bytes(data)
    with Warehouse(workspace / "warehouse.duckdb") as wh:
        before = wh.count("calls")
        try:
            res = ingest_file(wh, "calls", path)
        except CloseloopError as exc:  # a file refused as a whole: a documented exit, nothing changed
            assert exc.exit_code in DOCUMENTED_EXITS
            assert wh.count("calls") == before
            return
        assert res.rows_read == res.loaded + res.rejected
        check_loaded(wh, data, str(path))


def test_analytics_run_on_whatever_the_fuzz_loaded(workspace: Path) -> None:
    import subprocess
    import sys

    contracts = str(EXAMPLES.parent / "contracts" / "contracts.toml")
    for args in (["status"], ["scorecard"], ["scorecard", "--by", "agent_id", "--grain", "month"],
                 ["explain", "modes"], ["explain", "volume"], ["sla", "check", "--contracts", contracts],
                 ["report", "-o", "fuzz.html"], ["rejects", "--export", "rejects.csv"]):
        r = subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=workspace, capture_output=True, text=True,
                           timeout=300)
        assert "Traceback" not in r.stderr, (args, r.stderr[-3000:])
        assert r.returncode in {0, 1}, (args, r.returncode, r.stderr[-2000:])
