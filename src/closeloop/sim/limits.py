"""Callers turned away or moved on: waiting places, trunk lines, balking, a maximum wait.

Semantics (docs/simulator.md, "Capacity limits"), applied by the event engine to inbound
queues in this order when a caller arrives:

1. **Trunks** — ``trunks`` lines are held by this queue's calls waiting or talking
   (wrap-up frees the line). A caller finding none free is ``BLOCKED`` (Erlang B when
   ``trunks`` equals the agents and there is no wrap-up).
2. The policy is asked; a caller taken at once never waits and is never turned away.
3. **Capacity** — a caller who must wait and finds ``capacity`` others waiting is
   ``BLOCKED`` (the M/M/c/K queue with K = agents + capacity).
4. **Balking** — otherwise it balks with probability ``balk_prob[n]`` (n others waiting;
   the last value repeats), decided by the caller's own uniform draw.
5. **Maximum wait** — a caller still waiting after ``max_wait_s`` (and still patient)
   leaves a message (``MESSAGE``) or moves to ``overflow_to`` with the patience it has
   left (its leg in the first queue is ``OVERFLOWED``).

Blocked and balked callers call back like abandoning ones (``retrial_prob``, ...).
"""

from __future__ import annotations

from collections.abc import Callable

from closeloop.routing import Contact, RouterState
from closeloop.sim.scenario import Scenario
from closeloop.sim.traffic import BALKED, BLOCKED, MESSAGE, OVERFLOWED, Jobs


class Limits:
    """Per-queue limits and the counters they need, for one event-engine run."""

    def __init__(self, s: Scenario, state: RouterState, jobs: Jobs, push: Callable[..., None], max_wait_kind: int,
                 hang_up_kind: int) -> None:
        self.st, self.jobs, self.push = state, jobs, push
        self.kinds = (max_wait_kind, hang_up_kind)
        names = [q.name for q in s.queues]
        self.qnames = names
        self.on = [q.limited for q in s.queues]
        self.capacity = [q.capacity for q in s.queues]
        self.trunks = [q.trunks for q in s.queues]
        self.balk = [list(q.balk_prob) for q in s.queues]
        self.max_wait_s = [q.max_wait_s for q in s.queues]
        self.overflow = [names.index(q.overflow_to) if q.overflow_to else -1 for q in s.queues]
        self.talk = [0] * len(names)

    def _away(self, j: int, status: int) -> None:
        self.jobs.status[j] = status
        self.jobs.end[j] = self.st.now

    def no_line(self, qi: int, j: int) -> bool:
        """All trunk lines are held: the caller is blocked (True)."""
        n = self.trunks[qi]
        if n < 0 or self.st.waiting_count(self.qnames[qi]) + self.talk[qi] < n:
            return False
        self._away(j, BLOCKED)
        return True

    def turned_away(self, qi: int, c: Contact) -> bool:
        """A caller who must wait is blocked (no waiting place) or balks (True): it leaves now."""
        others = self.st.waiting_count(c.queue) - 1
        cap, balk = self.capacity[qi], self.balk[qi]
        if cap >= 0 and others >= cap:
            status = BLOCKED
        elif balk and c.u < balk[min(others, len(balk) - 1)]:
            status = BALKED
        else:
            return False
        self.st.remove_contact(c)
        self._away(c.key, status)
        return True

    def max_wait_first(self, qi: int, c: Contact, patience: float) -> bool:
        """Schedule the maximum wait instead of the patience timer when it comes first (True)."""
        mw = self.max_wait_s[qi]
        if 0 < mw < patience:
            self.push(self.st.now + mw, self.kinds[0], c)
            return True
        return False

    def max_wait(self, c: Contact) -> int:
        """The caller waited ``max_wait_s``: leaves a message (-1) or overflows (the new job's id)."""
        if c.gone:
            return -1
        st, jobs = self.st, self.jobs
        st.remove_contact(c)
        j = c.key
        qi = jobs.q[j]
        to = self.overflow[qi]
        if to < 0:
            self._away(j, MESSAGE)
            return -1
        self._away(j, OVERFLOWED)
        return jobs.add_overflow(j, to, st.now, jobs.patience[j] - self.max_wait_s[qi])

    def talking(self, qi: int, talk_end: float) -> None:
        """A call of queue ``qi`` holds a trunk line until its talk ends."""
        self.talk[qi] += 1
        self.push(talk_end, self.kinds[1], qi)

    def hang_up(self, qi: int) -> None:
        """A call's talk ended: its line is free."""
        self.talk[qi] -= 1
