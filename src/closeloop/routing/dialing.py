"""Reservation / threshold dialing for blended agents (Bhulai & Koole 2003; Gans & Zhou 2003).

Blended agents take inbound calls first. Outbound leads are dialled only when no inbound
call waits and at least ``min_idle`` agents are idle (so, after the dial, ``min_idle - 1``
stay free for inbound: the reservation). With ``pacing_ratio`` above 1 the dialer is
predictive: it dials that many lines per idle agent without reserving one; a customer who
answers when nobody is free is dropped after ``drop_after_s``. The measured drop rate
(dropped / connected) is capped by ``max_abandon_rate``: above it the dialer falls back
to one line per idle agent (progressive) until the rate is back under the cap.

Two rules that differ between real dialers: which idle agents count toward the threshold
(``count_groups``: e.g. only inbound-only agents, so blended agents are never counted as
the inbound reserve), and when the condition is checked (``dial_on``: on every event, or
only when an agent finishes a call).
"""

from __future__ import annotations

from itertools import islice

from closeloop.routing.model import AgentState, Assign, Contact, Decision, Dial, Timer
from closeloop.routing.policy import Param, Policy, PolicyParamError, global_head
from closeloop.routing.state import RouterState


class ThresholdDialer(Policy):
    """Inbound first (global order); dial outbound only past the idle-agent threshold."""

    name = "threshold_dialer"
    summary = "blended agents; dial outbound only when no inbound waits and ≥ min_idle agents are idle"
    params = (
        Param("min_idle", 1, "Dial only when at least this many agents serving the campaign are idle.", 1, None),
        Param("pacing_ratio", 1.0, "Lines dialled per idle agent; above 1 is predictive.", 1.0, 5.0),
        Param("max_abandon_rate", 0.03, "Cap on dropped / connected outbound calls (predictive only).", 0.0, 1.0),
        Param("drop_after_s", 2.0, "A connected customer with no free agent is dropped after this.", 0.0, 60.0),
        Param("review_s", 5.0, "Seconds between re-checks of the dialing condition.", 0.5, None),
        Param("count_groups", "", "Comma-separated agent groups whose idle agents count toward min_idle "
                                  "(default: the agents serving the campaign)."),
        Param("dial_on", "every_event", "`every_event` (arrivals, freed agents, reviews) or `call_end` "
                                        "(only when an agent becomes free)."),
    )

    def check(self) -> None:
        """``dial_on`` is one of the two rules found in practice."""
        if self.p["dial_on"] not in ("every_event", "call_end"):
            raise PolicyParamError("dial_on", f"{self.p['dial_on']!r} is not one of every_event, call_end")
        self.groups = frozenset(g.strip() for g in self.p["count_groups"].split(",") if g.strip())

    def _idle_counted(self, state: RouterState, queue: str) -> int:
        """Idle agents that count toward the threshold: of the chosen groups, else serving ``queue``."""
        if not self.groups:
            return state.idle_count(queue)
        return sum(1 for a in state.agents if a.agent.group in self.groups and a.on_shift and not state.is_busy(a))

    def _inbound_waiting(self, state: RouterState) -> bool:
        return any(state.waiting_count(q) for q, d in self.queues.items() if not d.outbound)

    def on_arrival(self, state: RouterState, contact: Contact) -> list[Decision]:
        """Inbound callers and connected predictive calls go to the longest-idle agent."""
        if self.queues[contact.queue].outbound and not contact.connected:
            return self._dial(state) if self.p["dial_on"] == "every_event" else []
        agent = state.longest_idle(contact.queue)
        return [Assign(contact, agent.agent_id)] if agent is not None else []

    def on_agent_free(self, state: RouterState, agent: AgentState) -> list[Decision]:
        """Inbound (and connected outbound) first, in global order; else maybe dial."""
        inbound = tuple(q for q in agent.serving if not self.queues[q].outbound)
        c = global_head(state, inbound)
        if c is None and state.counters.extra.get("connected_waiting", 0) > 0:
            c = next((h for q in agent.serving if self.queues[q].outbound
                      for h in state.waiting(q) if h.connected), None)
        if c is not None:
            return [Assign(c, agent.agent_id)]
        return self._dial(state)

    def on_timer(self, state: RouterState, timer: Timer) -> list[Decision]:
        """Periodic re-check of the dialing condition."""
        return self._dial(state) if timer.tag == "review" and self.p["dial_on"] == "every_event" else []

    def _predictive(self, state: RouterState) -> bool:
        c = state.counters
        if self.p["pacing_ratio"] <= 1.0:
            return False
        return c.connected == 0 or c.dropped / c.connected <= self.p["max_abandon_rate"]

    def _dial(self, state: RouterState) -> list[Decision]:
        if self._inbound_waiting(state):
            return []
        out: list[Decision] = []
        for q, d in self.queues.items():
            if not d.outbound:
                continue
            idle = state.idle_count(q)
            counted = self._idle_counted(state, q)
            if counted < self.p["min_idle"] or not idle:
                continue
            if self._predictive(state):
                in_flight = state.counters.extra.get("in_flight", 0)
                lines = int(idle * self.p["pacing_ratio"]) - in_flight
                if lines > 0:
                    out.append(Dial(q, lines))
                continue
            n = min(idle, counted - self.p["min_idle"] + 1)
            leads = list(islice((c for c in state.waiting(q) if not c.connected), n))
            agents = list(islice(state.idle_agents(q), len(leads)))
            out.extend(Assign(c, a.agent_id) for c, a in zip(leads, agents, strict=True))
        return out
