"""Traffic: every contact attempt of a run, drawn up front from per-queue random streams.

Common random numbers: each queue draws from its own stream (spawned from the run's seed),
and every attempt's patience, talk time and reach are drawn per (caller, attempt) before
any routing happens. Two policies run on the same seed therefore see the same callers,
with the same patience and needs, whatever order the engine meets them in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from closeloop.sim.scenario import QueueSpec, Scenario

GRID_S = 900.0  # arrival rates are piecewise constant on this grid
PREDRAWN = 8  # attempts per caller drawn up front when call-backs are unlimited; later ones on demand
UNLIMITED = 1 << 40

WAITING, SERVED, ABANDONED, NO_ANSWER, DROPPED, BLOCKED, BALKED, MESSAGE, OVERFLOWED = range(9)
TURNED_AWAY = (BLOCKED, BALKED)


@dataclass
class Leads:
    """Leads of a run (from the scenario, a caller, or generated for outbound campaigns)."""

    lead_id: list[str] = field(default_factory=list)
    created_s: list[float] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)


# per-attempt draws, in the order each queue's stream makes them (old draws first: pinned results hold)
DRAWS = ("patience", "base", "reached", "retry", "delay", "wrap", "u", "xfer")


@dataclass
class Jobs:
    """Contact attempts: inputs per job (lists, for fast scalar access), results filled by an engine.

    ``m[name]`` holds each caller's per-attempt draws (``DRAWS``), shape (callers, width);
    an attempt beyond the width (unlimited call-backs) is drawn by ``late(root, attempt)``
    from a stream keyed by both, so both engines see the same value.
    """

    q: list[int]
    arrive: list[float]
    root: list[int]
    att: list[int]
    patience: list[float]
    base: list[float]
    wrap: list[float]
    reached: list[bool]
    u: list[float]
    root_queue: np.ndarray
    root_lead: np.ndarray
    root_quality: np.ndarray
    attempts: np.ndarray  # attempts allowed per root
    m: dict[str, np.ndarray]
    blocks: list[tuple[int, int]]
    leads: Leads
    late: Callable[[int, int], dict[str, float]] | None = None
    keyed: Callable[[int, int, int], dict[str, float]] | None = None  # (root, attempt, queue): a transfer leg
    start: list[float] = field(default_factory=list)
    answer: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    agent: list[int] = field(default_factory=list)
    status: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.q)
        self.start, self.answer, self.end = [math.nan] * n, [math.nan] * n, [math.nan] * n
        self.agent, self.status = [-1] * n, [WAITING] * n
        self.leg = [0] * n  # 1 for the leg of a transferred call in the queue it was transferred to
        self._cache: dict[str, np.ndarray] = {}
        # later attempts are looked up one by one in the hot loops: plain lists are much faster
        self.width = self.m["base"].shape[1] if self.m["base"].ndim == 2 else 1
        multi = self.width > 1 or self.late is not None
        self._natt: list[int] = self.attempts.tolist() if multi else []
        self._flat: dict[str, list[Any]] = {k: v.ravel().tolist() if multi else [] for k, v in self.m.items()}
        if self.keyed is not None and not multi:  # transfer decisions are looked up per answered call
            self._flat["xfer"] = self.m["xfer"].ravel().tolist()

    def outcome_attempt(self) -> np.ndarray:
        """Each job's attempt index into per-attempt outcome draws: a caller is answered at most
        once, so attempts past the predrawn width may share the last column."""
        array: np.ndarray = np.minimum(self.array("att"), self.width - 1)
        return array

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

    def draw(self, name: str, r: int, k: int) -> Any:
        """Caller ``r``'s draw ``name`` for its attempt ``k``."""
        if k < self.width:
            return self._flat[name][r * self.width + k]
        return self.late(r, k)[name]  # type: ignore[misc]

    def wants_retry(self, j: int) -> bool:
        """Whether job ``j`` would be followed by another attempt (if it failed)."""
        if not self._natt or self.leg[j]:
            return False  # a transferred caller who hangs up in the second queue does not call back
        r, k = self.root[j], self.att[j] + 1
        return k < self._natt[r] and bool(self.draw("retry", r, k - 1))

    def retry_at(self, j: int, t: float) -> float:
        """When the next attempt after job ``j`` (failed at ``t``) arrives."""
        value: float = t + self.draw("delay", self.root[j], self.att[j])
        return value

    def add_attempt(self, j: int, t: float, patience: str = "fresh") -> int:
        """Append the next attempt of job ``j``'s caller or lead, arriving at ``t``; return its id.
        ``patience``: ``fresh`` draws a new one, ``same`` keeps the first attempt's, ``remaining``
        keeps what is left of it after the time already waited (a caller who ran out of patience
        comes back with none: it is served only if an agent is free at once)."""
        r, k = self.root[j], self.att[j] + 1
        if patience == "fresh":
            pat = self.draw("patience", r, k)
        elif patience == "same":
            pat = self.patience[j]
        else:
            pat = max(0.0, self.patience[j] - (self.end[j] - self.arrive[j]))
        return self._append(self.q[j], t, r, k, pat, self.draw("base", r, k), self.draw("wrap", r, k),
                            self.draw("reached", r, k), self.draw("u", r, k))

    def add_overflow(self, j: int, q: int, t: float, patience_left: float) -> int:
        """Job ``j``'s caller moves to queue ``q`` at ``t`` (same attempt, same needs, patience left)."""
        return self._append(q, t, self.root[j], self.att[j], patience_left, self.base[j], self.wrap[j],
                            self.reached[j], self.u[j], self.leg[j])

    def add_transfer(self, j: int, q: int, t: float) -> int:
        """Job ``j``'s call is transferred to queue ``q`` at ``t``: a new leg with that queue's
        patience, talk and wrap-up, drawn from a stream keyed by (caller, attempt, queue)."""
        d = self.keyed(self.root[j], self.att[j], q)  # type: ignore[misc]
        return self._append(q, t, self.root[j], self.att[j], d["patience"], d["base"], d["wrap"], True, d["u"], 1)

    def _append(self, q: int, t: float, r: int, k: int, pat: float, base: float, wrap: float, reached: bool,
                u: float, leg: int = 0) -> int:
        self.q.append(q)
        self.arrive.append(t)
        self.root.append(r)
        self.att.append(k)
        self.patience.append(pat)
        self.base.append(base)
        self.wrap.append(wrap)
        self.reached.append(reached)
        self.u.append(u)
        self.start.append(math.nan)
        self.answer.append(math.nan)
        self.end.append(math.nan)
        self.agent.append(-1)
        self.status.append(WAITING)
        self.leg.append(leg)
        return len(self.q) - 1


def rate_grid(s: Scenario, q: QueueSpec, rng: np.random.Generator, shared: dict[Any, float] | None = None
              ) -> np.ndarray:
    """Arrival rate (per second) on each GRID_S interval, with day factors and busyness
    (the queue's own, times ``shared``: its busyness group's factor per local date)."""
    n = math.ceil(s.horizon_s / GRID_S)
    prof = np.asarray(q.profile(), dtype=float) / 3600.0
    tz = ZoneInfo(s.timezone)
    span = 7 * 86400 if q.profile_period == "week" else 86400
    rates = np.empty(n)
    day_of: list[date] = []
    for k in range(n):
        local = (s.start + timedelta(seconds=(k + 0.5) * GRID_S)).astimezone(tz)
        sod = local.hour * 3600 + local.minute * 60 + local.second
        if q.profile_period == "week":
            sod += local.weekday() * 86400
        r = prof[min(int(sod * len(prof) // span), len(prof) - 1)]
        if q.day_factors:
            r *= q.day_factors[local.weekday()]
        rates[k] = r
        day_of.append(local.date())
    if q.busyness_sd > 0:
        days = sorted(set(day_of))
        shape = 1.0 / q.busyness_sd**2
        factor = dict(zip(days, rng.gamma(shape, 1.0 / shape, len(days)), strict=True))
        rates *= np.array([factor[d] for d in day_of])
    if shared:
        rates *= np.array([shared[d] for d in day_of])
    return rates


def shared_busyness(s: Scenario, seed: np.random.SeedSequence) -> dict[str, dict[Any, float]]:
    """Each grouped queue's shared day factors (gamma, mean 1), one draw per group and local date,
    from a stream of their own (the queues' streams and pinned results do not move)."""
    if not s.busyness:
        return {}
    tz = ZoneInfo(s.timezone)
    n = math.ceil(s.horizon_s / GRID_S)
    dates = sorted({(s.start + timedelta(seconds=(k + 0.5) * GRID_S)).astimezone(tz).date() for k in range(n)})
    out: dict[str, dict[Any, float]] = {}
    for g, child in zip(s.busyness, seed.spawn(len(s.busyness)), strict=True):
        if g.sd <= 0:
            continue
        shape = 1.0 / g.sd**2
        draws = np.random.default_rng(child).gamma(shape, 1.0 / shape, len(dates))
        factor = dict(zip(dates, draws.tolist(), strict=True))
        for name in g.queues:
            out[name] = factor
    return out


def poisson_times(rates: np.ndarray, horizon: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times of a piecewise-constant Poisson process on the GRID_S grid."""
    lengths = np.minimum(GRID_S, horizon - np.arange(len(rates)) * GRID_S)
    counts = rng.poisson(rates * lengths)
    starts = np.repeat(np.arange(len(rates)) * GRID_S, counts)
    times: np.ndarray = starts + rng.random(int(counts.sum())) * np.repeat(lengths, counts)
    times.sort()
    return times


def _quality(sd: float, rng: np.random.Generator, n: int) -> np.ndarray:
    if sd <= 0:
        return np.ones(n)
    s2 = math.log1p(sd**2)
    return rng.lognormal(-s2 / 2, math.sqrt(s2), n)


def _attempts(q: QueueSpec) -> int:
    """Attempts a caller or lead of this queue may make."""
    if q.outbound:
        return q.max_attempts
    if q.retrial_prob > 0 and (q.patience_dist() is not None or q.limited):
        return q.max_retrials + 1 if q.max_retrials >= 0 else UNLIMITED
    return 1


def needs_u(q: QueueSpec) -> bool:
    """Whether the queue's callers need a uniform for balking or random agent choice."""
    return bool(q.balk_prob) or q.agent_selection == "random"


def attempt_draws(q: QueueSpec, rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Every per-attempt draw of one queue, in its stream's fixed order (``DRAWS``)."""
    pd = q.patience_dist()
    d: dict[str, np.ndarray] = {"patience": pd.sample(rng, shape) if pd is not None else np.full(shape, np.inf)}
    d["base"] = q.talk_dist().sample(rng, shape)
    if q.outbound:
        u = rng.random(shape)  # one uniform: right party below reach x right-party, wrong party up to reach
        d["reached"] = u < q.reach_prob * q.right_party_prob if q.right_party_prob < 1 else u < q.reach_prob
        wrong = (u < q.reach_prob) & ~d["reached"]
    else:
        d["reached"], wrong = np.ones(shape, dtype=bool), None
    if q.outbound:
        d["retry"] = np.ones(shape, dtype=bool)
        d["delay"] = np.full(shape, q.retry_after_s)
    else:
        d["retry"] = rng.random(shape) < q.retrial_prob
        d["delay"] = q.delay_dist().sample(rng, shape)
    d["wrap"] = q.wrap.sample(rng, shape) if q.wrap is not None else np.full(shape, q.wrap_s)
    # inbound: the caller's uniform (balking, random agent); outbound: 1.0 marks a wrong-party dial
    d["u"] = rng.random(shape) if needs_u(q) else (wrong.astype(float) if wrong is not None else np.zeros(shape))
    d["xfer"] = rng.random(shape) if q.transfer_prob > 0 else np.ones(shape)  # transferred when below the prob.
    return d


def draw_traffic(s: Scenario, seed: np.random.SeedSequence) -> Jobs:
    """All first attempts and the per-attempt draws of later ones, queue by queue."""
    streams = seed.spawn(len(s.queues))
    shared = shared_busyness(s, seed)  # spawned after the queues' streams: they stay as they were
    leads = Leads()
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "qi", "lead", "qual", "natt", *DRAWS)}
    natt = [_attempts(q) for q in s.queues]
    width = max(min(a, PREDRAWN) if a == UNLIMITED else a for a in natt)
    blocks: list[tuple[int, int]] = []
    pos = 0
    for qi, q in enumerate(s.queues):
        rng = np.random.default_rng(streams[qi])
        times, lead_idx, qual = _arrivals(s, q, rng, leads, shared.get(q.name))
        n = len(times)
        blocks.append((pos, pos + n))
        pos += n
        for k, v in (("t", times), ("qi", np.full(n, qi)), ("lead", lead_idx), ("qual", qual),
                     ("natt", np.full(n, natt[qi])), *attempt_draws(q, rng, (n, width)).items()):
            cols[k].append(v)
    cat = {k: np.concatenate(v) if v else np.empty((0, width)) for k, v in cols.items()}
    n_all = len(cat["t"])
    first = {k: cat[k][:, 0].tolist() if n_all else [] for k in DRAWS}
    late = _late_draws(s, streams, cat["qi"].astype(np.int64)) if UNLIMITED in natt else None
    keyed = _transfer_draws(s, streams) if any(q.transfer_prob > 0 for q in s.queues) else None
    return Jobs(
        q=cat["qi"].astype(np.int64).tolist(),
        arrive=cat["t"].tolist(),  # type: ignore[arg-type]  # 1-D: numpy stubs cannot tell tolist() gives floats
        root=list(range(n_all)), att=[0] * n_all,
        patience=first["patience"], base=first["base"], wrap=first["wrap"], reached=first["reached"], u=first["u"],
        root_queue=cat["qi"].astype(np.int64), root_lead=cat["lead"].astype(np.int64), root_quality=cat["qual"],
        attempts=cat["natt"].astype(np.int64), m={k: cat[k] for k in DRAWS}, blocks=blocks, leads=leads, late=late,
        keyed=keyed,
    )


def _transfer_draws(s: Scenario, streams: list[np.random.SeedSequence]) -> Callable[[int, int, int], dict[str, float]]:
    """Draws of a transfer leg in queue ``q`` for caller ``r``'s attempt ``k``, from ``q``'s distributions."""

    def keyed(r: int, k: int, q: int) -> dict[str, float]:
        ss = streams[q]
        rng = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, 1 << 21, r, k)))
        return {n: v.item() for n, v in attempt_draws(s.queues[q], rng, (1,)).items()}

    return keyed


def _late_draws(s: Scenario, streams: list[np.random.SeedSequence], root_queue: np.ndarray
                ) -> Callable[[int, int], dict[str, float]]:
    """Draws of attempt ``k`` ≥ the predrawn width, from a stream keyed by (queue, caller, attempt)."""

    def late(r: int, k: int) -> dict[str, float]:
        qi = int(root_queue[r])
        ss = streams[qi]
        rng = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, 1 << 20, r, k)))
        return {n: v.item() for n, v in attempt_draws(s.queues[qi], rng, (1,)).items()}

    return late


def _arrivals(
    s: Scenario, q: QueueSpec, rng: np.random.Generator, leads: Leads, shared: dict[Any, float] | None = None,
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
    times = poisson_times(rate_grid(s, q, rng, shared), H, rng)
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
