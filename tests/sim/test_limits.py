"""Capacity limits, balking, maximum wait, call-backs and agent selection, against exact results.

Each figure is compared with an exact value — a closed form (M/M/c/K, Erlang B) or the
stationary distribution of the birth–death / retrial Markov chain solved numerically
here — within a tolerance of a few standard errors of the simulated proportion.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeloop.errors import ScenarioError, SimulationError
from closeloop.sim.dists import make
from closeloop.sim.erlang import erlang_b
from closeloop.sim.runner import run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario
from closeloop.sim.scenario_file import parse_scenario
from closeloop.sim.traffic import ABANDONED, BALKED, BLOCKED, MESSAGE, OVERFLOWED, SERVED


def _queue(agents: int, per_hour: float, aht: float, days: float = 4.0, seed: int = 11, **kw: object) -> Scenario:
    return Scenario(
        days=days, seed=seed, centers=[Center("c")], policy="longest_idle",
        queues=[QueueSpec("q", call_type="care", rate_per_hour=per_hour, talk=make("exponential", mean=aht), **kw)],
        agents=[Agent(f"a{i:02d}", "c", {"care": 5}) for i in range(agents)],
    )


def _share(status: np.ndarray, code: int, warm: np.ndarray) -> tuple[float, int]:
    return float((status[warm] == code).mean()), int(warm.sum())


def _close(sim: float, exact: float, n: int, k: float = 5.0) -> bool:
    """Within k binomial standard errors (queue states are correlated in time, hence k = 5)."""
    return abs(sim - exact) < k * math.sqrt(max(exact * (1 - exact), 1e-4) / n)


def test_mmck_blocking_is_the_exact_birth_death_value() -> None:
    c, cap, aht, lam = 3, 3, 30.0, 360.0 / 3600  # K = 6 places in the system, 3 Erlangs offered
    j = run_once(_queue(c, 360.0, aht, capacity=cap)).jobs
    a = lam * aht
    p = np.array([a**n / math.factorial(n) if n <= c else a**c / math.factorial(c) * (a / c) ** (n - c)
                  for n in range(c + cap + 1)])
    p /= p.sum()
    arrive = np.asarray(j.arrive)
    warm = arrive > 600
    sim, n = _share(np.asarray(j.status), BLOCKED, warm)
    assert n > 20_000
    assert _close(sim, float(p[-1]), n)
    # nobody waited while a waiting place was free and an agent was idle: served + blocked is everyone
    assert set(np.asarray(j.status)[warm].tolist()) <= {SERVED, BLOCKED, 0}


def test_trunks_equal_to_agents_give_erlang_b() -> None:
    c, aht = 5, 30.0
    j = run_once(_queue(c, 480.0, aht, trunks=c)).jobs
    warm = np.asarray(j.arrive) > 600
    sim, n = _share(np.asarray(j.status), BLOCKED, warm)
    assert _close(sim, erlang_b(c, 480.0 / 3600 * aht), n)


def test_trunks_are_held_by_waiting_calls_too() -> None:
    """2 agents, 4 lines: the system holds at most 4 calls, i.e. M/M/2/4."""
    j = run_once(_queue(2, 240.0, 30.0, trunks=4)).jobs
    a, c, K = 240.0 / 3600 * 30.0, 2, 4
    p = np.array([a**n / math.factorial(min(n, c)) / c ** max(n - c, 0) for n in range(K + 1)])
    p /= p.sum()
    warm = np.asarray(j.arrive) > 600
    sim, n = _share(np.asarray(j.status), BLOCKED, warm)
    assert _close(sim, float(p[-1]), n)


def _birth_death(c: int, lam: float, mu: float, theta: float, balk: list[float], top: int = 400) -> np.ndarray:
    """Stationary law of the number in system with balking (by queue length) and abandonment."""
    p = [1.0]
    for n in range(top):
        w = max(n - c, 0)
        birth = lam * (1 - (balk[min(w, len(balk) - 1)] if n >= c else 0.0))
        death = min(n + 1, c) * mu + max(n + 1 - c, 0) * theta
        p.append(p[-1] * birth / death)
    arr = np.array(p)
    return arr / arr.sum()


def test_balking_and_abandonment_match_the_birth_death_chain() -> None:
    c, aht, pat, per_hour = 2, 60.0, 120.0, 180.0
    balk = [0.0, 0.2, 0.5, 0.8]
    j = run_once(_queue(c, per_hour, aht, patience=make("exponential", mean=pat), balk_prob=balk, days=6.0)).jobs
    lam, mu, theta = per_hour / 3600, 1 / aht, 1 / pat
    p = _birth_death(c, lam, mu, theta, balk)
    n_ = np.arange(len(p))
    waiting = np.maximum(n_ - c, 0)
    p_balk = float(sum(p[n] * balk[min(waiting[n], len(balk) - 1)] for n in range(c, len(p))))
    p_abandon = float((p * waiting * theta).sum() / lam)
    status = np.asarray(j.status)
    warm = np.asarray(j.arrive) > 1800
    sim_balk, n = _share(status, BALKED, warm)
    sim_ab, _ = _share(status, ABANDONED, warm)
    assert n > 20_000
    assert _close(sim_balk, p_balk, n)
    assert _close(sim_ab, p_abandon, n)


def _retrial_chain(lam: float, mu: float, nu: float, top: int = 400) -> tuple[float, float]:
    """M/M/1 retrial queue (no waiting room, each caller in orbit retries at rate nu):
    P(server busy) and mean orbit size, from the truncated chain's stationary law."""
    size = 2 * (top + 1)
    Q = np.zeros((size, size))

    def i(s: int, k: int) -> int:
        return 2 * k + s

    for k in range(top + 1):
        Q[i(0, k), i(1, k)] += lam
        if k:
            Q[i(0, k), i(1, k - 1)] += k * nu
        Q[i(1, k), i(0, k)] += mu
        if k < top:
            Q[i(1, k), i(1, k + 1)] += lam
    np.fill_diagonal(Q, -Q.sum(axis=1))
    A = np.vstack([Q.T, np.ones(size)])
    b = np.zeros(size + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(A, b, rcond=None)[0]
    busy = float(pi[1::2].sum())
    orbit = float((pi.reshape(-1, 2).sum(axis=1) * np.arange(top + 1)).sum())
    return busy, orbit


def test_unlimited_call_backs_match_the_mm1_retrial_queue() -> None:
    aht, per_hour, delay = 40.0, 60.0, 60.0
    s = _queue(1, per_hour, aht, days=10.0, capacity=0, retrial_prob=1.0, max_retrials=-1,
               retrial_delay=make("exponential", mean=delay))
    j = run_once(s).jobs
    lam = per_hour / 3600
    busy, orbit = _retrial_chain(lam, 1 / aht, 1 / delay)
    att, root = np.asarray(j.att), np.asarray(j.root)
    arrive0 = np.asarray(j.arrive)[: j.n_fresh]
    early = arrive0 < 9 * 86400  # callers whose call-backs all fall inside the run
    first = (att == 0) & (np.asarray(j.arrive) > 1800) & np.isin(root, np.flatnonzero(early))
    sim_busy, n = _share(np.asarray(j.status), BLOCKED, first)
    assert _close(sim_busy, busy, n)
    retrials = np.bincount(root, minlength=j.n_fresh)[early] - 1
    expected = orbit / delay / lam  # retrials per caller = (retrial rate ν·E[orbit]) / λ
    assert att.max() > 8  # callers went past the predrawn attempts
    # callers' retrials are strongly correlated in time: the error is judged by daily batch means
    day = (arrive0[early] // 86400).astype(int)
    batches = np.bincount(day, retrials) / np.bincount(day)
    se = batches.std(ddof=1) / math.sqrt(len(batches))
    assert abs(retrials.mean() - expected) < 5.0 * se


def test_a_returning_caller_keeps_its_patience_when_asked() -> None:
    for mode, same in (("same", True), ("fresh", False)):
        s = _queue(2, 300.0, 60.0, days=1.0, patience=make("gamma", mean=60.0, sd=30.0), retrial_prob=0.8,
                   retrial_patience=mode)
        r = run_once(s)
        j = r.jobs
        pat, root, att = np.asarray(j.patience), np.asarray(j.root), np.asarray(j.att)
        later = att > 0
        assert later.sum() > 100
        assert np.array_equal(pat[later] == pat[root[later]], np.full(later.sum(), same)) or (not same and (
            (pat[later] == pat[root[later]]).mean() < 0.01))
        assert r.engine == "fast"


def test_a_returning_caller_keeps_the_patience_it_has_left() -> None:
    """Blocked callers (who waited nothing) and callers who left a message after the maximum
    wait come back with their patience less the time they already waited; both engines agree
    where both apply (abandon call-backs on the fast path)."""
    s = _queue(2, 200.0, 60.0, days=1.0, patience=make("gamma", mean=300.0, sd=150.0), capacity=1,
               max_wait_s=40.0, retrial_prob=0.9, retrial_patience="remaining")
    j = run_once(s).jobs
    index = {(r, k): i for i, (r, k) in enumerate(zip(j.root, j.att, strict=True))}
    later = [i for i in range(len(j.q)) if j.att[i] > 0]
    assert len(later) > 200
    for i in later:
        prev = index[(j.root[i], j.att[i] - 1)]
        left = j.patience[prev] - (j.end[prev] - j.arrive[prev])
        assert j.patience[i] == pytest.approx(max(0.0, left))
    plain = _queue(3, 200.0, 60.0, days=1.0, patience=make("exponential", mean=90.0), retrial_prob=0.9,
                   retrial_patience="remaining")
    fast, event = run_once(plain, engine="fast"), run_once(plain, engine="event")
    assert sorted(fast.calls().to_pylist(), key=lambda r: r["call_id"]) == sorted(
        event.calls().to_pylist(), key=lambda r: r["call_id"])


def test_max_wait_leaves_a_message_or_overflows() -> None:
    s = Scenario(
        days=1.0, seed=4, centers=[Center("c")], policy="longest_idle",
        queues=[QueueSpec("a", call_type="care", rate_per_hour=200.0, talk=make("exponential", mean=60.0),
                          patience=make("exponential", mean=600.0), max_wait_s=45.0, overflow_to="b"),
                QueueSpec("b", call_type="care", skill="care2", rate_per_hour=20.0,
                          talk=make("exponential", mean=60.0), max_wait_s=30.0)],
        agents=[Agent(f"a{i}", "c", {"care": 5}) for i in range(3)] + [Agent(f"b{i}", "c", {"care2": 5})
                                                                        for i in range(2)],
    )
    r = run_once(s)
    j = r.jobs
    q, status = np.asarray(j.q), np.asarray(j.status)
    wait = np.where(status == SERVED, np.asarray(j.answer), np.asarray(j.end)) - np.asarray(j.arrive)
    over, msg = status == OVERFLOWED, status == MESSAGE
    assert over.sum() > 50 and msg.sum() > 5
    assert np.allclose(wait[over], 45.0) and np.allclose(wait[msg], 30.0)
    assert (wait[(q == 0) & (status == SERVED)] <= 45.0 + 1e-9).all()
    moved = np.flatnonzero((q == 1) & (np.asarray(j.root) < j.n_fresh) & (np.asarray(j.root_queue)[j.root] == 0))
    assert len(moved) == over.sum()  # each overflow is one caller in queue b, with the patience it had left
    ids = set(r.calls().column("call_id").to_pylist())
    assert len(ids) == r.calls().num_rows and r.stats["a"]["timed_out"][0] == over.sum()


def test_the_fast_path_is_refused_with_limits() -> None:
    with pytest.raises(SimulationError):
        run_once(_queue(2, 60.0, 60.0, days=0.1, capacity=2), engine="fast")
    assert run_once(_queue(2, 60.0, 60.0, days=0.1, capacity=2)).engine == "event"


def test_ordered_selection_takes_the_preferred_group_first() -> None:
    s = Scenario(
        days=1.0, seed=8, centers=[Center("c")], policy="longest_idle",
        queues=[QueueSpec("q", call_type="care", rate_per_hour=150.0, talk=make("exponential", mean=60.0),
                          agent_selection="ordered", agent_order=["inbound"])],
        agents=[Agent(f"i{i}", "c", {"care": 5}, group="inbound") for i in range(2)]
        + [Agent(f"b{i}", "c", {"care": 5}, group="blended") for i in range(3)],
    )
    j = run_once(s).jobs
    ag, start, end = np.asarray(j.agent), np.asarray(j.start), np.asarray(j.end)
    served = np.asarray(j.status) == SERVED
    at_once = served & (start == np.asarray(j.arrive))
    to_blended = np.flatnonzero(at_once & (ag >= 2))
    assert len(to_blended) > 50
    for k in to_blended:  # a blended agent took a fresh arrival only when both inbound agents were busy
        t = start[k]
        busy = {int(a) for a in ag[served & (start <= t) & (end > t) & (ag < 2)]}
        assert busy == {0, 1}


def test_random_selection_is_uniform_among_free_agents() -> None:
    """At a load so low that every agent is free at each arrival, longest idle rotates (never the
    same agent twice running) while random repeats the last agent with probability 1/c."""
    c = 4
    base = {"days": 3.0, "seed": 3, "centers": [Center("c")], "policy": "longest_idle",
            "agents": [Agent(f"a{i}", "c", {"care": 5}) for i in range(c)]}

    def seq(sel: str) -> np.ndarray:
        s = Scenario(queues=[QueueSpec("q", call_type="care", rate_per_hour=30.0, talk=make("fixed", value=1.0),
                                       agent_selection=sel)], **base)  # type: ignore[arg-type]
        j = run_once(s).jobs
        order = np.argsort(j.arrive)
        return np.asarray(j.agent)[order]

    li, rnd = seq("longest_idle"), seq("random")
    assert (li[1:] == li[:-1]).mean() == 0.0
    rep = float((rnd[1:] == rnd[:-1]).mean())
    assert _close(rep, 1 / c, len(rnd) - 1, k=4)
    counts = np.bincount(rnd, minlength=c)
    assert counts.min() > 0.2 * len(rnd)


def test_limit_keys_are_checked_in_scenario_files() -> None:
    base = """
[[centers]]
id = "c"
[[queues]]
name = "q"
type = "care"
rate_per_hour = 10
{extra}
[[agents]]
center = "c"
skills = "care:5"
"""
    for extra, key in (('overflow_to = "nowhere"\nmax_wait_s = 5', "overflow_to"),
                       ('overflow_to = "q"\nmax_wait_s = 5', "overflow_to"),
                       ('agent_selection = "ordered"', "agent_order"),
                       ('agent_selection = "ordered"\nagent_order = ["x"]', "agent_order"),
                       ('retrial_patience = "kept"', "retrial_patience"),
                       ("balk_prob = [0.5, 1.5]", "balk_prob"),
                       ("capacity = -2", "capacity")):
        with pytest.raises(ScenarioError) as err:
            from closeloop.sim.scenario import validate

            validate(parse_scenario(base.format(extra=extra), "f.toml"))
        assert key in str(err.value) and "f.toml" in str(err.value)


@st.composite
def limited(draw: st.DrawFn) -> Scenario:
    """A single queue with random limits, distributions and call-backs."""
    pat = draw(st.sampled_from([None, make("exponential", mean=60.0), make("weibull", shape=0.7, scale=90.0),
                                make("uniform", low=5.0, high=200.0)]))
    return _queue(
        draw(st.integers(1, 5)), draw(st.floats(20.0, 400.0)), draw(st.sampled_from([20.0, 60.0, 180.0])),
        days=0.2, seed=draw(st.integers(0, 10**6)), patience=pat,
        capacity=draw(st.integers(-1, 4)), trunks=draw(st.sampled_from([-1, 3, 6])),
        balk_prob=draw(st.lists(st.floats(0.0, 1.0), max_size=4)),
        max_wait_s=draw(st.sampled_from([0.0, 15.0, 90.0])),
        retrial_prob=draw(st.sampled_from([0.0, 0.5, 1.0])), max_retrials=draw(st.sampled_from([-1, 0, 2])),
        retrial_delay=make("exponential", mean=120.0),
        retrial_patience=draw(st.sampled_from(["fresh", "same", "remaining"])),
        agent_selection=draw(st.sampled_from(["longest_idle", "random"])),
    )


@given(limited())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_limits_hold_for_random_queues(s: Scenario) -> None:
    """Reconstructed from the records alone: nobody waits beyond the maximum wait or its patience,
    a caller is blocked only when the waiting places or lines were really full, a caller
    balks only when it had to wait, and no agent is on two calls at once."""
    q = s.queues[0]
    r = run_once(s)
    j = r.jobs
    status, arrive = np.asarray(j.status), np.asarray(j.arrive)
    answer, end, start = np.asarray(j.answer), np.asarray(j.end), np.asarray(j.start)
    leave = np.where(status == SERVED, answer, end)  # when each caller stopped waiting
    served = status == SERVED
    wait = leave - arrive
    done = status != 0
    assert (wait[done] >= -1e-9).all()
    assert (wait[done] <= np.asarray(j.patience)[done] + 1e-6).all()
    if q.max_wait_s > 0:
        assert (wait[done] <= q.max_wait_s + 1e-6).all()
    for k in np.flatnonzero((status == BLOCKED) | (status == BALKED)):
        t = arrive[k]
        others = ~np.isin(np.arange(len(status)), [k]) & (arrive < t) & (~done | (leave > t))
        waiting = int((others & ~(served & (answer < t))).sum())
        talking = int((served & (answer <= t) & (end > t)).sum())
        assert wait[k] == 0.0
        if status[k] == BLOCKED:
            assert (q.capacity >= 0 and waiting >= q.capacity) or (q.trunks >= 0 and waiting + talking >= q.trunks)
        else:
            assert (q.balk_prob and talking == len(s.agents)) or waiting > 0 or q.capacity == 0
    ag = np.asarray(j.agent)
    for a in set(ag[served].tolist()):
        spans = sorted(zip(start[served & (ag == a)], (end + np.asarray(j.wrap))[served & (ag == a)], strict=True))
        assert all(s2 >= e1 - 1e-6 for (_, e1), (s2, _) in pairwise(spans))


def test_a_maximum_wait_with_a_message_runs_on_the_fast_path_with_the_same_records() -> None:
    from tests.sim.conftest import blended

    s = blended(days=1)
    s.queues[0].max_wait_s = 45.0  # sales_in: patience 120 s on average, call-backs
    s.queues[1].max_wait_s = 90.0
    fast, event = run_once(s, engine="fast"), run_once(s, engine="event")
    assert fast.engine == "fast"
    a = sorted(fast.calls().to_pylist(), key=lambda r: r["call_id"])
    assert a == sorted(event.calls().to_pylist(), key=lambda r: r["call_id"])
    st = np.asarray(fast.jobs.status)
    assert (st == MESSAGE).sum() > 20 and (st == ABANDONED).sum() > 20
