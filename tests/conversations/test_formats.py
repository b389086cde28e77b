"""WebVTT and Amazon Transcribe / Contact Lens adapters, read directly and through ingestion."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeloop.errors import InputError
from closeloop.ingest import ingest_file
from closeloop.ingest.formats import get_format
from closeloop.warehouse import Warehouse

DATA = Path(__file__).parent / "data"


def _calls(wh: Warehouse, ids: list[str]) -> None:
    rows = [{"call_id": c, "center_id": "X", "queue": "q", "direction": "inbound", "call_type": "sales",
             "outcome": "sale"} for c in ids]
    wh.con.register("t", pa.Table.from_pylist(rows))
    wh.con.execute("INSERT INTO calls BY NAME SELECT * FROM t")
    wh.con.unregister("t")


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "w.duckdb")
    _calls(w, ["CALL-1001", "CALL-1002", "CALL-1003", "CALL-1005", "zoom_style"])
    yield w
    w.close()


def test_webvtt_voice_tags_note_mapping_and_entities() -> None:
    out = get_format("webvtt").read(DATA / "teams_call.vtt")
    rows = out.table.to_pylist()
    assert out.units_read == 1 and not out.rejects
    assert {r["call_id"] for r in rows} == {"CALL-1001"}
    assert [r["speaker"] for r in rows] == ["agent", "customer", "agent", "customer"]
    assert rows[1]["text"] == "Hi, I'm looking at your fibre plans & prices."
    assert rows[2]["text"] == "Great. What are you using now?"  # <c> tag gone, cue settings ignored
    assert (rows[2]["start_s"], rows[2]["end_s"]) == (9.5, 15.0)


def test_webvtt_zoom_prefix_and_voice_class_and_file_stem() -> None:
    rows = get_format("webvtt").read(DATA / "zoom_style.vtt").table.to_pylist()
    assert [(r["call_id"], r["speaker"], r["text"]) for r in rows] == [
        ("zoom_style", "agent", "Good morning, thanks for calling."),
        ("zoom_style", "customer", "My internet keeps dropping."),
        ("zoom_style", "agent", "Let me check that for you."),
    ]
    assert rows[2]["start_s"] == 67.0


def test_webvtt_unknown_speaker_rejects_whole_file_with_hint() -> None:
    out = get_format("webvtt").read(DATA / "unknown_speaker.vtt")
    assert out.table.num_rows == 0 and out.units_read == 1
    (rej,) = out.rejects
    assert rej.field == "speaker" and "'Bob'" in rej.reason and "NOTE speakers" in rej.reason
    assert rej.line == 7


def test_webvtt_bad_timing_is_a_reject_with_line() -> None:
    (rej,) = get_format("webvtt").read(DATA / "bad_timing.vtt").rejects
    assert rej.line == 6 and "bad cue timing" in rej.reason


def test_webvtt_not_webvtt_is_input_error(tmp_path: Path) -> None:
    p = tmp_path / "x.vtt"
    p.write_text("1\n00:00:01,000 --> 00:00:02,000\nhello\n")
    with pytest.raises(InputError, match="not a WebVTT file"):
        get_format("webvtt").read(p)


def test_contact_lens_roles_from_participants_system_skipped() -> None:
    rows = get_format("aws-call-analytics").read(DATA / "contact_lens_1002.json").table.to_pylist()
    assert [(r["call_id"], r["speaker"], r["start_s"], r["end_s"]) for r in rows] == [
        ("CALL-1002", "agent", 2.5, 6.12), ("CALL-1002", "customer", 6.4, 11.8), ("CALL-1002", "agent", 12.0, 16.5),
    ]


def test_transcribe_job_name_and_supervisor_as_agent() -> None:
    rows = get_format("aws-call-analytics").read(DATA / "transcribe_job.json").table.to_pylist()
    assert {r["call_id"] for r in rows} == {"CALL-1003"}
    assert [r["speaker"] for r in rows] == ["agent", "customer", "agent"]


@pytest.mark.parametrize(("name", "field", "words"), [
    ("truncated.json", None, "not valid JSON"),
    ("unknown_role.json", "speaker", "SPEAKER_1"),
])
def test_transcribe_malformed_goes_to_rejects(name: str, field: str | None, words: str) -> None:
    out = get_format("aws-call-analytics").read(DATA / name)
    assert out.table.num_rows == 0 and out.units_read == 1
    (rej,) = out.rejects
    assert rej.field == field and words in rej.reason


def test_transcribe_wrong_format_is_input_error(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"results": {"transcripts": []}}))
    with pytest.raises(InputError, match="no top-level 'Transcript'"):
        get_format("aws-call-analytics").read(p)


def test_ingest_loads_good_files_and_rejects_bad_ones(wh: Warehouse) -> None:
    good = [("teams_call.vtt", "webvtt"), ("zoom_style.vtt", "webvtt"),
            ("contact_lens_1002.json", "aws-call-analytics"), ("transcribe_job.json", "aws-call-analytics")]
    for name, fmt in good:
        res = ingest_file(wh, "transcripts", DATA / name, fmt=fmt)
        assert (res.loaded, res.rejected) == (1, 0), (name, res.top_reasons)
    turns = wh.con.execute("SELECT call_id, count(*) FROM transcripts GROUP BY 1 ORDER BY 1").fetchall()
    assert turns == [("CALL-1001", 4), ("CALL-1002", 3), ("CALL-1003", 3), ("zoom_style", 3)]
    bad = [("negative_time.json", "aws-call-analytics"), ("unknown_role.json", "aws-call-analytics"),
           ("unknown_speaker.vtt", "webvtt"), ("overlap.vtt", "webvtt")]
    for name, fmt in bad:
        res = ingest_file(wh, "transcripts", DATA / name, fmt=fmt)
        assert (res.loaded, res.rejected) == (0, 1), name
    reasons = [r[0] for r in wh.con.execute("SELECT reason FROM rejects WHERE record = 'transcripts'").fetchall()]
    assert len(reasons) == 4
    # overlap.vtt names CALL-1001, which was loaded: the bad re-delivery must not replace it
    assert wh.con.execute("SELECT count(*) FROM transcripts WHERE call_id = 'CALL-1001'").fetchone() == (4,)


_name = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu")), min_size=1, max_size=8)
_text = st.text(alphabet=st.characters(blacklist_characters="<>&\n\r", blacklist_categories=("Cs", "Cc")),
                min_size=1, max_size=40).filter(lambda s: s.strip() and "-->" not in s)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cues=st.lists(st.tuples(st.sampled_from(["agent", "customer"]), _name, _text,
                               st.integers(0, 3_000_000), st.integers(1, 60_000)), min_size=1, max_size=12))
def test_webvtt_round_trip_property(tmp_path: Path, cues: list[tuple[str, str, str, int, int]]) -> None:
    """Any cue list written as WebVTT reads back with the same roles, times and text."""

    def ts(ms: int) -> str:
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    body = ["WEBVTT", ""]
    for role, name, text, start, length in cues:
        body += [f"{ts(start)} --> {ts(start + length)}", f"<v.{role} {name}>{text}</v>", ""]
    path = tmp_path / "prop.vtt"
    path.write_text("\n".join(body), encoding="utf-8")
    rows = get_format("webvtt").read(path).table.to_pylist()
    assert [r["speaker"] for r in rows] == [c[0] for c in cues]
    assert [r["text"] for r in rows] == [" ".join(c[2].split()) for c in cues]
    assert [round(r["start_s"] * 1000) for r in rows] == [c[3] for c in cues]
    assert [round(r["end_s"] * 1000) for r in rows] == [c[3] + c[4] for c in cues]


def test_transcript_without_a_call_is_rejected(tmp_path: Path) -> None:
    w = Warehouse(tmp_path / "empty.duckdb")
    res = ingest_file(w, "transcripts", DATA / "teams_call.vtt", fmt="webvtt")
    assert (res.loaded, res.rejected) == (0, 1)
    (reason,) = w.con.execute("SELECT reason FROM rejects").fetchall()[0]
    assert "CALL-1001" in reason or "call" in reason.lower()
    w.close()
