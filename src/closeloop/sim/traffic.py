"""Traffic: every contact attempt of a run, drawn up front from per-queue random streams.

Common random numbers: each queue draws from its own stream (spawned from the run's seed),
and every attempt's patience, talk time and reach are drawn per (caller, attempt) before
any routing happens. Two policies run on the same seed therefore see the same callers,
with the same patience and needs, whatever order the engine meets them in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np

from closeloop.sim.scenario import QueueSpec, Scenario

GRID_S = 900.0  # arrival rates are piecewise constant on this grid
INBOUND_ATTEMPTS = 4  # a caller who abandons may call back up to three times

WAITING, SERVED, ABANDONED, NO_ANSWER, DROPPED = 0, 1, 2, 3, 4


@dataclass
class Leads:
    """Leads of a run (from the scenario, a caller, or generated for outbound campaigns)."""

    lead_id: list[str] = field(default_factory=list)
    created_s: list[float] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)


@dataclass
class Jobs:
    """Contact attempts: inputs per job (lists, for fast scalar access), results filled by an engine."""

    q: list[int]
    arrive: list[float]
    root: list[int]
    att: list[int]
    patience: list[float]
    base: list[float]
    wrap: list[float]
    reached: list[bool]
    root_queue: np.ndarray
    root_lead: np.ndarray
    root_quality: np.ndarray
    attempts: np.ndarray  # attempts allowed per root
    m_patience: np.ndarray
    m_base: np.ndarray
    m_reached: np.ndarray
    m_retry: np.ndarray
    m_delay: np.ndarray
    blocks: list[tuple[int, int]]
    leads: Leads
    start: list[float] = field(default_factory=list)
    answer: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    agent: list[int] = field(default_factory=list)
    status: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.q)
        self.start, self.answer, self.end = [math.nan] * n, [math.nan] * n, [math.nan] * n
        self.agent, self.status = [-1] * n, [WAITING] * n
        self._cache: dict[str, np.ndarray] = {}
        # later attempts are looked up one by one in the hot loops: plain lists are much faster
        multi = self.m_base.ndim == 2 and self.m_base.shape[1] > 1
        self._w = self.m_base.shape[1] if multi else 1
        self._natt: list[int] = self.attempts.tolist() if multi else []
        flat = (lambda m: m.ravel().tolist()) if multi else (lambda m: [])
        self._retry: list[bool] = flat(self.m_retry)
        self._delay: list[float] = flat(self.m_delay)
        self._pat: list[float] = flat(self.m_patience)
        self._base: list[float] = flat(self.m_base)
        self._reach: list[bool] = flat(self.m_reached)

    def array(self, name: str) -> np.ndarray:
        """A result or input column as a numpy array (cached; call after the run)."""
        if name not in self._cache:
            kind = np.int64 if name in ("q", "root", "att", "agent", "status") else None
            self._cache[name] = np.asarray(getattr(self, name), dtype=kind)
        return self._cache[name]

    @property
    def n_fresh(self) -> int:
        """Number of first attempts (callers and leads)."""
        return len(self.root_queue)

    def wants_retry(self, j: int) -> bool:
        """Whether job ``j`` would be followed by another attempt (if it failed)."""
        if not self._natt:
            return False
        r, k = self.root[j], self.att[j] + 1
        return k < self._natt[r] and self._retry[r * self._w + k - 1]

    def retry_at(self, j: int, t: float) -> float:
        """When the next attempt after job ``j`` (failed at ``t``) arrives."""
        return t + self._delay[self.root[j] * self._w + self.att[j]]

    def add_attempt(self, j: int, t: float) -> int:
        """Append the next attempt of job ``j``'s caller or lead, arriving at ``t``; return its id."""
        r, k = self.root[j], self.att[j] + 1
        self.q.append(self.q[j])
        self.arrive.append(t)
        self.root.append(r)
        self.att.append(k)
        i = r * self._w + k
        self.patience.append(self._pat[i])
        self.base.append(self._base[i])
        self.wrap.append(self.wrap[j])
        self.reached.append(self._reach[i])
        self.start.append(math.nan)
        self.answer.append(math.nan)
        self.end.append(math.nan)
        self.agent.append(-1)
        self.status.append(WAITING)
        return len(self.q) - 1


def rate_grid(s: Scenario, q: QueueSpec, rng: np.random.Generator) -> np.ndarray:
    """Arrival rate (per second) on each GRID_S interval, with day factors and busyness."""
    n = math.ceil(s.horizon_s / GRID_S)
    prof = np.asarray(q.profile(), dtype=float) / 3600.0
    tz = ZoneInfo(s.timezone)
    rates = np.empty(n)
    day_of: list[object] = []
    for k in range(n):
        local = (s.start + timedelta(seconds=(k + 0.5) * GRID_S)).astimezone(tz)
        sod = local.hour * 3600 + local.minute * 60 + local.second
        r = prof[min(int(sod * len(prof) // 86400), len(prof) - 1)]
        if q.day_factors:
            r *= q.day_factors[local.weekday()]
        rates[k] = r
        day_of.append(local.date())
    if q.busyness_sd > 0:
        days = sorted(set(day_of))
        shape = 1.0 / q.busyness_sd**2
        factor = dict(zip(days, rng.gamma(shape, 1.0 / shape, len(days)), strict=True))
        rates *= np.array([factor[d] for d in day_of])
    return rates


def poisson_times(rates: np.ndarray, horizon: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times of a piecewise-constant Poisson process on the GRID_S grid."""
    lengths = np.minimum(GRID_S, horizon - np.arange(len(rates)) * GRID_S)
    counts = rng.poisson(rates * lengths)
    starts = np.repeat(np.arange(len(rates)) * GRID_S, counts)
    times = starts + rng.random(int(counts.sum())) * np.repeat(lengths, counts)
    times.sort()
    return times


def _handle(q: QueueSpec, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    m = q.handle_mean_s
    if q.handle_dist == "exponential":
        return rng.exponential(m, shape)
    sd = q.handle_sd_s
    if sd <= 0:
        return np.full(shape, m)
    s2 = math.log1p((sd / m) ** 2)
    return rng.lognormal(math.log(m) - s2 / 2, math.sqrt(s2), shape)


def _quality(sd: float, rng: np.random.Generator, n: int) -> np.ndarray:
    if sd <= 0:
        return np.ones(n)
    s2 = math.log1p(sd**2)
    return rng.lognormal(-s2 / 2, math.sqrt(s2), n)


def _attempts(q: QueueSpec) -> int:
    """Attempts a caller or lead of this queue may make."""
    if q.outbound:
        return q.max_attempts
    return INBOUND_ATTEMPTS if q.retrial_prob > 0 and q.patience_mean_s > 0 else 1


def draw_traffic(s: Scenario, seed: np.random.SeedSequence) -> Jobs:
    """All first attempts and the per-attempt draws of later ones, queue by queue."""
    streams = seed.spawn(len(s.queues))
    leads = Leads()
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "qi", "lead", "qual", "pat", "base", "reach", "retry",
                                                          "delay", "natt")}
    width = max(_attempts(q) for q in s.queues)
    blocks: list[tuple[int, int]] = []
    pos = 0
    for qi, q in enumerate(s.queues):
        rng = np.random.default_rng(streams[qi])
        times, lead_idx, qual = _arrivals(s, q, rng, leads)
        n = len(times)
        blocks.append((pos, pos + n))
        pos += n
        pat = rng.exponential(q.patience_mean_s, (n, width)) if q.patience_mean_s > 0 else np.full((n, width), np.inf)
        base = _handle(q, rng, (n, width))
        reach = rng.random((n, width)) < q.reach_prob if q.outbound else np.ones((n, width), dtype=bool)
        if q.outbound:
            retry = np.ones((n, width), dtype=bool)
            delay = np.full((n, width), q.retry_after_s)
        else:
            retry = rng.random((n, width)) < q.retrial_prob
            delay = rng.exponential(q.retrial_delay_s, (n, width)) if q.retrial_delay_s > 0 else np.zeros((n, width))
        for k, v in (("t", times), ("qi", np.full(n, qi)), ("lead", lead_idx), ("qual", qual), ("pat", pat),
                     ("base", base), ("reach", reach), ("retry", retry), ("delay", delay),
                     ("natt", np.full(n, _attempts(q)))):
            cols[k].append(v)
    cat = {k: np.concatenate(v) if v else np.empty(0) for k, v in cols.items()}
    wrap = np.concatenate([np.full(b - a, s.queues[i].wrap_s) for i, (a, b) in enumerate(blocks)] or [np.empty(0)])
    n_all = len(cat["t"])
    return Jobs(
        q=cat["qi"].astype(np.int64).tolist(), arrive=cat["t"].tolist(), root=list(range(n_all)), att=[0] * n_all,
        patience=cat["pat"][:, 0].tolist() if n_all else [], base=cat["base"][:, 0].tolist() if n_all else [],
        wrap=wrap.tolist(), reached=cat["reach"][:, 0].tolist() if n_all else [],
        root_queue=cat["qi"].astype(np.int64), root_lead=cat["lead"].astype(np.int64), root_quality=cat["qual"],
        attempts=cat["natt"].astype(np.int64), m_patience=cat["pat"], m_base=cat["base"], m_reached=cat["reach"],
        m_retry=cat["retry"], m_delay=cat["delay"], blocks=blocks, leads=leads,
    )


def _arrivals(
    s: Scenario, q: QueueSpec, rng: np.random.Generator, leads: Leads,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrival (or lead-ready) times, lead indexes (-1 none) and lead quality of one queue."""
    H = s.horizon_s
    if q.leads:
        given = sorted((ld for ld in q.leads if ld.ready_s < H), key=lambda ld: ld.ready_s)
        first = len(leads.lead_id)
        for ld in given:
            leads.lead_id.append(ld.lead_id)
            leads.created_s.append(ld.ready_s)
            leads.source.append(ld.source)
            leads.quality.append(ld.quality)
        return (np.array([ld.ready_s for ld in given], dtype=float), np.arange(first, first + len(given)),
                np.array([ld.quality for ld in given], dtype=float))
    times = poisson_times(rate_grid(s, q, rng), H, rng)
    if q.outbound and q.initial_leads:
        times = np.concatenate([np.zeros(q.initial_leads), times])
    qual = _quality(q.lead_quality_sd, rng, len(times))
    if not q.outbound:
        return times, np.full(len(times), -1), qual
    first = len(leads.lead_id)
    leads.lead_id.extend(f"{q.name}-L{i:07d}" for i in range(len(times)))
    leads.created_s.extend(times.tolist())
    leads.source.extend(["generated"] * len(times))
    leads.quality.extend(qual.tolist())
    return times, np.arange(first, first + len(times)), qual
