"""Every validation rule: a row breaking it is rejected naming the field; a valid row loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from closeloop.ingest import ingest_file
from closeloop.warehouse import Warehouse

from .conftest import CALL_HEADER, EXAMPLES, call, write_csv

CALL_CASES = [
    # (overrides, field named in the reject, words in the reason)
    ({"call_id": ""}, "call_id", "required"),
    ({"center_id": " "}, "center_id", "required"),
    ({"queue": ""}, "queue", "required"),
    ({"direction": "sideways"}, "direction", "not one of"),
    ({"call_type": "support"}, "call_type", "not one of"),
    ({"offered_at": "yesterday"}, "offered_at", "ISO 8601"),
    ({"offered_at": ""}, "offered_at", "required"),
    ({"answered_at": "2026-13-01T00:00:00"}, "answered_at", "ISO 8601"),
    ({"ended_at": "not a time"}, "ended_at", "ISO 8601"),
    ({"answered_at": "2026-07-01T08:59:00"}, "answered_at", "before it was offered"),
    ({"ended_at": "2026-07-01T08:00:00"}, "ended_at", "before it was offered"),
    ({"ended_at": "2026-07-01T09:00:05"}, "ended_at", "before it was answered"),
    ({"hold_s": "-1"}, "hold_s", "minimum"),
    ({"wrap_s": "abc"}, "wrap_s", "not a number"),
    ({"wrap_s": "inf"}, "wrap_s", "finite"),
    ({"order_value": "-5"}, "order_value", "minimum"),
    ({"csat": "0"}, "csat", "minimum"),
    ({"csat": "6"}, "csat", "maximum"),
    ({"csat": "4.5"}, "csat", "whole number"),
    ({"outcome": "won"}, "outcome", "not one of"),
    ({"outcome": "resolved"}, "outcome", "sales call needs"),
    ({"call_type": "care", "outcome": "sale"}, "outcome", "care call needs"),
    ({"answered_at": "", "outcome": "no_sale"}, "outcome", "unanswered"),
    ({"answered_at": "", "direction": "outbound", "outcome": "abandoned"}, "outcome", "unanswered"),
    ({"agent_id": ""}, "agent_id", "no agent_id"),
]


@pytest.mark.parametrize(("overrides", "field", "words"), CALL_CASES)
def test_call_rule_rejects_naming_field(wh: Warehouse, tmp_path: Path, overrides, field, words) -> None:
    bad = call(**{"call_id": "BAD", **overrides})
    path = write_csv(tmp_path / "calls.csv", [call(call_id="OK1"), bad], CALL_HEADER)
    res = ingest_file(wh, "calls", path)
    assert (res.rows_read, res.loaded, res.rejected) == (2, 1, 1)
    line, got_field, reason, raw = wh.con.execute("SELECT line, field, reason, raw FROM rejects").fetchone()
    assert line == 3
    assert got_field == field
    assert words in reason
    assert raw.split(",")[0] == overrides.get("call_id", "BAD")


@pytest.mark.parametrize(
    "overrides",
    [
        {"answered_at": "", "agent_id": "", "outcome": "abandoned", "hold_s": "", "wrap_s": "", "csat": ""},
        {"answered_at": "", "direction": "outbound", "outcome": "no_answer", "agent_id": "A001"},
        {"call_type": "care", "outcome": "escalated", "lead_id": "", "order_value": ""},
        {"outcome": "callback", "order_value": ""},
        {"direction": "INBOUND", "call_type": " Sales ", "outcome": "SALE"},
        {"offered_at": "2026-07-01 09:00:00", "answered_at": "2026-07-01 09:00:10"},
        {"csat": "4.0"},
    ],
)
def test_valid_variants_load(wh: Warehouse, tmp_path: Path, overrides) -> None:
    path = write_csv(tmp_path / "calls.csv", [call(**overrides)], CALL_HEADER)
    res = ingest_file(wh, "calls", path)
    assert (res.loaded, res.rejected) == (1, 0), wh.con.execute("SELECT reason FROM rejects").fetchall()


def test_enum_values_are_stored_lowercase(wh: Warehouse, tmp_path: Path) -> None:
    ingest_file(wh, "calls", write_csv(tmp_path / "c.csv", [call(direction="INBOUND", outcome="Sale")], CALL_HEADER))
    assert wh.con.execute("SELECT direction, outcome FROM calls").fetchone() == ("inbound", "sale")


def test_offsetless_timestamp_is_read_in_center_timezone(wh: Warehouse, tmp_path: Path) -> None:
    rows = [
        call(call_id="US", center_id="AUS", offered_at="2026-01-15T09:00:00", answered_at="", agent_id="",
             outcome="abandoned", ended_at="2026-01-15T09:01:00"),
        call(call_id="PH", center_id="MNL", offered_at="2026-01-15T09:00:00", answered_at="", agent_id="",
             outcome="abandoned", ended_at="2026-01-15T09:01:00"),
        call(call_id="OFF", center_id="MNL", offered_at="2026-01-15T09:00:00-05:00", answered_at="", agent_id="",
             outcome="abandoned", ended_at="2026-01-15T09:01:00-05:00"),
        call(call_id="UNK", center_id="NOPE", offered_at="2026-01-15T09:00:00", answered_at="", agent_id="",
             outcome="abandoned", ended_at="2026-01-15T09:01:00"),
    ]
    ingest_file(wh, "calls", write_csv(tmp_path / "c.csv", rows, CALL_HEADER), default_timezone="Europe/Paris")
    got = dict(wh.con.execute("SELECT call_id, strftime(offered_at AT TIME ZONE 'UTC', '%H:%M') FROM calls").fetchall())
    # Chicago is UTC-6 in January, Manila UTC+8, explicit offset wins, unknown center -> workspace default (Paris +1).
    assert got == {"US": "15:00", "PH": "01:00", "OFF": "14:00", "UNK": "08:00"}


def test_orphans_are_loaded_and_counted(wh: Warehouse, tmp_path: Path) -> None:
    rows = [call(call_id="X1", center_id="GHOST", agent_id="NOBODY", lead_id="")]
    res = ingest_file(wh, "calls", write_csv(tmp_path / "c.csv", rows, CALL_HEADER))
    assert res.loaded == 1
    assert res.orphans == {"center_id": 1, "agent_id": 1}


@pytest.mark.parametrize(
    ("record", "row", "field", "words"),
    [
        ("centers", {"center_id": "X", "vendor": "v", "country": "ZZ", "timezone": "UTC"}, "country", "ISO 3166"),
        ("centers", {"center_id": "X", "vendor": "v", "country": "usa", "timezone": "UTC"}, "country", "format"),
        ("centers", {"center_id": "X", "vendor": "v", "country": "US", "timezone": "Mars/Base"}, "timezone", "IANA"),
        ("centers", {"center_id": "X", "vendor": "", "country": "US", "timezone": "UTC"}, "vendor", "required"),
        ("agents", {"agent_id": "A", "center_id": "AUS", "skills": "sales=8"}, "skills", "format"),
        ("agents", {"agent_id": "A", "center_id": "AUS", "skills": "sales:11"}, "skills", "format"),
        ("agents", {"agent_id": "A", "center_id": "AUS", "skills": "sales:0"}, "skills", "format"),
        ("agents", {"agent_id": "A", "center_id": "AUS", "skills": ""}, "skills", "required"),
        ("leads", {"lead_id": "L", "created_at": "soon", "source": "web"}, "created_at", "ISO 8601"),
        ("leads", {"lead_id": "L", "created_at": "2026-01-01T08:00:00", "source": ""}, "source", "required"),
    ],
)
def test_other_record_rules(wh: Warehouse, tmp_path: Path, record, row, field, words) -> None:
    res = ingest_file(wh, record, write_csv(tmp_path / f"{record}.csv", [row]))
    assert (res.loaded, res.rejected) == (0, 1)
    got_field, reason = wh.con.execute("SELECT field, reason FROM rejects WHERE record = ?", [record]).fetchone()
    assert got_field == field
    assert words in reason


def test_valid_agents_and_skills(wh: Warehouse, tmp_path: Path) -> None:
    rows = [{"agent_id": "A", "center_id": "AUS", "skills": "sales:8; care:10"}, {"agent_id": "B", "center_id": "AUS",
            "skills": "outbound-sales:1"}]
    res = ingest_file(wh, "agents", write_csv(tmp_path / "a.csv", rows))
    assert (res.loaded, res.rejected) == (2, 0)


def test_orphans_against_loaded_and_empty_tables(wh: Warehouse, tmp_path: Path) -> None:
    """With agents loaded only unknown agents count; with no leads loaded every lead id does."""
    ingest_file(wh, "agents", EXAMPLES / "agents.csv")
    known = wh.con.execute("SELECT min(agent_id) FROM agents").fetchone()[0]
    rows = [call(call_id="K1", agent_id=known, lead_id="L1"), call(call_id="K2", agent_id=known, lead_id="L2"),
            call(call_id="U1", agent_id="NOBODY", lead_id="")]
    res = ingest_file(wh, "calls", write_csv(tmp_path / "c.csv", rows, CALL_HEADER))
    assert res.orphans == {"agent_id": 1, "lead_id": 2}
