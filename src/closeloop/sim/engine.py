"""The general discrete-event engine: one heap of events, the policy asked at each one.

Fresh arrivals are not pushed on the heap: they are read in time order from the traffic
and merged with the heap's head, so the heap stays small (calls in service, patience
timers, shifts, reviews). Abandonment timers are cancelled lazily (a contact that was
taken is marked ``gone``). Every call's record is complete when it is assigned, so the
run stops at the horizon without draining.
"""

from __future__ import annotations

import heapq
import math
from itertools import count
from typing import Any

import numpy as np

from closeloop.errors import SimulationError
from closeloop.routing import Assign, ChangeMode, Contact, Decision, Dial, SetTimer, Timer
from closeloop.routing.model import AgentState
from closeloop.sim.limits import Limits
from closeloop.sim.roster import Roster
from closeloop.sim.scenario import StaffPlan
from closeloop.sim.traffic import ABANDONED, DROPPED, NO_ANSWER, SERVED, Jobs
from closeloop.sim.windows import Windows
from closeloop.sim.world import World

END, ABANDON, RETRY, SHIFT_ON, SHIFT_OFF, REVIEW, TIMER, CONNECT, MAX_WAIT, HANG_UP, STAFF, TRANSFER, WINDOW = range(13)


class EventEngine:
    """Runs any policy exactly, event by event."""

    def __init__(self, world: World, jobs: Jobs) -> None:
        self.w, self.jobs = world, jobs
        self.policy = world.policy
        self.state = world.new_state()
        self.events: list[tuple[Any, ...]] = []  # (time, seq, kind, x, y) in a heap
        self.seq = count()
        self.qnames = [q.name for q in world.qdefs]
        self.drop_after = float(self.policy.p.get("drop_after_s", 2.0))
        self.lim = Limits(world.scenario, self.state, jobs, self.push, MAX_WAIT, HANG_UP)
        self.patience_mode = [q.retrial_patience for q in world.scenario.queues]
        plans: dict[StaffPlan, list[int]] = {}
        for ai, a in enumerate(world.scenario.agents):
            if a.plan is not None:
                plans.setdefault(a.plan, []).append(ai)
        self.roster = Roster(plans, self.state, world.horizon) if plans else None
        qs = world.scenario.queues
        self.xfer = [(q.transfer_prob, self.qnames.index(q.transfer_to), q.conference) if q.transfer_prob > 0 else None
                     for q in qs]
        self.held: dict[int, tuple[int, int]] = {}  # transfer leg -> (first leg, its agent) held in conference
        self.windows = Windows(world.scenario, self.state) if any(q.dial_window for q in qs) else None

    def push(self, t: float, kind: int, x: object = None, y: object = None) -> None:
        """Schedule an event (ties keep the order they were pushed in)."""
        heapq.heappush(self.events, (t, next(self.seq), kind, x, y))

    def run(self) -> None:
        """Simulate from 0 to the horizon."""
        w, st, ev, jobs = self.w, self.state, self.events, self.jobs
        H = w.horizon
        for ai, spans in enumerate(w.duty):
            for on, off in spans:
                self.push(on, SHIFT_ON, ai)
                if off < H:
                    self.push(off, SHIFT_OFF, ai)
        if self.policy.review_s:
            self.push(self.policy.review_s, REVIEW)
        if self.roster is not None:
            for t, plan in self.roster.boundaries():
                self.push(t, STAFF, plan)
        if self.windows is not None:
            for t, qi, opens in self.windows.events():
                self.push(t, WINDOW, qi, opens)
        nf = jobs.n_fresh
        order = np.argsort(np.asarray(jobs.arrive[:nf]), kind="stable").tolist()
        arrive = jobs.arrive
        ptr = 0
        while True:
            ta = arrive[order[ptr]] if ptr < nf else math.inf
            if ev and ev[0][0] <= ta:
                t, _, kind, x, y = heapq.heappop(ev)
                if t >= H:
                    break
                st.now = t
                self._event(kind, x, y)
            else:
                if ta >= H:
                    break
                st.now = ta
                self._arrive(order[ptr])
                ptr += 1

    # ---- events -----------------------------------------------------------------

    def _event(self, kind: int, x: Any, y: object) -> None:
        # x is the event's payload: an index (agent, job, queue) or a SetTimer, by kind
        st = self.state
        if kind == END:
            self._free(st.agents[x])
        elif kind == ABANDON:
            self._abandon(x)
        elif kind == RETRY:
            self._arrive(x)
        elif kind == SHIFT_ON:
            a = st.agents[x]
            a.on_shift = True
            if not a.busy:
                st.mark_idle(a, st.now)
                self.apply(self.policy.on_agent_free(st, a))
        elif kind == SHIFT_OFF:
            st.mark_off(st.agents[x])
        elif kind == REVIEW:
            nxt = st.now + self.policy.review_s  # type: ignore[operator]
            if nxt < self.w.horizon:
                self.push(nxt, REVIEW)
            self.apply(self.policy.on_timer(st, Timer("review")))
        elif kind == TIMER:
            d: SetTimer = x
            self.apply(self.policy.on_timer(st, Timer(d.tag, d.contact)))
        elif kind == CONNECT:
            self._connect(x)
        elif kind == MAX_WAIT:
            nj = self.lim.max_wait(x)
            if nj >= 0:
                self._arrive(nj)
        elif kind == HANG_UP:
            self.lim.hang_up(x)
        elif kind == WINDOW:
            if y:
                self.windows.reopen(x, self._arrive)  # type: ignore[union-attr]
            else:
                self.windows.close(x, self.qnames[x])  # type: ignore[union-attr]
        elif kind == TRANSFER:
            self._transfer(x)
        elif kind == STAFF:
            self.roster.change(x, st.now, lambda a: self.apply(self.policy.on_agent_free(st, a)))  # type: ignore

    def _arrive(self, j: int) -> None:
        jobs, st = self.jobs, self.state
        qi = jobs.q[j]
        qname = self.qnames[qi]
        if self.windows is not None and self.windows.park(qi, j):
            return
        lim = self.lim.on[qi]
        if lim and self.lim.no_line(qi, j):
            self._retry(j)
            return
        c = Contact(j, qname, st.now, self.w.qdefs[qi].priority, u=jobs.u[j])
        st.add_contact(c)
        self.apply(self.policy.on_arrival(st, c))
        if not c.gone and not self.w.outbound[qi]:
            if lim and self.lim.turned_away(qi, c):
                self._retry(j)
                return
            pat = jobs.patience[j]
            if lim and self.lim.max_wait_first(qi, c, pat):
                return
            if pat != math.inf:
                self.push(st.now + pat, ABANDON, c)

    def _free(self, a: AgentState) -> None:
        st = self.state
        if not a.on_shift:
            a.busy = False
            return
        if self.roster is not None and self.roster.leaves_when_free(a, st.now):
            return
        st.mark_idle(a, st.now)
        self.apply(self.policy.on_agent_free(st, a))

    def _abandon(self, c: Contact) -> None:
        if c.gone:
            return
        st, jobs = self.state, self.jobs
        st.remove_contact(c)
        j = c.key
        jobs.end[j] = st.now
        if c.connected:
            st.counters.extra["connected_waiting"] -= 1
            jobs.status[j] = DROPPED
            st.counters.dropped += 1
            return
        jobs.status[j] = ABANDONED
        if j in self.held:
            self._release(j, st.now)
        self._retry(j)

    def _transfer(self, j: int) -> None:
        """The first agent's talk ended: the caller joins the transfer queue (the agent stays on in
        a conference, else goes to wrap-up as usual)."""
        _, to, conference = self.xfer[self.jobs.q[j]]  # type: ignore[misc]
        nj = self.jobs.add_transfer(j, to, self.state.now)
        if conference:
            self.held[nj] = (j, self.jobs.agent[j])
        self._arrive(nj)

    def _release(self, nj: int, t: float) -> None:
        """The conference of transfer leg ``nj`` ends at ``t``: the first agent finishes its wrap-up."""
        j, ai = self.held.pop(nj)
        self.jobs.end[j] = t
        self.push(t + self.jobs.wrap[j], END, ai, j)

    def _retry(self, j: int) -> None:
        """A caller who abandoned, was blocked or balked calls back later, if it wants to."""
        jobs = self.jobs
        if jobs.wants_retry(j):
            nj = jobs.add_attempt(j, jobs.retry_at(j, jobs.end[j]), self.patience_mode[jobs.q[j]])
            self.push(jobs.arrive[nj], RETRY, nj)

    def _connect(self, j: int) -> None:
        st = self.state
        st.counters.connected += 1
        st.counters.extra["in_flight"] = st.counters.extra.get("in_flight", 0) - 1
        self.jobs.answer[j] = st.now
        c = Contact(j, self.qnames[self.jobs.q[j]], st.now, self.w.qdefs[self.jobs.q[j]].priority, connected=True)
        extra = st.counters.extra
        extra["connected_waiting"] = extra.get("connected_waiting", 0) + 1
        st.add_contact(c)
        self.apply(self.policy.on_arrival(st, c))
        if not c.gone:
            self.push(st.now + self.drop_after, ABANDON, c)

    # ---- decisions --------------------------------------------------------------

    def apply(self, decisions: list[Decision]) -> None:
        """Carry out a policy's decisions, checking each against the state."""
        st = self.state
        for d in decisions:
            if type(d) is Assign:
                self._assign(d.contact, d.agent_id)
            elif type(d) is ChangeMode:
                a = st.by_id[d.agent_id]
                idle = a.on_shift and not a.busy
                st.set_mode(a, d.mode, st.now)
                if idle:
                    self.apply(self.policy.on_agent_free(st, a))
            elif type(d) is SetTimer:
                self.push(max(d.at, st.now), TIMER, d)
            elif type(d) is Dial:
                self._dial(d)
            else:
                raise SimulationError(f"policy {self.policy.name!r} returned {d!r}, which is not a decision")

    def _assign(self, c: Contact, agent_id: str) -> None:
        st, jobs, w = self.state, self.jobs, self.w
        a = st.by_id.get(agent_id)
        if a is None or a.busy or not a.on_shift or c.gone or c.queue not in a.serving:
            raise SimulationError(
                f"policy {self.policy.name!r} assigned contact {c.key} of {c.queue!r} to {agent_id!r}, "
                "who is not an idle on-shift agent serving that queue (or the contact is gone)"
            )
        st.remove_contact(c)
        st.mark_busy(a)
        a.calls_in_mode += 1
        if c.connected:
            st.counters.extra["connected_waiting"] -= 1
        j, now, ai = c.key, st.now, a.index
        qi = jobs.q[j]
        jobs.agent[j] = ai
        if w.outbound[qi] and not c.connected:
            jobs.start[j] = now
            st.counters.dialed += 1
            if jobs.reached[j]:
                ans = now + w.connect_s[qi]
                e = ans + jobs.base[j] * w.factor[qi][ai]
                jobs.answer[j], jobs.status[j], free = ans, SERVED, e + jobs.wrap[j]
            else:
                e = free = now + (w.wrong_s[qi] if jobs.u[j] else w.ring_s[qi])
                jobs.status[j] = NO_ANSWER
                if jobs.wants_retry(j):
                    nj = jobs.add_attempt(j, jobs.retry_at(j, e))
                    self.push(jobs.arrive[nj], RETRY, nj)
        else:
            if not c.connected:
                jobs.start[j] = jobs.answer[j] = now
            e = now + jobs.base[j] * w.factor[qi][ai]
            jobs.status[j], free = SERVED, e + jobs.wrap[j]
            if self.lim.trunks[qi] >= 0:
                self.lim.talking(qi, e)
            x = self.xfer[qi]
            if x is not None and not jobs.leg[j] and jobs.draw("xfer", jobs.root[j], jobs.att[j]) < x[0]:
                jobs.end[j] = e
                self.push(e, TRANSFER, j)
                if x[2]:
                    return  # conference: the agent is released when the transfer leg's talk ends
        if j in self.held:
            self._release(j, e)
        jobs.end[j] = e
        self.push(free, END, ai, j)

    def _dial(self, d: Dial) -> None:
        st, jobs, w = self.state, self.jobs, self.w
        qi = w.qindex[d.queue]
        leads = [c for _, c in zip(range(d.lines), (c for c in st.waiting(d.queue) if not c.connected),
                                   strict=False)]
        for c in leads:
            st.remove_contact(c)
            j = c.key
            jobs.start[j] = st.now
            st.counters.dialed += 1
            if jobs.reached[j]:
                st.counters.extra["in_flight"] = st.counters.extra.get("in_flight", 0) + 1
                self.push(st.now + w.connect_s[qi], CONNECT, j)
            else:
                jobs.end[j] = st.now + (w.wrong_s[qi] if jobs.u[j] else w.ring_s[qi])
                jobs.status[j] = NO_ANSWER
                if jobs.wants_retry(j):
                    nj = jobs.add_attempt(j, jobs.retry_at(j, jobs.end[j]))
                    self.push(jobs.arrive[nj], RETRY, nj)


def run_events(world: World, jobs: Jobs) -> None:
    """Fill ``jobs`` with the results of an event-by-event run (and ``world.duty`` of staffing plans)."""
    eng = EventEngine(world, jobs)
    eng.run()
    if eng.roster is not None:
        for ai, spans in eng.roster.duty().items():
            world.duty[ai] = spans
