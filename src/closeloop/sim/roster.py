"""Staffing by group size: agents join and leave to follow a per-interval level (event engine).

A group with ``staffing = [n0, n1, ...]`` has no shifts; at each ``staffing_interval_s``
boundary its on-duty count moves to the new level:

* **up**: agents who are off duty and not finishing a call join (lowest index first);
  leaves still pending from an earlier drop are cancelled first;
* **down**: idle agents leave at once, longest idle first; if that is not enough, the
  next agents of the group **to become free** leave when their call (and wrap-up) ends.

The agents' actual on-duty spans are recorded and become ``World.duty`` after the run, so
occupancy and staffed time are those of the plan as it played out.
"""

from __future__ import annotations

from collections.abc import Callable

from closeloop.routing import RouterState
from closeloop.routing.model import AgentState
from closeloop.sim.scenario import StaffPlan


class Roster:
    """The staffing plans of a run and the on-duty spans they produce."""

    def __init__(self, plans: dict[StaffPlan, list[int]], state: RouterState, horizon: float) -> None:
        self.plans, self.st, self.horizon = plans, state, horizon
        self.pending = dict.fromkeys(plans, 0)
        self.plan_of = {ai: p for p, members in plans.items() for ai in members}
        self.spans: dict[int, list[list[float]]] = {ai: [] for ai in self.plan_of}

    def boundaries(self) -> list[tuple[float, StaffPlan]]:
        """Every (time, plan) at which a plan's level may change, from 0 to the horizon."""
        out = []
        for p in self.plans:
            k = 0
            while k * p.interval_s < self.horizon:
                if k == 0 or (k < len(p.levels) and p.levels[k] != p.levels[k - 1]):
                    out.append((k * p.interval_s, p))
                k += 1
        return out

    def on_duty(self, p: StaffPlan) -> int:
        """Agents of ``p`` on duty and not due to leave."""
        return sum(1 for ai in self.plans[p] if self.st.agents[ai].on_shift) - self.pending[p]

    def change(self, p: StaffPlan, now: float, free: Callable[[AgentState], None]) -> None:
        """Move plan ``p`` to its level at ``now``; ``free`` offers a joining agent work."""
        st = self.st
        diff = p.level(now) - self.on_duty(p)
        if diff > 0:
            undo = min(diff, self.pending[p])
            self.pending[p] -= undo
            diff -= undo
            for ai in self.plans[p]:
                a = st.agents[ai]
                if diff and not a.on_shift and not a.busy:
                    a.on_shift = True
                    self.spans[ai].append([now, self.horizon])
                    diff -= 1
                    st.mark_idle(a, now)
                    free(a)
        elif diff < 0:
            idle = sorted((st.agents[ai] for ai in self.plans[p] if st.agents[ai].on_shift and not st.agents[ai].busy),
                          key=lambda a: a.idle_since if a.idle_since is not None else now)
            for a in idle[:-diff]:
                self._leave(a, now)
            self.pending[p] += max(0, -diff - len(idle))

    def leaves_when_free(self, a: AgentState, now: float) -> bool:
        """A busy agent of a plan became free: it leaves if its plan is still over its level."""
        p = self.plan_of.get(a.index)
        if p is None or not self.pending[p]:
            return False
        self.pending[p] -= 1
        a.busy = False
        self._leave(a, now)
        return True

    def _leave(self, a: AgentState, now: float) -> None:
        self.st.mark_off(a)
        self.spans[a.index][-1][1] = now

    def duty(self) -> dict[int, list[tuple[float, float]]]:
        """Each plan agent's on-duty spans as they played out."""
        return {ai: [(a, b) for a, b in spans if b > a] for ai, spans in self.spans.items()}
