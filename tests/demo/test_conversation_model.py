"""The simulator's conversation hook: events drawn inside the outcome model, per center, moving the sale."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from closeloop.errors import ScenarioError
from closeloop.sim.conversation import ConversationModel, TalkEvent
from closeloop.sim.runner import run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario


def _scenario(model: ConversationModel | None) -> Scenario:
    return Scenario(
        days=3.0, seed=5, centers=[Center("a"), Center("b")],
        queues=[QueueSpec("s", rate_per_hour=40.0, handle_mean_s=200.0, close_rate=0.4),
                QueueSpec("c", call_type="care", rate_per_hour=10.0, handle_mean_s=200.0)],
        agents=[Agent(f"A{i}", "a" if i < 4 else "b", {"sales": 6, "care": 5}) for i in range(8)],
        conversation=model,
    )


MODEL = ConversationModel([TalkEvent("confused", 0.1, -2.0, center_prevalence={"b": 0.5}),
                           TalkEvent("objection", 0.5), TalkEvent("unanswered", 0.5, -1.0, given="objection")])


def test_events_follow_center_prevalence_and_move_the_sale_only() -> None:
    plain, talk = run_once(_scenario(None)), run_once(_scenario(copy.deepcopy(MODEL)))
    # the queueing is untouched: same attempts, agents and times
    for col in ("q", "agent", "start", "end"):
        assert np.array_equal(plain.jobs.array(col), talk.jobs.array(col), equal_nan=True)
    ev = talk.outcomes.events
    q, served = talk.jobs.array("q"), talk.outcomes.code >= 0
    sales = served & (q == 0)
    assert not any(ev[k][~sales].any() for k in ev)  # only answered sales calls carry events
    center_b = talk.jobs.array("agent") >= 4
    rate_a, rate_b = ev["confused"][sales & ~center_b].mean(), ev["confused"][sales & center_b].mean()
    assert 0.05 < rate_a < 0.16 and 0.4 < rate_b < 0.6
    assert not (ev["unanswered"] & ~ev["objection"]).any()
    sale = talk.outcomes.code == 0
    assert sale[sales & ev["confused"]].mean() < sale[sales & ~ev["confused"]].mean() - 0.15
    # without events the sale draws are the same stream: calls with no event keep their outcome
    quiet = sales & ~ev["confused"] & ~ev["unanswered"]
    assert np.array_equal(plain.outcomes.code[quiet], talk.outcomes.code[quiet])


def test_a_bad_model_is_refused_naming_the_key() -> None:
    bad = ConversationModel([TalkEvent("x", 1.5)])
    with pytest.raises(ScenarioError, match=r"conversation\.x\.prevalence"):
        run_once(_scenario(bad))
    orphan = ConversationModel([TalkEvent("y", 0.2, given="z")])
    with pytest.raises(ScenarioError, match="given"):
        run_once(_scenario(orphan))
    unknown = ConversationModel([TalkEvent("w", 0.2, center_prevalence={"nowhere": 0.3})])
    with pytest.raises(ScenarioError, match="unknown center"):
        run_once(_scenario(unknown))
