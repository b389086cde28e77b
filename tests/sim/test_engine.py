"""The engines: exact agreement of the fast path with the event engine, invariants, records."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeloop.errors import SimulationError
from closeloop.model import CALLS, allowed_outcomes
from closeloop.sim.outcomes import switch_counts
from closeloop.sim.runner import replicate, run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario
from closeloop.sim.traffic import ABANDONED, SERVED, WAITING
from tests.sim.conftest import blended, single_queue


def _sorted(t: pa.Table) -> list[dict]:
    return sorted(t.to_pylist(), key=lambda r: r["call_id"])


def test_fast_path_equals_event_engine_record_for_record() -> None:
    s = blended(days=2)
    fast = run_once(s, engine="fast")
    event = run_once(s, engine="event")
    assert fast.engine == "fast" and event.engine == "event"
    a, b = _sorted(fast.calls()), _sorted(event.calls())
    assert len(a) > 2000
    assert a == b
    # the blend really moved agents, and retries / redials happened
    assert any("-r" in r["call_id"] for r in a)


def test_same_seed_same_records_and_other_seed_differs() -> None:
    s = blended()
    one, two = run_once(s, seed=11).calls(), run_once(s, seed=11).calls()
    assert one.equals(two)
    assert not one.equals(run_once(s, seed=12).calls())


def test_records_have_the_canonical_schema_and_allowed_outcomes() -> None:
    t = run_once(blended()).calls()
    assert t.schema == CALLS.arrow_schema()
    for r in t.to_pylist():
        answered = r["answered_at"] is not None
        assert r["outcome"] in allowed_outcomes(r["call_type"], answered, r["direction"])
        assert (r["agent_id"] is not None) == answered
        assert r["ended_at"] >= r["offered_at"]
        if answered:
            assert r["answered_at"] >= r["offered_at"] and r["ended_at"] >= r["answered_at"]
        assert (r["order_value"] is not None) == (r["outcome"] == "sale")
    assert {r["lead_id"] is not None for r in t.to_pylist() if r["direction"] == "outbound"} == {True}


def test_common_random_numbers_give_two_policies_the_same_callers() -> None:
    s = blended()
    a = run_once(s, "sticky_blend").jobs
    b = run_once(s, "global_order", params={}).jobs
    n = a.n_fresh
    assert b.n_fresh == n
    assert a.arrive[:n] == b.arrive[:n] and a.patience[:n] == b.patience[:n]


def test_fast_path_refused_for_multi_skill_policy() -> None:
    s = blended(policy="global_order")
    with pytest.raises(SimulationError):
        run_once(s, engine="fast")


@pytest.mark.parametrize("engine", ["fast", "event"])
def test_simulator_matches_erlang_c(engine: str) -> None:
    from closeloop.sim.erlang import erlang_c_figures

    days = 12.0 if engine == "fast" else 3.0
    s = single_queue(agents=10, calls_per_hour=108.0, aht=300.0, days=days)  # load 9, 90% occupancy
    r = run_once(s, engine=engine)
    j = r.jobs
    arrive, answer = np.asarray(j.arrive), np.asarray(j.answer)
    keep = (arrive > 3600) & (np.asarray(j.status) == SERVED)  # discard the first hour (warm-up)
    wait = (answer - arrive)[keep]
    exact = erlang_c_figures(10, 108 / 3600, 300, 20)
    n = keep.sum()
    # waits are strongly correlated in a 90% loaded queue: allow several binomial standard errors
    tol = 6 * math.sqrt(exact.p_wait * (1 - exact.p_wait) / n) * (4 if engine == "fast" else 6)
    assert (wait > 0).mean() == pytest.approx(exact.p_wait, abs=tol)
    assert (wait <= 20).mean() == pytest.approx(exact.service_level, abs=tol)
    assert wait.mean() == pytest.approx(exact.asa, rel=0.25 if engine == "fast" else 0.4)


def test_simulator_matches_erlang_a() -> None:
    from closeloop.sim.erlang import erlang_a_figures

    s = single_queue(agents=10, calls_per_hour=120.0, aht=300.0, patience=180.0, days=15)
    reps = [run_once(s, seed=k) for k in range(3)]
    exact = erlang_a_figures(10, 120 / 3600, 300, 180, 20)
    ab = [r.stats["care_in"]["abandonment"] for r in reps]
    sl = [r.stats["care_in"]["service_level"] for r in reps]
    assert sum(a for a, _ in ab) / sum(n for _, n in ab) == pytest.approx(exact.abandonment, abs=0.01)
    assert sum(a for a, _ in sl) / sum(n for _, n in sl) == pytest.approx(exact.service_level, abs=0.02)


def _check_invariants(s: Scenario, engine: str) -> None:
    r = run_once(s, engine=engine)
    j = r.jobs
    status = np.asarray(j.status)
    inbound = ~np.asarray(r.world.outbound, dtype=bool)[np.asarray(j.q, dtype=np.int64)]
    # conservation: every inbound attempt is answered, abandoned or still waiting
    ib = status[inbound]
    assert len(ib) == (ib == SERVED).sum() + (ib == ABANDONED).sum() + (ib == WAITING).sum()
    for qname, row in r.stats.items():
        if qname != "all" and "abandonment" in row:
            assert row["offered"] >= row["answered"] + row["abandonment"][0] - row["answered"]
    # waits are never negative; no agent on two calls at once; skills respected
    busy: dict[int, list[tuple[float, float]]] = {}
    for k in range(len(j.q)):
        if j.status[k] == SERVED and inbound[k]:
            assert j.answer[k] >= j.arrive[k] - 1e-9
        if j.agent[k] >= 0:
            busy.setdefault(j.agent[k], []).append((j.start[k], j.end[k] + (j.wrap[k] if j.status[k] == SERVED
                                                                             else 0.0)))
            agent = s.agents[j.agent[k]]
            assert agent.skills.get(r.world.qdefs[j.q[k]].skill, 0) >= 1
    for spans in busy.values():
        spans.sort()
        for (_, e1), (s2, _) in pairwise(spans):
            assert s2 >= e1 - 1e-6


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    n_agents = draw(st.integers(1, 8))
    agents = []
    for i in range(n_agents):
        skills = draw(st.dictionaries(st.sampled_from(["sales", "care"]), st.integers(1, 10), min_size=1))
        agents.append(Agent(f"a{i}", "c", skills))
    queues = [
        QueueSpec("s", call_type="sales", rate_per_hour=draw(st.floats(0, 80)), patience_mean_s=draw(
            st.sampled_from([0.0, 60.0, 300.0])), retrial_prob=draw(st.sampled_from([0.0, 0.5])), priority=1),
        QueueSpec("c", call_type="care", rate_per_hour=draw(st.floats(0, 80)), patience_mean_s=60.0),
    ]
    have = {k for a in agents for k in a.skills}
    for q in queues:
        if q.call_type not in have:
            q.rate_per_hour = 0.0
    # skills no queue needs are a scenario mistake; both skills are needed here
    return Scenario(days=0.25, seed=draw(st.integers(0, 10**6)), centers=[Center("c")], queues=queues,
                    agents=agents, policy=draw(st.sampled_from(["global_order", "longest_idle", "best_skill",
                                                                "skill_expansion"])))


@given(scenarios())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_invariants_hold_for_random_scenarios(s: Scenario) -> None:
    _check_invariants(s, "event")


def test_invariants_hold_on_the_blended_scenario() -> None:
    _check_invariants(blended(), "fast")


def test_switch_counts() -> None:
    agent = np.array([0, 0, 0, 0, 1, 1, 0])
    start = np.array([1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 5.0])
    care = np.array([False, True, False, False, False, False, True])
    # agent 0: sales (no care before: -1), care, sales (0 since care), sales (1), care
    assert switch_counts(agent, start, care).tolist() == [-1, -1, 0, 1, -1, -1, 2]


def test_switch_penalty_lowers_close_rate_of_pulled_care_agents() -> None:
    s = blended(days=3)
    s.outcomes.switch_penalty = 3.0
    r = run_once(s)
    pen = r.outcomes.penalty
    code = r.outcomes.code
    hit = pen > 1.0
    assert hit.sum() > 20
    assert (code[hit] == 0).mean() < (code[(pen == 0) & (code >= 0) & (code <= 2)] == 0).mean()


def test_replications_in_parallel_give_intervals() -> None:
    reps = replicate(single_queue(days=0.5), replications=3, workers=2)
    est = reps.summary["care_in"]["service_level"]
    assert est.lo <= est.value <= est.hi
    again = replicate(single_queue(days=0.5), replications=3, workers=1)
    assert again.summary["care_in"]["service_level"] == est
