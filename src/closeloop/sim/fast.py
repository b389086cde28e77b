"""The pooled fast path: exact for policies where each agent serves one queue at a time.

When every agent serves a single queue (dedicated agents, or sticky modes with one queue
per mode) and the policy acts only on periodic reviews, each queue is a separate FCFS
pool with longest-idle agent choice between reviews and shift changes. Then a heap of the
pool's agents keyed by the time each becomes free *is* the whole state: the next caller
starts at ``max(arrival, earliest free)`` with the agent free earliest — the one idle
longest — unless its patience runs out first (Kiefer–Wolfowitz recursion with
abandonment). No event list, no per-call objects.

Time is cut into slices at reviews and shift changes; within a slice a call is served
only if an agent frees before the slice ends, so the policy sees the true state at each
review. The result is the same, record for record, as the event engine with the same
policy and seed (tests check this).
"""

from __future__ import annotations

import heapq
import math

from closeloop.errors import SimulationError
from closeloop.routing import ChangeMode, Contact, RouterState, Timer
from closeloop.routing.model import AgentState
from closeloop.sim.traffic import ABANDONED, MESSAGE, NO_ANSWER, SERVED, WAITING, Jobs
from closeloop.sim.world import World


class PoolState(RouterState):
    """The router state as the fast path knows it at a review: counts, not contacts."""

    engine: PooledEngine

    def waiting_count(self, queue: str) -> int:
        """Callers waiting in ``queue`` at ``now`` (not yet served, patience not run out)."""
        return self.engine.waiting(self.engine.w.qindex[queue], self.now)

    def is_busy(self, agent: AgentState) -> bool:
        """On a call or in wrap-up at ``now``."""
        return self.engine.free[agent.index] > self.now

    def head(self, queue: str) -> Contact | None:
        """Not available on the fast path (policies that need it are not pooled)."""
        raise SimulationError("the fast path keeps no contact objects; this policy must use the event engine")


class PooledEngine:
    """Slice-by-slice FCFS pools; the policy is asked only at reviews."""

    def __init__(self, world: World, jobs: Jobs) -> None:
        self.w, self.jobs = world, jobs
        self.policy = world.policy
        st = PoolState(world.qdefs, world.scenario.agent_defs(), world.policy.modes)
        st.engine = self
        self.state = st
        nq, na = len(world.qdefs), len(st.agents)
        self.free = [0.0] * na
        self.pool = [-1] * na
        self.heaps: list[list[tuple[float, int]]] = [[] for _ in range(nq)]
        self.ptr = [lo for lo, _ in jobs.blocks]
        self.hi = [hi for _, hi in jobs.blocks]
        self.re: list[list[tuple[float, int]]] = [[] for _ in range(nq)]
        self.patience_mode = [q.retrial_patience for q in world.scenario.queues]
        # a maximum wait that ends in a message is a deadline like patience (an overflow is not: it crosses pools)
        self.max_wait = [q.max_wait_s if q.max_wait_s > 0 and not q.overflow_to else 0.0 for q in world.scenario.queues]

    # ---- driving ------------------------------------------------------------------

    def run(self) -> None:
        """Simulate from 0 to the horizon."""
        w, st = self.w, self.state
        H = w.horizon
        shifts = sorted(
            (t, ai, kind) for ai, spans in enumerate(w.duty) for on, off in spans
            for t, kind in ((on, 1), (off, 0)) if t < H
        )
        review = self.policy.review_s
        next_review = review if review else math.inf
        k = 0
        while True:
            t1 = min(shifts[k][0] if k < len(shifts) else math.inf, next_review, H)
            for q in range(len(self.heaps)):
                self.advance(q, t1, t1 >= H)
            if t1 >= H:
                return
            st.now = t1
            while k < len(shifts) and shifts[k][0] == t1:
                _, ai, kind = shifts[k]
                self._shift(st.agents[ai], kind == 1, t1)
                k += 1
            if next_review == t1:
                self._review(t1)
                next_review = t1 + review if t1 + review < H else math.inf  # type: ignore[operator]

    def _pool_of(self, a: AgentState) -> int:
        if len(a.serving) > 1:
            raise SimulationError(f"agent {a.agent_id} serves {a.serving}; the fast path needs one queue per agent")
        return self.w.qindex[a.serving[0]] if a.serving else -1

    def _join(self, a: AgentState, t: float) -> None:
        p = self._pool_of(a)
        self.pool[a.index] = p
        if p >= 0:
            heapq.heappush(self.heaps[p], (max(self.free[a.index], t), a.index))

    def _leave(self, a: AgentState) -> None:
        p = self.pool[a.index]
        if p >= 0:
            h = [e for e in self.heaps[p] if e[1] != a.index]
            heapq.heapify(h)
            self.heaps[p] = h
        self.pool[a.index] = -1

    def _shift(self, a: AgentState, on: bool, t: float) -> None:
        a.on_shift = on
        if on:
            self._join(a, t)
        else:
            self._leave(a)

    def _review(self, t: float) -> None:
        st = self.state
        for d in self.policy.on_timer(st, Timer("review")):
            if type(d) is not ChangeMode:
                raise SimulationError(f"policy {self.policy.name!r} returned {d!r} on the fast path")
            a = st.by_id[d.agent_id]
            if a.on_shift:
                self._leave(a)
            st.set_mode(a, d.mode, t)
            if a.on_shift:
                self._join(a, t)

    def waiting(self, q: int, t: float) -> int:
        """Jobs of pool ``q`` arrived before ``t``, not yet served, still patient at ``t``."""
        jobs = self.jobs
        arrive, status = jobs.arrive, jobs.status
        n = 0
        j = self.ptr[q]
        while j < self.hi[q] and arrive[j] < t:
            if status[j] == WAITING and self.deadline(q, j)[0] > t:
                n += 1
            j += 1
        return n + sum(1 for a, j in self.re[q] if a < t and status[j] == WAITING and self.deadline(q, j)[0] > t)

    def deadline(self, q: int, j: int) -> tuple[float, int]:
        """When caller ``j`` stops waiting if nobody answers, and how: abandoned, or a message after
        the maximum wait (when that comes first, as on the event engine)."""
        pat, mw = self.jobs.patience[j], self.max_wait[q]
        if mw and mw < pat:
            return self.jobs.arrive[j] + mw, MESSAGE
        return self.jobs.arrive[j] + pat, ABANDONED

    # ---- the hot loops --------------------------------------------------------------

    def advance(self, q: int, t1: float, final: bool) -> None:
        """Serve pool ``q`` up to ``t1`` (at the horizon, settle who abandoned)."""
        if self.w.outbound[q]:
            self._advance_out(q, t1)
        else:
            self._advance_in(q, t1, final)

    def _advance_in(self, q: int, t1: float, final: bool) -> None:
        jobs = self.jobs
        arrive, pat, base, wrap = jobs.arrive, jobs.patience, jobs.base, jobs.wrap
        start, answer, end, agent, status = jobs.start, jobs.answer, jobs.end, jobs.agent, jobs.status
        heap, re, fac, free = self.heaps[q], self.re[q], self.w.factor[q], self.free
        replace = heapq.heapreplace
        p, hi = self.ptr[q], self.hi[q]
        inf = math.inf
        mw = self.max_wait[q]
        while True:
            if p < hi:
                a = arrive[p]
                if re and re[0][0] < a:
                    a, j = re[0]
                    fresh = False
                else:
                    j, fresh = p, True
            elif re:
                a, j = re[0]
                fresh = False
            else:
                break
            if a >= t1:
                break
            if status[j] != WAITING:  # left already (settled at the end of an earlier slice)
                if fresh:
                    p += 1
                else:
                    heapq.heappop(re)
                continue
            f, ag = heap[0] if heap else (inf, -1)
            if f >= t1:
                if not final:
                    break
                f = inf  # the horizon: nobody frees in time; callers leave or are still waiting
            d = a + pat[j]
            if mw and mw < pat[j]:
                d = a + mw
            if f > a and d <= f:
                if d <= t1:
                    how = MESSAGE if mw and mw < pat[j] else ABANDONED
                    status[j], end[j] = how, d
                    if how == ABANDONED and jobs.wants_retry(j):
                        nj = jobs.add_attempt(j, jobs.retry_at(j, d), self.patience_mode[q])
                        heapq.heappush(re, (arrive[nj], nj))
            elif f != inf:
                s = f if f > a else a
                e = s + base[j] * fac[ag]
                nf = e + wrap[j]
                replace(heap, (nf, ag))
                free[ag] = nf
                start[j] = answer[j] = s
                end[j], agent[j], status[j] = e, ag, SERVED
            if fresh:
                p += 1
            else:
                heapq.heappop(re)
        self.ptr[q] = p
        if not final:
            self._settle(q, t1)

    def _settle(self, q: int, t1: float) -> None:
        """Callers still waiting whose patience ran out before ``t1`` have left (nobody frees in
        time); record it now so their call-backs exist and the review sees the true queue."""
        jobs = self.jobs
        arrive, status, end = jobs.arrive, jobs.status, jobs.end
        re = self.re[q]
        changed = True
        while changed:
            changed = False
            waiting = []
            j = self.ptr[q]
            while j < self.hi[q] and arrive[j] < t1:
                waiting.append(j)
                j += 1
            waiting.extend(k for a, k in re if a < t1)
            for k in waiting:
                d, how = self.deadline(q, k)
                if status[k] == WAITING and d <= t1:
                    status[k], end[k] = how, d
                    if how == ABANDONED and jobs.wants_retry(k):
                        nk = jobs.add_attempt(k, jobs.retry_at(k, d), self.patience_mode[q])
                        heapq.heappush(re, (arrive[nk], nk))
                        changed = True

    def _advance_out(self, q: int, t1: float) -> None:
        jobs, w = self.jobs, self.w
        arrive, base, wrap, reached = jobs.arrive, jobs.base, jobs.wrap, jobs.reached
        start, answer, end, agent, status = jobs.start, jobs.answer, jobs.end, jobs.agent, jobs.status
        heap, re, fac, free = self.heaps[q], self.re[q], w.factor[q], self.free
        conn, ring, wrong, u = w.connect_s[q], w.ring_s[q], w.wrong_s[q], jobs.u
        p, hi = self.ptr[q], self.hi[q]
        while heap:
            if p < hi:
                a = arrive[p]
                if re and re[0][0] < a:
                    a, j = re[0]
                    fresh = False
                else:
                    j, fresh = p, True
            elif re:
                a, j = re[0]
                fresh = False
            else:
                break
            f, ag = heap[0]
            if a >= t1 or f >= t1:
                break
            s = a if a > f else f
            if reached[j]:
                ans = s + conn
                e = ans + base[j] * fac[ag]
                nf = e + wrap[j]
                answer[j], status[j] = ans, SERVED
            else:
                e = nf = s + (wrong if u[j] else ring)
                status[j] = NO_ANSWER
                if jobs.wants_retry(j):
                    nj = jobs.add_attempt(j, jobs.retry_at(j, e))
                    heapq.heappush(re, (arrive[nj], nj))
            heapq.heapreplace(heap, (nf, ag))
            free[ag] = nf
            start[j], end[j], agent[j] = s, e, ag
            if fresh:
                p += 1
            else:
                heapq.heappop(re)
        self.ptr[q] = p


def run_pooled(world: World, jobs: Jobs) -> None:
    """Fill ``jobs`` with the results of a pooled fast-path run."""
    PooledEngine(world, jobs).run()
