"""The state a routing policy reads: who waits where, who is idle, who is in which mode.

The owner of the clock (simulator or live router) mutates it through the ``mark_*`` and
``add/remove`` methods; policies only read it (``waiting_count``, ``head``,
``idle_agents``, ...) and answer with decisions. Idle agents are kept per queue in the
order they became idle, so the longest-idle agent is the first one — O(1) to find.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence

from closeloop.routing.model import AgentDef, AgentState, Contact, Counters, QueueDef


class RouterState:
    """Waiting contacts per queue, agents and their modes, idle agents per queue."""

    def __init__(
        self,
        queues: Sequence[QueueDef],
        agents: Sequence[AgentDef],
        modes: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.now = 0.0
        self.queues: dict[str, QueueDef] = {q.name: q for q in queues}
        self.modes = modes
        self.agents: list[AgentState] = [AgentState(agent=a, index=i) for i, a in enumerate(agents)]
        self.by_id: dict[str, AgentState] = {s.agent_id: s for s in self.agents}
        self._waiting: dict[str, deque[Contact]] = {q: deque() for q in self.queues}
        self._count: dict[str, int] = dict.fromkeys(self.queues, 0)
        self._idle: dict[str, dict[str, AgentState]] = {q: {} for q in self.queues}
        self.counters = Counters()
        for s in self.agents:
            s.mode = s.home_mode = self._initial_mode(s.agent)
            s.serving = self.serving_queues(s.agent, s.mode)

    # ---- reading (policies) ------------------------------------------------------

    def waiting_count(self, queue: str) -> int:
        """Contacts waiting in ``queue`` now."""
        return self._count[queue]

    def head(self, queue: str) -> Contact | None:
        """The oldest contact still waiting in ``queue`` (FCFS head), or None."""
        dq = self._waiting[queue]
        while dq and dq[0].gone:
            dq.popleft()
        return dq[0] if dq else None

    def oldest_arrival(self, queue: str) -> float | None:
        """Arrival time of the head of ``queue``, or None when empty."""
        c = self.head(queue)
        return None if c is None else c.arrived_at

    def waiting(self, queue: str) -> Iterator[Contact]:
        """Contacts waiting in ``queue``, oldest first."""
        self.head(queue)  # drop taken contacts from the front first
        return (c for c in self._waiting[queue] if not c.gone)

    def idle_agents(self, queue: str) -> Iterable[AgentState]:
        """Idle agents serving ``queue``, longest idle first."""
        return self._idle[queue].values()

    def idle_count(self, queue: str) -> int:
        """How many idle agents serve ``queue``."""
        return len(self._idle[queue])

    def longest_idle(self, queue: str) -> AgentState | None:
        """The idle agent serving ``queue`` who has been idle longest."""
        idle = self._idle[queue]
        return next(iter(idle.values())) if idle else None

    def pick_agent(self, contact: Contact) -> AgentState | None:
        """The idle agent that takes ``contact`` by its queue's ``selection`` rule, or None.

        ``random`` picks uniformly among the idle agents serving the queue, using the
        contact's own uniform ``u`` (drawn with the traffic, so a run is reproducible and
        the policy stays deterministic); ``ordered`` takes the longest idle agent of the
        first group in ``agent_order`` that has one, then agents of no listed group.
        """
        q = self.queues[contact.queue]
        idle = self._idle[contact.queue]
        if not idle or q.selection == "longest_idle":
            return next(iter(idle.values())) if idle else None
        if q.selection == "random":
            n = len(idle)
            return list(idle.values())[min(int(contact.u * n), n - 1)]
        rank = {g: i for i, g in enumerate(q.agent_order)}
        last = len(rank)
        return min(idle.values(), key=lambda a: rank.get(a.agent.group, last))

    def is_busy(self, agent: AgentState) -> bool:
        """True while the agent is on a call or in wrap-up."""
        return agent.busy

    def agent(self, agent_id: str) -> AgentState:
        """An agent's state by id."""
        return self.by_id[agent_id]

    def level(self, agent: AgentState, queue: str) -> int:
        """The agent's proficiency (0 if none) in the skill ``queue`` needs."""
        return agent.agent.skills.get(self.queues[queue].skill, 0)

    def serving_queues(self, agent: AgentDef, mode: str | None) -> tuple[str, ...]:
        """Queues an agent takes in ``mode``: those its skills allow, limited to the mode's queues."""
        allowed = self.queues if self.modes is None or mode is None else self.modes.get(mode, ())
        return tuple(q for q in allowed if agent.skills.get(self.queues[q].skill, 0) >= 1)

    # ---- mutating (the clock owner) ---------------------------------------------

    def add_contact(self, contact: Contact) -> None:
        """A contact starts waiting."""
        self._waiting[contact.queue].append(contact)
        self._count[contact.queue] += 1

    def remove_contact(self, contact: Contact) -> None:
        """A contact stops waiting (taken or abandoned); removed lazily from the deque."""
        if not contact.gone:
            contact.gone = True
            self._count[contact.queue] -= 1

    def mark_idle(self, agent: AgentState, now: float) -> None:
        """The agent can take work from now on (it goes to the back of the idle order)."""
        agent.busy = False
        agent.idle_since = now
        for q in agent.serving:
            self._idle[q][agent.agent_id] = agent

    def mark_busy(self, agent: AgentState) -> None:
        """The agent took a contact."""
        agent.busy = True
        agent.idle_since = None
        self._leave_idle(agent)

    def mark_off(self, agent: AgentState) -> None:
        """The agent's shift ended (idle agents leave at once, busy ones after their call)."""
        agent.on_shift = False
        agent.idle_since = None
        self._leave_idle(agent)

    def set_mode(self, agent: AgentState, mode: str, now: float) -> None:
        """Switch mode now; a busy agent keeps its call and takes the new mode's work after it."""
        idle = agent.idle_since is not None
        if idle:
            self._leave_idle(agent)
        if mode != agent.mode:
            agent.calls_in_mode = 0
        agent.mode, agent.mode_since = mode, now
        agent.serving = self.serving_queues(agent.agent, mode)
        if idle:
            self.mark_idle(agent, now)

    def _leave_idle(self, agent: AgentState) -> None:
        for q in agent.serving:
            self._idle[q].pop(agent.agent_id, None)

    def _initial_mode(self, agent: AgentDef) -> str | None:
        if self.modes is None:
            return None
        if agent.home_mode is not None:
            return agent.home_mode
        for mode, queues in self.modes.items():
            if any(agent.skills.get(self.queues[q].skill, 0) >= 1 for q in queues):
                return mode
        return None
