"""The Asterisk queue_log adapter: every mapping rule of docs/formats.md on realistic logs."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.errors import InputError
from closeloop.ingest import ingest_files
from closeloop.ingest.formats import get_format
from closeloop.ingest.formats.asterisk import REASON_NO_END, REASON_NO_START, AsteriskQueueLog, normalise_agent
from closeloop.warehouse import Warehouse

DATA = Path(__file__).resolve().parents[1] / "data" / "asterisk"
LOG, ROTATED = DATA / "queue_log", DATA / "queue_log.rotated"


def utc(epoch: int) -> str:
    """How the adapter writes a queue_log epoch."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()


@pytest.fixture(scope="module")
def sample() -> tuple[dict[str, dict], list, AsteriskQueueLog]:
    adapter = AsteriskQueueLog()
    out = adapter.read(LOG)
    return {r["call_id"]: r for r in out.table.to_pylist()}, out.rejects, adapter


def test_registered_under_its_name() -> None:
    adapter = get_format("asterisk-queue-log")
    assert isinstance(adapter, AsteriskQueueLog) and adapter.record == "calls"


def test_every_call_and_every_bad_line_is_accounted_for() -> None:
    out = AsteriskQueueLog().read(LOG)
    assert out.units_read == 13  # 11 callids + 2 lines that are not queue_log lines
    assert out.table.num_rows + len(out.rejects) == out.units_read


def test_answered_care_call(sample: tuple) -> None:
    r = sample[0]["1700000000.101"]
    assert (r["center_id"], r["queue"], r["direction"], r["call_type"]) == ("asterisk", "support", "inbound", "care")
    assert (r["offered_at"], r["answered_at"], r["ended_at"]) == (utc(1700000000), utc(1700000010), utc(1700000195))
    assert r["offered_at"].endswith("+00:00")
    assert (r["agent_id"], r["outcome"], r["hold_s"], r["end_event"]) == ("1001", "resolved", "0", "COMPLETECALLER")
    assert (r["transferred"], r["ring_no_answer"], r["caller_id"]) == ("false", "0", "+15551230001")
    assert r["__line"] == 10
    assert r["__raw"].splitlines() == [
        line for line in LOG.read_text().splitlines() if line.split("|")[1:2] == ["1700000000.101"]]


def test_sales_queue_rings_before_answer_are_counted(sample: tuple) -> None:
    r = sample[0]["1700000030.103"]
    assert (r["call_type"], r["outcome"], r["agent_id"]) == ("sales", "no_sale", "2003")
    assert r["ring_no_answer"] == "2"
    assert (r["answered_at"], r["ended_at"]) == (utc(1700000066), utc(1700000306))


@pytest.mark.parametrize(
    ("callid", "end_event", "ended"),
    [
        ("1700000200.105", "ABANDON", 1700000245),
        ("1700000300.106", "EXITWITHTIMEOUT", 1700000600),
        ("1700001000.111", "EXITWITHKEY", 1700001040),
        ("1700001100.112", "EXITEMPTY", 1700001103),
    ],
)
def test_unanswered_calls_are_abandoned(sample: tuple, callid: str, end_event: str, ended: int) -> None:
    r = sample[0][callid]
    assert (r["outcome"], r["answered_at"], r["agent_id"], r["end_event"]) == ("abandoned", None, None, end_event)
    assert r["ended_at"] == utc(ended)


@pytest.mark.parametrize(
    ("callid", "event", "kind", "outcome"),
    [("1700000700.107", "TRANSFER", "care", "resolved"), ("1700000900.109", "BLINDTRANSFER", "sales", "no_sale")],
)
def test_transfers_count_as_handled(sample: tuple, callid: str, event: str, kind: str, outcome: str) -> None:
    r = sample[0][callid]
    assert (r["transferred"], r["end_event"], r["call_type"], r["outcome"]) == ("true", event, kind, outcome)
    assert r["answered_at"] is not None and r["agent_id"] is not None


def test_overflow_call_keeps_first_offer_and_answering_queue(sample: tuple) -> None:
    r = sample[0]["1700001200.113"]
    assert (r["queue"], r["queue_entries"], r["end_event"]) == ("overflow", "2", "COMPLETEAGENT")
    assert (r["offered_at"], r["answered_at"]) == (utc(1700001200), utc(1700001530))


def test_bad_lines_and_cut_off_calls_are_rejected(sample: tuple) -> None:
    rejects = {r.line: r for r in sample[1]}
    assert set(rejects) == {39, 40, 41, 44}
    assert rejects[39].raw == "this line was written by a log rotation script" and "found 1" in rejects[39].reason
    assert (rejects[40].field, rejects[40].reason) == ("epoch", "not a Unix time: 'abc'")
    assert rejects[41].reason == REASON_NO_END and rejects[41].raw.count("\n") == 1  # ENTERQUEUE + CONNECT
    assert rejects[44].reason == REASON_NO_END


def test_queue_and_agent_events_are_skipped_and_counted(sample: tuple) -> None:
    assert dict(sample[2].skipped_events) == {
        "QUEUESTART": 1, "ADDMEMBER": 5, "AGENTLOGIN": 1, "PAUSEALL": 1, "PAUSE": 1, "UNPAUSE": 1, "CONFIGRELOAD": 1}


def test_log_starting_mid_call_derives_start_from_hold_and_call_times() -> None:
    out = AsteriskQueueLog().read(ROTATED)
    rows = {r["call_id"]: r for r in out.table.to_pylist()}
    assert (rows["1700002900.201"]["offered_at"], rows["1700002900.201"]["answered_at"]) == (
        utc(1700003000 - 40), utc(1700003000))
    assert rows["1700002900.201"]["agent_id"] == "agent-7"
    assert rows["1700002950.203"]["offered_at"] == utc(1700003100 - 150)  # ABANDON waittime
    assert rows["1700003200.204"]["offered_at"] == rows["1700003200.204"]["ended_at"]  # JOINEMPTY
    transfer = rows["1700003250.205"]  # ATTENDEDTRANSFER with no CONNECT: answered = end - calltime
    assert (transfer["answered_at"], transfer["transferred"], transfer["agent_id"]) == (
        utc(1700003400 - 75), "true", "1001")
    [reject] = out.rejects
    assert (reject.line, reject.reason) == (8, REASON_NO_START)


@pytest.mark.parametrize(
    ("member", "agent"),
    [
        ("SIP/1001", "1001"), ("PJSIP/1001", "1001"), ("IAX2/1001", "1001"), ("Agent/3001", "3001"),
        ("Local/2003@from-queue/n", "2003"), ("PJSIP/agent-7@internal", "agent-7"), ("Jane Doe", "Jane Doe"),
        ("NONE", None), ("", None),
    ],
)
def test_agent_ids_drop_technology_and_context(member: str, agent: str | None) -> None:
    assert normalise_agent(member) == agent


def test_call_type_mapping_overrides_the_name_rule() -> None:
    adapter = AsteriskQueueLog(center_id="manila", call_type_by_queue={"support": "sales", "sales-inbound": "care"})
    rows = {r["call_id"]: r for r in adapter.read(LOG).table.to_pylist()}
    assert rows["1700000000.101"]["call_type"] == "sales" and rows["1700000000.101"]["outcome"] == "no_sale"
    assert rows["1700000030.103"]["call_type"] == "care" and rows["1700000030.103"]["outcome"] == "resolved"
    assert rows["1700000900.109"]["call_type"] == "sales"  # "Sales Callbacks": not mapped, name rule applies
    assert {r["center_id"] for r in rows.values()} == {"manila"}
    with pytest.raises(InputError, match="'support'"):
        AsteriskQueueLog(call_type_by_queue={"support": "billing"})


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    gz = tmp_path / "queue_log.gz"
    gz.write_bytes(gzip.compress(LOG.read_bytes()))
    assert AsteriskQueueLog().read(gz).table.equals(AsteriskQueueLog().read(LOG).table)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"call_id,center_id,queue\nC1,AUS,sales\nC2,AUS,care\n", "not an Asterisk queue_log"),
        (b"\x1f\x8bnot really gzip", "damaged gzip"),
        (bytes(range(256)) * 4, r"binary data, not text \(Asterisk queue_log expected\)"),
    ],
)
def test_other_files_are_refused_naming_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "other.log"
    path.write_bytes(content)
    with pytest.raises(InputError, match=problem) as err:
        AsteriskQueueLog().read(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text", ["\n", "1699999000|NONE|NONE|NONE|QUEUESTART|\n1699999001|NONE|q|SIP/1|ADDMEMBER|\n"])
def test_log_without_calls_is_empty_not_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "queue_log"
    path.write_text(text)
    adapter = AsteriskQueueLog()
    out = adapter.read(path)
    assert (out.units_read, out.table.num_rows, out.rejects) == (0, 0, [])
    assert sum(adapter.skipped_events.values()) == len(text.split())


CALL_SHAPES = {  # event texts, and each event's offset from ENTERQUEUE given (wait, talk)
    "answered": (["ENTERQUEUE||{cid}|1", "RINGNOANSWER|15000", "CONNECT|{w}|x.1|2", "COMPLETECALLER|{w}|{t}|1"],
                 lambda w, t: [0, w // 2, w, w + t]),
    "transfer": (["ENTERQUEUE||{cid}|1", "CONNECT|{w}|x.1|2", "TRANSFER|200|ctx|{w}|{t}|1"],
                 lambda w, t: [0, w, w + t]),
    "abandon": (["ENTERQUEUE||{cid}|1", "ABANDON|1|1|{w}"], lambda w, t: [0, w]),
    "timeout": (["ENTERQUEUE||{cid}|1", "EXITWITHTIMEOUT|1|1|{w}"], lambda w, t: [0, w]),
    "cut": (["ENTERQUEUE||{cid}|1", "CONNECT|{w}|x.1|2"], lambda w, t: [0, w]),
}


@settings(max_examples=40, deadline=None)
@given(
    calls=st.lists(
        st.tuples(st.sampled_from(sorted(CALL_SHAPES)), st.integers(0, 600), st.integers(1, 3600)), max_size=12),
    noise=st.lists(st.sampled_from(["PAUSE|", "ADDMEMBER|", "QUEUESTART|"]), max_size=5),
    garbage=st.integers(0, 2),
    rng=st.randoms(use_true_random=False),
)
def test_interleaved_calls_are_counted_and_ordered(
    tmp_path_factory: pytest.TempPathFactory, calls: list, noise: list, garbage: int, rng
) -> None:
    """Whatever the interleaving: units add up, no-end calls are rejected, times are ordered."""
    per_call: dict[str, list[str]] = {}
    for i, (shape, wait, talk) in enumerate(calls):
        t0, cid = 1_700_000_000 + 1000 * i, f"{1_700_000_000 + i}.{i}"
        events, offsets = CALL_SHAPES[shape]
        per_call[cid] = [f"{t0 + dt}|{cid}|support|SIP/10{i % 3}|{ev.format(cid='+1555', w=wait, t=talk)}"
                         for dt, ev in zip(offsets(wait, talk), events, strict=True)]
    slots = [cid for cid, lines in per_call.items() for _ in lines] + ["noise"] * len(noise)
    rng.shuffle(slots)  # calls interleave in any order; each call's own events stay in order
    noise_lines = iter(f"1700000000|NONE|support|SIP/101|{n}" for n in noise)
    text = [next(noise_lines) if c == "noise" else per_call[c].pop(0) for c in slots] + ["garbage line"] * garbage
    path = tmp_path_factory.mktemp("q") / "queue_log"
    path.write_text("\n".join(text) + "\n")
    adapter = AsteriskQueueLog()
    if garbage > len(text) - garbage:  # mostly not queue_log lines: refused as the wrong format
        with pytest.raises(InputError, match="not an Asterisk queue_log"):
            adapter.read(path)
        return
    out = adapter.read(path)
    assert out.units_read == len(calls) + garbage == out.table.num_rows + len(out.rejects)
    assert sum(r.reason == REASON_NO_END for r in out.rejects) == sum(shape == "cut" for shape, _, _ in calls)
    assert sum(adapter.skipped_events.values()) == len(noise)
    for r in out.table.to_pylist():
        offered, ended = datetime.fromisoformat(r["offered_at"]), datetime.fromisoformat(r["ended_at"])
        assert offered <= ended
        if r["answered_at"]:
            assert offered <= datetime.fromisoformat(r["answered_at"]) <= ended


def test_sample_logs_ingest_end_to_end(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    try:
        results = ingest_files(wh, "calls", [LOG, ROTATED], fmt="asterisk-queue-log")
        assert [(r.rows_read, r.loaded, r.rejected) for r in results] == [(13, 9, 4), (5, 4, 1)]
        assert wh.count("calls") == 13
        row = wh.con.execute(
            "SELECT agent_id, outcome, transferred, ring_no_answer FROM calls WHERE call_id = '1700000030.103'"
        ).fetchone()
        assert row == ("2003", "no_sale", "false", "2")
    finally:
        wh.close()
