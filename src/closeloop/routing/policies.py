"""Built-in agent/contact selection policies: longest idle, best skill, global order, expansion."""

from __future__ import annotations

from closeloop.routing.model import AgentState, Assign, Contact, Decision, SetTimer, Timer
from closeloop.routing.policy import Param, Policy, PolicyParamError, global_head, single_queue_agents
from closeloop.routing.state import RouterState


class LongestIdle(Policy):
    """Longest-idle agent for each arrival; a free agent takes its queues in scenario order.

    This is how a typical per-queue ACD behaves: a multi-skilled agent empties its first
    queue before looking at the next, however long callers there have waited.
    """

    name = "longest_idle"
    summary = "longest-idle agent; a free agent serves its queues in the order the scenario lists them"

    def pooled(self, state: RouterState) -> bool:
        """Exact fast path when each agent serves one queue."""
        return single_queue_agents(state)


class GlobalOrder(Policy):
    """Longest-idle agent for arrivals; a free agent takes, across *all* its queues, the
    contact of the highest queue priority and then the longest wait (strict global order)."""

    name = "global_order"
    summary = "longest-idle agent; free agents serve all their queues by priority, then age"

    def on_agent_free(self, state: RouterState, agent: AgentState) -> list[Decision]:
        """Strict global order across the agent's queues."""
        c = global_head(state, agent.serving)
        return [Assign(c, agent.agent_id)] if c is not None else []

    def pooled(self, state: RouterState) -> bool:
        """Exact fast path when each agent serves one queue."""
        return single_queue_agents(state)


class BestSkill(Policy):
    """Most proficient idle agent for each arrival (longest idle among equals); a free agent
    takes the queue it is best at that has someone waiting (oldest first among equals)."""

    name = "best_skill"
    summary = "most proficient idle agent; free agents serve their best skill first"

    def on_arrival(self, state: RouterState, contact: Contact) -> list[Decision]:
        """Pick the highest proficiency; ties go to the longest idle."""
        if self.queues[contact.queue].outbound and not contact.connected:
            return self.on_lead_ready(state, contact)
        best, best_level = None, 0
        for a in state.idle_agents(contact.queue):
            lv = state.level(a, contact.queue)
            if lv > best_level:
                best, best_level = a, lv
        return [Assign(contact, best.agent_id)] if best is not None else []

    def on_agent_free(self, state: RouterState, agent: AgentState) -> list[Decision]:
        """Serve the best-skilled queue with a waiting contact."""
        best: Contact | None = None
        best_key: tuple[int, float] | None = None
        for q in agent.serving:
            c = state.head(q)
            if c is not None:
                key = (-state.level(agent, q), c.arrived_at)
                if best_key is None or key < best_key:
                    best, best_key = c, key
        return [Assign(best, agent.agent_id)] if best is not None else []


class SkillExpansion(Policy):
    """Time-based skill expansion: a contact is first offered only to agents with
    proficiency ≥ ``initial_level``; after ``expand_after_s`` seconds of waiting, agents
    down to ``expanded_level`` may take it. Free agents serve in global order."""

    name = "skill_expansion"
    summary = "only strong agents at first; widen the pool to weaker ones after a wait"
    params = (
        Param("initial_level", 7, "Minimum proficiency for a fresh contact.", 1, 10),
        Param("expanded_level", 1, "Minimum proficiency once the contact has waited expand_after_s.", 1, 10),
        Param("expand_after_s", 30.0, "Seconds of waiting before the pool widens.", 0.0, None),
    )

    def check(self) -> None:
        """The expanded pool must be at least as wide as the initial one."""
        if self.p["expanded_level"] > self.p["initial_level"]:
            raise PolicyParamError("expanded_level", "must not exceed initial_level")

    def _min_level(self, state: RouterState, contact: Contact) -> int:
        waited = state.now - contact.arrived_at
        value: int = self.p["expanded_level"] if waited >= self.p["expand_after_s"] else self.p["initial_level"]
        return value

    def _pick(self, state: RouterState, contact: Contact) -> list[Decision]:
        need = self._min_level(state, contact)
        for a in state.idle_agents(contact.queue):
            if state.level(a, contact.queue) >= need:
                return [Assign(contact, a.agent_id)]
        return []

    def on_arrival(self, state: RouterState, contact: Contact) -> list[Decision]:
        """Offer to strong agents; otherwise ask to be woken when the pool widens."""
        if self.queues[contact.queue].outbound and not contact.connected:
            return self.on_lead_ready(state, contact)
        got = self._pick(state, contact)
        if got or self.p["expanded_level"] == self.p["initial_level"]:
            return got
        return [SetTimer(contact.arrived_at + self.p["expand_after_s"], "expand", contact)]

    def on_timer(self, state: RouterState, timer: Timer) -> list[Decision]:
        """The contact's pool widened: try the weaker idle agents."""
        c = timer.contact
        if timer.tag != "expand" or c is None or c.gone:
            return []
        return self._pick(state, c)

    def on_agent_free(self, state: RouterState, agent: AgentState) -> list[Decision]:
        """Global order among heads this agent is strong enough for (eligibility only grows
        with waiting time, so if a head is not eligible nothing behind it is)."""
        best: Contact | None = None
        best_key: tuple[int, float] | None = None
        for q in agent.serving:
            c = state.head(q)
            if c is None or state.level(agent, q) < self._min_level(state, c):
                continue
            key = (-state.queues[q].priority, c.arrived_at)
            if best_key is None or key < best_key:
                best, best_key = c, key
        return [Assign(best, agent.agent_id)] if best is not None else []
