"""A user's own routing policy, as a scenario names it by dotted path (used by test_user_policy)."""

from __future__ import annotations

from closeloop.routing import AgentState, Assign, Decision, Param, Policy, RouterState, global_head


class NewestFirstFree(Policy):
    """A free agent takes the contact that arrived *last* across its queues (a deliberately odd rule)."""

    name = "newest_first"
    summary = "free agents serve the newest waiting contact"
    params = (Param("unused", 1.0, "an example parameter, checked like a built-in one", minimum=0.0),)

    def on_agent_free(self, state: RouterState, agent: AgentState) -> list[Decision]:
        """The newest contact waiting in any of the agent's queues."""
        newest = None
        for q in agent.serving:
            for c in state.waiting(q):
                if newest is None or c.arrived_at > newest.arrived_at:
                    newest = c
        if newest is None:
            head = global_head(state, agent.serving)
            return [Assign(head, agent.agent_id)] if head is not None else []
        return [Assign(newest, agent.agent_id)]


class NotAPolicy:
    """Named by a scenario by mistake."""
