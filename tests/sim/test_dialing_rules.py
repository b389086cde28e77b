"""Outbound dialing rules of the threshold dialer, checked on the records of a run."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from closeloop.errors import ScenarioError
from closeloop.sim.dists import make
from closeloop.sim.runner import run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario, validate
from closeloop.sim.traffic import NO_ANSWER, SERVED


def _blend(leads_per_hour: float = 0.0, **params: object) -> Scenario:
    return Scenario(
        days=0.3, seed=4, centers=[Center("c")], policy="threshold_dialer",
        policy_params={"review_s": 5.0, **params},
        queues=[QueueSpec("in", call_type="sales", skill="sales", priority=1, rate_per_hour=80.0,
                          talk=make("exponential", mean=180.0), patience=make("exponential", mean=120.0)),
                QueueSpec("out", call_type="sales", direction="outbound", skill="outbound",
                          initial_leads=0 if leads_per_hour else 3000, rate_per_hour=leads_per_hour,
                          reach_prob=0.4, handle_mean_s=200.0, wrap_s=5.0)],
        agents=[Agent(f"i{i}", "c", {"sales": 5}, group="inbound_only") for i in range(4)]
        + [Agent(f"b{i}", "c", {"sales": 5, "outbound": 5}, group="blended") for i in range(4)],
    )


def _spans(j, k_agent: int) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    ag, st = np.asarray(j.agent), np.asarray(j.status)
    start, end, wrap = np.asarray(j.start), np.asarray(j.end), np.asarray(j.wrap)
    m = (ag == k_agent) & np.isin(st, (SERVED, NO_ANSWER))
    return sorted(zip(start[m], end[m] + np.where(st[m] == SERVED, wrap[m], 0.0), strict=True))


def test_dialing_only_when_a_call_ends() -> None:
    r = run_once(_blend(60.0, dial_on="call_end"))  # few leads: on every event they would be dialled on arrival
    j = r.jobs
    q, st = np.asarray(j.q), np.asarray(j.status)
    dials = np.flatnonzero((q == 1) & np.isin(st, (SERVED, NO_ANSWER)))
    assert len(dials) > 100
    frees = np.sort(np.concatenate([[e for _, e in _spans(j, a)] for a in range(8)]))
    for k in dials:  # some agent became free at that very moment (or the day started)
        t = j.start[k]
        i = np.searchsorted(frees, t)
        near = [abs(frees[x] - t) for x in (i - 1, i) if 0 <= x < len(frees)]
        assert t == 0.0 or min(near) < 1e-6
    every = run_once(_blend(60.0))
    ej = every.jobs
    waits = [ej.start[k] - ej.arrive[k] for k in np.flatnonzero(np.asarray(ej.q) == 1) if ej.status[k] != 0]
    mine = [j.start[k] - j.arrive[k] for k in dials]
    assert np.mean(waits) < np.mean(mine)  # leads wait less when every event may trigger a dial


def test_only_the_chosen_groups_count_toward_the_threshold() -> None:
    r = run_once(_blend(count_groups="inbound_only", min_idle=2))
    j = r.jobs
    q, st = np.asarray(j.q), np.asarray(j.status)
    dials = np.flatnonzero((q == 1) & np.isin(st, (SERVED, NO_ANSWER)))
    assert len(dials) > 50
    spans = {a: _spans(j, a) for a in range(4)}  # the inbound-only agents
    for k in dials:
        t = j.start[k]
        idle = sum(1 for a in range(4) if not any(s <= t < e for s, e in spans[a]))
        assert idle >= 2
    assert all(r.world.scenario.agents[j.agent[k]].group == "blended" for k in dials)


def test_a_bad_dialing_rule_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="dial_on"):
        validate(_blend(dial_on="sometimes"))


def test_leads_are_dialled_only_inside_the_dialing_window() -> None:
    s = _blend(30.0)
    s.days, s.timezone = 2.0, "America/Chicago"
    s.start = s.start.replace(tzinfo=ZoneInfo("America/Chicago"))
    s.queues[1].dial_window = "09:00-17:30"
    s.queues[1].retry_after_s = 1800.0
    r = run_once(s)
    j = r.jobs
    q, st = np.asarray(j.q), np.asarray(j.status)
    dials = np.flatnonzero((q == 1) & np.isin(st, (SERVED, NO_ANSWER)))
    local = [(s.start + timedelta(seconds=float(j.start[k]))).astimezone(ZoneInfo(s.timezone)) for k in dials]
    minutes = np.array([t.hour * 60 + t.minute + t.second / 60 for t in local])
    assert len(dials) > 100
    assert ((minutes >= 9 * 60) & (minutes <= 17.5 * 60)).all()
    assert (minutes < 9 * 60 + 1).sum() > 5  # leads parked overnight are dialled as the window opens
    redials = [k for k in dials if j.att[k] > 0]
    assert redials  # redials coming due after hours waited for the next window too
    with pytest.raises(ScenarioError, match="dial_window"):
        s.queues[1].dial_window = "9-17"
        validate(s)


def test_right_party_share_and_wrong_party_dials_on_both_engines() -> None:
    from tests.sim.conftest import blended

    s = blended(days=1)
    out = s.queues[2]
    out.right_party_prob, out.wrong_party_s = 0.6, 40.0
    fast, event = run_once(s, engine="fast"), run_once(s, engine="event")
    assert fast.engine == "fast"
    a = {r["call_id"]: r for r in fast.calls().to_pylist()}
    b = {r["call_id"]: r for r in event.calls().to_pylist()}
    assert a.keys() == b.keys()
    # fixed dial durations from a shared shift start make agents free at the very same instant;
    # the engines may then hand the simultaneous dials to the two agents the other way round
    # (and those agents' later dials stay swapped): every record is equal but for who dialled
    who = ("agent_id", "center_id")
    assert all({k: v for k, v in a[c].items() if k not in who} == {k: v for k, v in b[c].items() if k not in who}
               for c in a)
    j = fast.jobs
    q, st = np.asarray(j.q), np.asarray(j.status)
    dials = (q == 2) & np.isin(st, (SERVED, NO_ANSWER))
    n = int(dials.sum())
    right = float((dials & (st == SERVED)).sum()) / n
    assert abs(right - 0.4 * 0.6) < 4.5 * np.sqrt(0.24 * 0.76 / n)
    wrong = dials & (st == NO_ANSWER) & (np.asarray(j.u) > 0.5)
    assert wrong.sum() > 20
    assert np.allclose((np.asarray(j.end) - np.asarray(j.start))[wrong], out.connect_s + 40.0)
    ring = dials & (st == NO_ANSWER) & (np.asarray(j.u) < 0.5)
    assert np.allclose((np.asarray(j.end) - np.asarray(j.start))[ring], out.ring_s)
