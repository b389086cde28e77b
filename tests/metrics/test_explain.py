"""Mode switching and volume-vs-conversion on the hand fixture and a planted volume pattern."""

from datetime import UTC, datetime, timedelta

import pytest

from closeloop.errors import InputError
from closeloop.metrics import Conventions, Tables
from closeloop.metrics.explain import gap_analysis, mode_switching, volume_vs_conversion
from closeloop.model import AGENTS, CALLS, CENTERS, LEADS
from closeloop.warehouse import Warehouse
from tests.metrics.fixtures import CENTER_ROWS, load, small_warehouse


@pytest.fixture(scope="module")
def tables():
    wh = small_warehouse()
    yield Tables.from_backend(wh.ibis())
    wh.close()


def test_previous_call_and_run_position_by_hand(tables):
    out = mode_switching(tables, Conventions())
    prev = {r["previous"]: (r["calls"], r["sales"]) for r in out["previous"]}
    # c1, c5 start a shift; c2 follows A1's sales call c1; c9 follows A3's care call c7 (57 min idle)
    assert prev == {"none": (2, 2), "sales": (1, 0), "care": (1, 1)}
    pos = {r["position"]: (r["calls"], r["sales"]) for r in out["position"]}
    assert pos == {"1": (3, 3), "2": (1, 0)}
    assert out["care_vs_sales"][0]["difference"] == pytest.approx(1.0)


def test_a_short_break_threshold_makes_c9_a_fresh_start(tables):
    prev = {r["previous"]: r["calls"] for r in mode_switching(tables, Conventions(), break_minutes=30)["previous"]}
    assert prev == {"none": 3, "sales": 1}


def test_volume_flags_cherry_pickers():
    wh = Warehouse()
    load(wh, "centers", CENTER_ROWS[:1], CENTERS.arrow_schema())
    agents = [{"agent_id": f"A{i}", "center_id": "C1", "skills": "sales:5", "team": "T"} for i in range(5)]
    load(wh, "agents", agents, AGENTS.arrow_schema())
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    calls, leads = [], []
    plan = {"A0": (20, 12), "A1": (100, 20), "A2": (100, 22), "A3": (100, 18), "A4": (100, 21)}
    for agent, (n, sold) in plan.items():
        for i in range(n):
            lead = f"{agent}-{i}"
            leads.append({"lead_id": lead, "created_at": t0, "source": "web"})
            start = t0 + timedelta(minutes=i)
            calls.append({"call_id": lead, "center_id": "C1", "queue": "s", "direction": "outbound",
                          "call_type": "sales", "offered_at": start, "answered_at": start,
                          "ended_at": start + timedelta(minutes=1), "agent_id": agent, "lead_id": lead,
                          "outcome": "sale" if i < sold else "no_sale"})
    load(wh, "leads", leads, LEADS.arrow_schema())
    load(wh, "calls", calls, CALLS.arrow_schema())
    rows = {r["agent_id"]: r for r in volume_vs_conversion(Tables.from_backend(wh.ibis()), Conventions())}
    assert rows["A0"]["flag"] == "high close, low volume"
    assert rows["A0"]["leads_touched"] == 20 and rows["A0"]["close_rate"] == pytest.approx(0.6)
    assert all(rows[a]["flag"] is None for a in ("A1", "A2", "A3", "A4"))
    assert rows["A1"]["contacts_per_sale"] == pytest.approx(5.0)


def test_gap_errors_are_actionable(tables):
    with pytest.raises(InputError, match="C1, C2"):
        gap_analysis(tables, Conventions(), "center_id", "C1", "C9", ("source",))
    with pytest.raises(InputError, match="adjust for"):
        gap_analysis(tables, Conventions(), "center_id", "C1", "C2", ())
