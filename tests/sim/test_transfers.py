"""Transfers and conferences: mean-value checks against the rates and talk times that feed them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from closeloop.errors import ScenarioError
from closeloop.sim.dists import make
from closeloop.sim.runner import run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario, validate
from closeloop.sim.traffic import SERVED


def _scenario(conference: bool = False, p: float = 0.3, days: float = 4.0) -> Scenario:
    return Scenario(
        days=days, seed=12, centers=[Center("c")], policy="global_order",
        queues=[QueueSpec("front", call_type="care", rate_per_hour=60.0, talk=make("exponential", mean=120.0),
                          transfer_prob=p, transfer_to="expert", conference=conference),
                QueueSpec("expert", call_type="sales", skill="expert", rate_per_hour=30.0,
                          talk=make("exponential", mean=200.0), wrap=make("fixed", value=10.0))],
        agents=[Agent(f"f{i}", "c", {"care": 5}) for i in range(20)]
        + [Agent(f"e{i}", "c", {"expert": 5}) for i in range(20)],  # ample: nobody waits
    )


def test_transfers_feed_the_second_queue_at_the_transfer_rate() -> None:
    r = run_once(_scenario())
    j = r.jobs
    q, leg, status = np.asarray(j.q), np.asarray(j.leg), np.asarray(j.status)
    answered_front = int(((q == 0) & (status == SERVED)).sum())
    legs = np.flatnonzero(leg == 1)
    assert r.engine == "event" and (q[legs] == 1).all()
    # each answered front call is transferred with probability 0.3 (binomial, 4.5 sigma)
    assert abs(len(legs) - 0.3 * answered_front) < 4.5 * math.sqrt(answered_front * 0.3 * 0.7)
    # a leg arrives when the first agent's talk ends, and talks the expert queue's time
    first = {(j.root[k], j.att[k]): k for k in range(len(q)) if q[k] == 0}
    for k in legs:
        assert j.arrive[k] == pytest.approx(j.end[first[(j.root[k], j.att[k])]])
    talk = (np.asarray(j.end) - np.asarray(j.answer))[legs]
    assert abs(talk.mean() - 200.0) < 4.5 * 200.0 / math.sqrt(len(legs))
    ids = r.calls().column("call_id").to_pylist()
    assert len(ids) == len(set(ids))  # the leg is its own call record
    assert r.stats["expert"]["offered"] == pytest.approx(30.0 * 96 + 0.3 * answered_front,
                                                         abs=4.5 * math.sqrt(30.0 * 96 + 0.3 * answered_front))


def test_in_a_conference_the_first_agent_stays_until_the_expert_is_done() -> None:
    r = run_once(_scenario(conference=True))
    j = r.jobs
    q, leg = np.asarray(j.q), np.asarray(j.leg)
    first = {(j.root[k], j.att[k]): k for k in range(len(q)) if q[k] == 0 and j.status[k] == SERVED}
    legs = [k for k in np.flatnonzero(leg == 1) if j.status[k] == SERVED]
    assert len(legs) > 300
    for k in legs:
        a = first[(j.root[k], j.att[k])]
        assert j.end[a] == pytest.approx(j.end[k])  # on the call until the expert's talk ends
        ag = j.agent[a]
        later = [m for m in range(len(q)) if j.agent[m] == ag and j.start[m] > j.start[a]]
        assert all(j.start[m] >= j.end[k] - 1e-9 for m in later)  # and took nothing meanwhile
    # mean time a front agent spends per answered call: talk + share transferred x expert talk
    busy = [j.end[a] - j.start[a] for a in first.values()]
    assert np.mean(busy) == pytest.approx(120.0 + 0.3 * 200.0, rel=0.06)


def test_transfer_keys_are_checked() -> None:
    for change, key in (({"transfer_to": "nowhere"}, "transfer_to"), ({"transfer_to": "front"}, "transfer_to")):
        s = _scenario(days=0.1)
        for k, v in change.items():
            setattr(s.queues[0], k, v)
        with pytest.raises(ScenarioError) as err:
            validate(s)
        assert key in str(err.value)
    s = _scenario(conference=True, days=0.1)
    s.queues[1].capacity = 3
    with pytest.raises(ScenarioError, match="conference"):
        validate(s)
