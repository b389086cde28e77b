"""A tiny hand-checkable operation: 2 centers, 3 agents, 4 leads, 9 calls (see test_definitions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from closeloop.model import AGENTS, CALLS, CENTERS, LEADS
from closeloop.warehouse import Warehouse


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _call(cid, center, direction, ctype, offered, wait, conn, agent, lead, hold, wrap, outcome, value=None, csat=None):
    t0 = ts(offered)
    answered = t0 + timedelta(seconds=wait) if agent else None
    ended = (answered + timedelta(seconds=conn)) if answered else t0 + timedelta(seconds=wait)
    return {
        "call_id": cid, "center_id": center, "queue": f"{ctype}-q", "direction": direction, "call_type": ctype,
        "offered_at": t0, "answered_at": answered, "ended_at": ended, "agent_id": agent, "lead_id": lead,
        "hold_s": hold, "wrap_s": wrap, "outcome": outcome, "order_value": value, "csat": csat,
    }


CALL_ROWS = [
    _call("c1", "C1", "inbound", "sales", "2024-03-04 12:00:00", 10, 300, "A1", "L1", 20.0, 30.0, "sale", 100.0, 5),
    _call("c2", "C1", "inbound", "sales", "2024-03-04 12:10:00", 30, 240, "A1", "L2", 0.0, 60.0, "no_sale", None, 3),
    _call("c3", "C1", "inbound", "sales", "2024-03-04 12:20:00", 3, 0, None, None, None, None, "abandoned"),
    _call("c4", "C1", "inbound", "sales", "2024-03-04 12:30:00", 60, 0, None, None, None, None, "abandoned"),
    _call("c5", "C1", "outbound", "sales", "2024-03-04 13:00:00", 20, 600, "A2", "L2", 60.0, 0.0, "sale", 200.0),
    _call("c6", "C1", "outbound", "sales", "2024-03-03 17:00:00", 30, 0, None, "L3", None, None, "no_answer"),
    _call("c7", "C2", "inbound", "care", "2024-03-04 14:00:00", 5, 180, "A3", "L4", 0.0, 20.0, "resolved", None, 4),
    _call("c8", "C2", "inbound", "care", "2024-03-06 14:00:00", 25, 120, "A3", "L4", 10.0, 10.0, "unresolved", None, 2),
    _call("c9", "C2", "inbound", "sales", "2024-03-04 15:00:00", 15, 600, "A3", "L3", 0.0, 0.0, "sale", 50.0),
]

CENTER_ROWS = [
    {"center_id": "C1", "vendor": "acme", "country": "PH", "timezone": "Asia/Manila", "name": "Manila"},
    {"center_id": "C2", "vendor": "in-house", "country": "US", "timezone": "America/New_York", "name": "NYC"},
]
AGENT_ROWS = [
    {"agent_id": "A1", "center_id": "C1", "skills": "sales:8", "name": "Ana", "team": "T1", "hired_at": None},
    {"agent_id": "A2", "center_id": "C1", "skills": "sales:6", "name": "Ben", "team": "T1", "hired_at": None},
    {"agent_id": "A3", "center_id": "C2", "skills": "care:7;sales:5", "name": "Cy", "team": None, "hired_at": None},
]
LEAD_ROWS = [
    {"lead_id": "L1", "created_at": ts("2024-03-01 00:00:00"), "source": "web", "name": "a", "phone": "1",
     "email": "a@x", "company": None, "product": "gold", "country": "PH"},
    {"lead_id": "L2", "created_at": ts("2024-03-01 00:00:00"), "source": "list", "name": "b", "phone": "2",
     "email": "", "company": None, "product": "basic", "country": "PH"},
    {"lead_id": "L3", "created_at": ts("2024-03-01 00:00:00"), "source": "web", "name": "c", "phone": "3",
     "email": "c@x", "company": None, "product": "gold", "country": "US"},
    {"lead_id": "L4", "created_at": ts("2024-03-01 00:00:00"), "source": "partner", "name": "d", "phone": "4",
     "email": "d@x", "company": None, "product": "basic", "country": "US"},
]


def load(wh: Warehouse, table: str, rows: list[dict], schema: pa.Schema) -> None:
    """Insert rows into a warehouse table by column name."""
    data = pa.Table.from_pylist(rows, schema=schema)
    wh.con.register("_fixture", data)
    wh.con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _fixture')
    wh.con.unregister("_fixture")


def small_warehouse(path: str = ":memory:") -> Warehouse:
    """A warehouse (in memory by default) holding the hand-checkable operation."""
    wh = Warehouse(path)
    load(wh, "centers", CENTER_ROWS, CENTERS.arrow_schema())
    load(wh, "agents", AGENT_ROWS, AGENTS.arrow_schema())
    load(wh, "leads", LEAD_ROWS, LEADS.arrow_schema())
    load(wh, "calls", CALL_ROWS, CALLS.arrow_schema())
    return wh
