"""What the engines share about a scenario: agents' speed per queue, duty intervals, queue timings."""

from __future__ import annotations

from dataclasses import dataclass

from closeloop.routing import Policy, QueueDef, RouterState
from closeloop.sim.scenario import Scenario
from closeloop.sim.shifts import duty_intervals


@dataclass
class World:
    """A checked scenario prepared for an engine (no randomness here)."""

    scenario: Scenario
    policy: Policy
    qdefs: list[QueueDef]
    qindex: dict[str, int]
    factor: list[list[float]]  # handle-time multiplier [queue][agent]
    duty: list[list[tuple[float, float]]]  # on-duty intervals per agent
    outbound: list[bool]
    connect_s: list[float]
    ring_s: list[float]
    wrong_s: list[float]  # a wrong-party dial: connect, then a short talk
    horizon: float

    def new_state(self) -> RouterState:
        """A fresh router state for this world and its policy's modes."""
        return RouterState(self.qdefs, self.scenario.agent_defs(), self.policy.modes)


def build_world(s: Scenario, policy: Policy) -> World:
    """Precompute per-agent handle factors and duty intervals."""
    qdefs = s.queue_defs()
    centers = {c.center_id: c for c in s.centers}
    e = s.outcomes.handle_skill_effect
    factor = []
    for q in qdefs:
        row = []
        for a in s.agents:
            level = a.skills.get(q.skill, 1)
            row.append(centers[a.center_id].handle_factor * (1.0 + e * (5 - level) / 5.0))
        factor.append(row)
    duty: list[list[tuple[float, float]]] = []
    for a in s.agents:
        if a.plan is not None:
            duty.append([])  # filled by the engine as the staffing plan plays out
        elif a.shift is None:
            duty.append([(0.0, s.horizon_s)])
        else:
            tz = centers[a.center_id].timezone
            duty.append(duty_intervals(s.start, s.horizon_s, tz, a.shift.start, a.shift.hours, a.shift.days))
    return World(
        scenario=s, policy=policy, qdefs=qdefs, qindex={q.name: i for i, q in enumerate(qdefs)}, factor=factor,
        duty=duty, outbound=[q.outbound for q in s.queues], connect_s=[q.connect_s for q in s.queues],
        ring_s=[q.ring_s for q in s.queues], wrong_s=[q.connect_s + q.wrong_party_s for q in s.queues],
        horizon=s.horizon_s,
    )
