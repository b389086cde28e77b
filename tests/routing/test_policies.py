"""Policy behaviour: pure decisions on a RouterState, and properties checked during whole runs."""

from __future__ import annotations

import itertools

import pytest

from closeloop.model import CallType, Direction
from closeloop.routing import (
    AgentDef,
    Assign,
    BestSkill,
    ChangeMode,
    Contact,
    GlobalOrder,
    LongestIdle,
    PolicyParamError,
    QueueDef,
    RouterState,
    StickyBlend,
    ThresholdDialer,
    Timer,
    make_policy,
)
from closeloop.sim.runner import run_once
from tests.sim.conftest import blended

Q = [QueueDef("a", CallType.SALES, Direction.INBOUND, "sales", priority=1),
     QueueDef("b", CallType.CARE, Direction.INBOUND, "care", priority=1),
     QueueDef("vip", CallType.SALES, Direction.INBOUND, "sales", priority=5)]


def _state(agents: list[AgentDef], policy=None) -> RouterState:  # type: ignore[no-untyped-def]
    st = RouterState(Q, agents, policy.modes if policy else None)
    for a in st.agents:
        a.on_shift = True
        st.mark_idle(a, 0.0)
    return st


def test_longest_idle_agent_gets_the_call() -> None:
    p = LongestIdle()
    p.setup(Q, [])
    st = _state([AgentDef("x", "c", {"sales": 5}), AgentDef("y", "c", {"sales": 9})])
    st.mark_busy(st.agent("x"))
    st.mark_idle(st.agent("x"), 10.0)  # x became idle after y
    c = Contact(1, "a", 11.0)
    st.add_contact(c)
    assert p.on_arrival(st, c) == [Assign(c, "y")]


def test_best_skill_prefers_proficiency() -> None:
    p = BestSkill()
    p.setup(Q, [])
    st = _state([AgentDef("x", "c", {"sales": 5}), AgentDef("y", "c", {"sales": 9})])
    c = Contact(1, "a", 1.0)
    st.add_contact(c)
    assert p.on_arrival(st, c) == [Assign(c, "y")]


def test_global_order_across_queues_priority_then_age() -> None:
    p = GlobalOrder()
    p.setup(Q, [])
    st = _state([AgentDef("x", "c", {"sales": 5, "care": 5})])
    x = st.agent("x")
    st.mark_busy(x)
    old_b, new_a = Contact(1, "b", 1.0, 1), Contact(2, "a", 5.0, 1)
    for c in (new_a, old_b):
        st.add_contact(c)
    st.mark_idle(x, 9.0)
    assert p.on_agent_free(st, x) == [Assign(old_b, "x")]  # older, same priority, other queue
    vip = Contact(3, "vip", 8.0, 5)
    st.add_contact(vip)
    assert p.on_agent_free(st, x) == [Assign(vip, "x")]  # higher priority beats age
    # the per-queue ACD serves its first queue first, however long queue b has waited
    li = LongestIdle()
    li.setup(Q, [])
    st.remove_contact(vip)
    assert li.on_agent_free(st, x) == [Assign(new_a, "x")]


def test_sticky_blend_pulls_with_hysteresis_and_dwell() -> None:
    p = StickyBlend(min_dwell_s=600, review_s=60,
                    pulls=[{"from": "b", "to": "a", "start_waiting": 3, "stop_waiting": 1, "step": 5}])
    p.setup(Q, [])
    agents = [AgentDef(f"c{i}", "x", {"care": 5, "sales": 4}, "b") for i in range(3)]
    st = _state(agents, p)
    for k in range(3):
        st.add_contact(Contact(k, "a", 0.0))
    st.now = 100.0  # dwell not yet met (modes started at 0)
    assert p.on_timer(st, Timer("review")) == []
    st.now = 700.0
    moves = p.on_timer(st, Timer("review"))
    assert moves == [ChangeMode(f"c{i}", "a") for i in range(3)]
    for m in moves:
        st.set_mode(st.agent(m.agent_id), m.mode, st.now)
    # 2 waiting: between the thresholds, nobody moves (hysteresis)
    st.remove_contact(next(st.waiting("a")))
    st.now = 2000.0
    assert p.on_timer(st, Timer("review")) == []
    # 1 waiting: agents go home, but only after their dwell in sales
    st.remove_contact(next(st.waiting("a")))
    st.now = 1000.0
    assert p.on_timer(st, Timer("review")) == []
    st.now = 1400.0
    assert p.on_timer(st, Timer("review")) == [ChangeMode(f"c{i}", "b") for i in range(3)]


@pytest.mark.parametrize(("name", "params", "key"), [
    ("sticky_blend", {"min_dwell_s": -1}, "min_dwell_s"),
    ("threshold_dialer", {"min_idle": 0}, "min_idle"),
    ("threshold_dialer", {"pacing_ratio": 9.0}, "pacing_ratio"),
    ("skill_expansion", {"expanded_level": 9, "initial_level": 5}, "expanded_level"),
    ("global_order", {"nope": 1}, "nope"),
    ("no_such_policy", {}, "policy"),
])
def test_bad_parameters_are_named(name: str, params: dict, key: str) -> None:
    with pytest.raises(PolicyParamError) as err:
        make_policy(name, **params)
    assert err.value.key == key


def test_sticky_mode_honours_dwell_time_in_a_whole_run() -> None:
    changes: dict[str, list[float]] = {}

    class Spy(StickyBlend):
        def on_timer(self, state, timer):  # type: ignore[no-untyped-def]
            out = super().on_timer(state, timer)
            for d in out:
                a = state.agent(d.agent_id)
                changes.setdefault(d.agent_id, []).append(state.now)
                assert state.now - a.mode_since >= self.p["min_dwell_s"]
            return out

    s = blended(days=2)
    run_once(s, Spy(**s.policy_params), engine="event")
    assert sum(len(v) for v in changes.values()) >= 4
    for times in changes.values():
        assert all(b - a >= 600.0 for a, b in itertools.pairwise(times))


def test_threshold_dialer_never_dials_while_an_inbound_call_waits() -> None:
    dials = []

    class Spy(ThresholdDialer):
        def _dial(self, state):  # type: ignore[no-untyped-def]
            out = super()._dial(state)
            inbound_waiting = sum(state.waiting_count(q) for q, d in self.queues.items() if not d.outbound)
            idle = state.idle_count("sales_out")
            for d in out:
                dials.append(d)
                assert inbound_waiting == 0
                assert idle >= self.p["min_idle"]
            return out

    s = blended(policy="threshold_dialer")
    for a in s.agents:  # blended agents: everyone can dial
        a.skills["outbound"] = 5
    run_once(s, Spy(min_idle=2), engine="event")
    assert len(dials) > 50


def test_predictive_dialer_keeps_drops_near_the_cap() -> None:
    s = blended(policy="threshold_dialer", days=1)
    for a in s.agents:
        a.skills["outbound"] = 5
    r = run_once(s, "threshold_dialer", params={"pacing_ratio": 2.0, "max_abandon_rate": 0.05}, engine="event")
    from closeloop.sim.traffic import DROPPED, SERVED

    out = [k for k in range(len(r.jobs.q)) if r.world.outbound[r.jobs.q[k]]]
    dropped = sum(r.jobs.status[k] == DROPPED for k in out)
    connected = dropped + sum(r.jobs.status[k] == SERVED for k in out)
    assert connected > 100
    assert dropped / connected < 0.10


def test_global_order_holds_in_a_whole_run() -> None:
    checked = []

    class Spy(GlobalOrder):
        def on_agent_free(self, state, agent):  # type: ignore[no-untyped-def]
            out = super().on_agent_free(state, agent)
            for d in out:
                chosen = (-state.queues[d.contact.queue].priority, d.contact.arrived_at)
                for q in agent.serving:
                    for c in state.waiting(q):
                        assert chosen <= (-state.queues[q].priority, c.arrived_at)
                checked.append(d)
            return out

    s = blended(policy="global_order")
    run_once(s, Spy(), engine="event")
    assert len(checked) > 100
