"""Transcripts (JSON Lines): whole transcripts load or are rejected with the turn named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from closeloop.ingest import ingest_file
from closeloop.warehouse import Warehouse

from .conftest import CALL_HEADER, EXAMPLES, call, write_csv


@pytest.fixture
def with_calls(wh: Warehouse, tmp_path: Path) -> Warehouse:
    rows = [call(call_id=f"T{i}") for i in range(1, 6)]
    ingest_file(wh, "calls", write_csv(tmp_path / "calls.csv", rows, CALL_HEADER))
    return wh


def turn(speaker: str, start: float, end: float, text: str = "hello") -> dict[str, object]:
    return {"speaker": speaker, "start": start, "end": end, "text": text}


def write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


GOOD = {"call_id": "T1", "turns": [turn("agent", 0, 2), turn("customer", 1.5, 3), turn("agent", 3.1, 5)]}


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "not a JSON object"),
        ({"turns": [turn("agent", 0, 1)]}, "call_id: required"),
        ({"call_id": "T2"}, "turns: missing"),
        ({"call_id": "T2", "turns": []}, "no turns"),
        ({"call_id": "T2", "turns": [turn("agent", 0, 1), turn("robot", 1, 2)]}, "turn 1: speaker"),
        ({"call_id": "T2", "turns": [turn("agent", -1, 1)]}, "turn 0: start_s: below the minimum"),
        ({"call_id": "T2", "turns": [turn("agent", 5, 4)]}, "ends before it starts"),
        ({"call_id": "T2", "turns": [turn("agent", 0, 5), turn("agent", 4, 6)]}, "overlaps"),
        ({"call_id": "T2", "turns": [{"speaker": "agent", "start": "soon", "end": 1, "text": "x"}]}, "not a number"),
        ({"call_id": "T2", "turns": [turn("agent", 0, 1, "")]}, "text: required"),
        ({"call_id": "NOPE", "turns": [turn("agent", 0, 1)]}, "no call NOPE"),
    ],
)
def test_bad_transcripts_are_rejected_whole(with_calls: Warehouse, tmp_path: Path, bad, words) -> None:
    res = ingest_file(with_calls, "transcripts", write_jsonl(tmp_path / "t.jsonl", [GOOD, bad]))
    assert (res.rows_read, res.loaded, res.rejected) == (2, 1, 1)
    line, reason, raw = with_calls.con.execute(
        "SELECT line, reason, raw FROM rejects WHERE record = 'transcripts'").fetchone()
    assert line == 2 and words in reason
    assert raw == (bad if isinstance(bad, str) else json.dumps(bad))
    assert with_calls.con.execute("SELECT count(DISTINCT call_id) FROM transcripts").fetchone()[0] == 1


def test_turns_stored_in_time_order_and_customer_overlap_allowed(with_calls: Warehouse, tmp_path: Path) -> None:
    unordered = {"call_id": "T3", "turns": [turn("agent", 3, 4, "c"), turn("agent", 0, 1, "a"),
                                             turn("customer", 0.5, 2, "b")]}
    ingest_file(with_calls, "transcripts", write_jsonl(tmp_path / "t.jsonl", [unordered, ""]))
    got = with_calls.con.execute("SELECT turn, text FROM transcripts ORDER BY turn").fetchall()
    assert got == [(0, "a"), (1, "b"), (2, "c")]


def test_reingest_replaces_transcript(with_calls: Warehouse, tmp_path: Path) -> None:
    ingest_file(with_calls, "transcripts", write_jsonl(tmp_path / "a.jsonl", [GOOD]))
    shorter = {"call_id": "T1", "turns": [turn("agent", 0, 1, "only")]}
    res = ingest_file(with_calls, "transcripts", write_jsonl(tmp_path / "b.jsonl", [shorter]))
    assert res.replaced == 1
    assert with_calls.con.execute("SELECT count(*), max(text) FROM transcripts").fetchone() == (1, "only")


def test_example_transcripts(wh: Warehouse) -> None:
    for record in ("agents", "leads", "calls"):
        ingest_file(wh, record, EXAMPLES / f"{record}.csv")
    res = ingest_file(wh, "transcripts", EXAMPLES / "transcripts.jsonl")
    assert (res.rows_read, res.loaded, res.rejected) == (4, 2, 2)


def test_non_jsonl_transcripts_are_refused_naming_the_format(wh: Warehouse, tmp_path: Path) -> None:
    from closeloop.errors import InputError

    vtt = tmp_path / "call.vtt"
    vtt.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n<v Agent>Hello\n", encoding="utf-8")
    pretty = tmp_path / "stt.json"
    pretty.write_text(json.dumps({"JobName": "x", "Transcript": []}, indent=2), encoding="utf-8")
    with pytest.raises(InputError, match="--format webvtt"):
        ingest_file(wh, "transcripts", vtt)
    with pytest.raises(InputError, match="--format aws-call-analytics"):
        ingest_file(wh, "transcripts", pretty)
    assert wh.count("rejects") == 0
