"""The digital twin: a scenario built from the calls a center already logged.

From canonical inbound call records (an Arrow table; ``closeloop calibrate`` reads it from
the workspace) over a period of whole local days:

* **Arrivals** per queue and half-hour of the week: fresh calls (call-backs removed, see
  below) in each half-hour of each weekday, averaged over the weeks of the period, as a
  weekly profile (``profile_period = "week"``). **Busyness**: the day-to-day spread of
  daily volume around what the profile expects, less its Poisson part,
  ``sd² = var(N_d / E_d) − mean(1 / E_d)`` (0 when the days vary no more than Poisson),
  split into a part shared by the queues (the mean covariance of their daily ratios:
  busy days are busy everywhere) and each queue's own remainder (:func:`busyness`).
* **Talk and wrap-up**: fitted families compared by goodness of fit, empirical as
  fallback (:mod:`closeloop.sim.fitting`). No wrap-up recorded: none is simulated.
* **Patience**: abandonment as the event, a served caller's wait as a censored
  observation (Kaplan–Meier; censored maximum likelihood).
* **Staffing** per half-hour of the week from handled calls: an agent is present from the
  start of a call to the end of its last call before an idle gap longer than
  ``idle_gap_s`` (default 30 min: a longer gap is a break or the end of a shift); the
  time-weighted number present in each half-hour, averaged over the weeks and rounded (at
  least one agent wherever calls arrive). An agent logged in but idle longer than the gap
  is invisible to this estimate; a center with agent-state records would count log-ins.
  With ``replay`` the twin follows each half-hour of the period instead (a staffing plan,
  not a typical week): the days the center was short-staffed are replayed as they were.
  Every simulated agent serves every calibrated queue (a generalist pool; global order).
* **Call-backs**: with a caller key (``lead_id`` or a source column), a call from the same
  caller to the same queue within ``callback_window_s`` after an abandoned call is its
  call-back: ``retrial_prob`` is the share of (identified) abandoned calls followed by
  one, the delay is fitted to the gaps.

Pure: arrays and Arrow tables in, a :class:`Calibration` (and TOML text) out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.errors import InputError
from closeloop.sim.dists import Dist
from closeloop.sim.fitting import Fit, fit_durations, fit_patience
from closeloop.sim.scenario import AgentGroup, Busyness, Center, QueueSpec, Scenario, Shift, expand_groups

SLOT_S = 1800.0
WEEK_SLOTS = 7 * 48
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local_seconds(epoch_s: np.ndarray, tz: str) -> np.ndarray:
    """Wall-clock seconds in ``tz`` (as if it were UTC) for UTC epoch seconds; offsets looked up per hour."""
    t = np.asarray(epoch_s, dtype=float)
    out = np.full(t.shape, np.nan)
    ok = np.isfinite(t)
    hours = np.floor(t[ok] / 3600.0).astype(np.int64)
    uniq, inv = np.unique(hours, return_inverse=True)
    zone = ZoneInfo(tz)
    off = np.array([datetime.fromtimestamp(int(h) * 3600, zone).utcoffset().total_seconds()  # type: ignore[union-attr]
                    for h in uniq.tolist()])
    out[ok] = t[ok] + (off[inv] if len(uniq) else 0.0)
    return out


@dataclass
class Calls:
    """Inbound calls as arrays, times in seconds since the period's first local midnight."""

    queue: np.ndarray
    call_type: np.ndarray
    offered: np.ndarray
    answered: np.ndarray
    ended: np.ndarray
    agent: np.ndarray
    wrap: np.ndarray
    caller: np.ndarray | None

    @property
    def served(self) -> np.ndarray:
        """Answered calls."""
        array: np.ndarray = np.isfinite(self.answered)
        return array


def epoch_seconds(col: pa.ChunkedArray) -> np.ndarray:
    """UTC epoch seconds of a timestamp column without nulls."""
    us = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.asarray(us.to_numpy(zero_copy_only=False), dtype=float) / 1e6 if len(col) else np.empty(0)


def _epoch_nan(col: pa.ChunkedArray) -> np.ndarray:
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    out = np.full(len(col), np.nan)
    if valid.any():
        out[valid] = epoch_seconds(col.filter(pa.array(valid)))
    return out


def calls_from_table(table: pa.Table, start: datetime, tz: str, caller_column: str | None = None) -> Calls:
    """Inbound calls of a canonical calls table, relative to local midnight ``start`` in ``tz``."""
    t = table.filter(pc.equal(table["direction"], "inbound")) if "direction" in table.column_names else table
    base = local_seconds(np.array([start.timestamp()]), tz)[0]

    def rel(name: str) -> np.ndarray:
        array: np.ndarray = local_seconds(_epoch_nan(t[name]), tz) - base
        return array

    caller = None
    if caller_column:
        if caller_column not in t.column_names:
            raise InputError(f"no column {caller_column!r} in the calls table (for call-backs); "
                             f"columns: {', '.join(t.column_names)}")
        caller = np.array(t[caller_column].cast(pa.string()).to_pylist(), dtype=object)
    wrap = np.asarray(t["wrap_s"].to_numpy(zero_copy_only=False), dtype=float) if "wrap_s" in t.column_names \
        else np.full(t.num_rows, np.nan)
    return Calls(np.array(t["queue"].to_pylist(), dtype=object), np.array(t["call_type"].to_pylist(), dtype=object),
                 rel("offered_at"), rel("answered_at"), rel("ended_at"), np.array(t["agent_id"].to_pylist(),
                                                                                  dtype=object), wrap, caller)


@dataclass
class QueueFit:
    """What calibration found for one queue."""

    name: str
    call_type: str
    calls: int
    callbacks: int
    profile: list[float]  # calls per hour, per half-hour of the week (Monday 00:00 first)
    busyness_sd: float
    talk: Dist
    talk_fits: list[Fit]
    wrap: Dist | None
    patience: Dist | None
    patience_fits: list[Fit]
    retrial_prob: float
    retrial_delay: Dist | None
    priority: int = 0
    mean_wait_s: float = 0.0


@dataclass
class Calibration:
    """A calibrated twin: the period, the queues and the staffing per half-hour of the week."""

    center_id: str
    timezone: str
    start: datetime
    days: int
    queues: list[QueueFit]
    staffing: list[int]
    sl_threshold_s: float
    country: str = "US"
    notes: list[str] = field(default_factory=list)
    shared_sd: float = 0.0  # day-level busyness shared by shared_queues
    shared_queues: list[str] = field(default_factory=list)
    period_staffing: list[int] = field(default_factory=list)  # per half-hour of the period
    replay: bool = False  # staff with period_staffing (a staffing plan) instead of weekly shifts
    skill_groups: list[tuple[list[str], list[int]]] = field(default_factory=list)  # (queues, weekly staffing)
    idle_gap_s: float = 1800.0  # staffing: an agent idle longer than this between calls counts as away

    def agent_groups(self) -> list[AgentGroup]:
        """The twin's agents: weekly shifts, or (``replay``) one group following the period's staffing."""
        skills = ";".join(f"{_skill(q.name)}:5" for q in self.queues)
        if self.replay:
            return [AgentGroup(center=self.center_id, count=max(self.period_staffing, default=1), skills=skills,
                               prefix="T-", staffing=list(self.period_staffing), staffing_interval_s=SLOT_S)]
        if self.skill_groups:
            return [AgentGroup(center=self.center_id, count=n, prefix=f"G{g}S{i:03d}-", shift=sh,
                               skills=";".join(f"{_skill(q)}:5" for q in queues))
                    for g, (queues, weekly) in enumerate(self.skill_groups)
                    for i, (sh, n) in enumerate(shift_groups(weekly))]
        return [AgentGroup(center=self.center_id, count=n, skills=skills, prefix=f"T{i:03d}-", shift=sh)
                for i, (sh, n) in enumerate(shift_groups(self.staffing))]

    def scenario(self) -> Scenario:
        """The scenario object (what :meth:`to_toml` writes)."""
        groups = self.agent_groups()
        queues = [QueueSpec(q.name, call_type=q.call_type, skill=_skill(q.name), rate_per_hour=q.profile,
                            profile_period="week", busyness_sd=q.busyness_sd, talk=q.talk, wrap=q.wrap,
                            patience=q.patience, retrial_prob=q.retrial_prob, retrial_delay=q.retrial_delay,
                            sl_threshold_s=self.sl_threshold_s, priority=q.priority) for q in self.queues]
        return Scenario(name=f"twin of {self.center_id}", start=self.start, days=float(self.days),
                        timezone=self.timezone, centers=[Center(self.center_id, country=self.country,
                                                                timezone=self.timezone)],
                        queues=queues, agents=expand_groups(groups), policy="global_order", source="<calibrated>",
                        busyness=[Busyness(list(self.shared_queues), self.shared_sd)] if self.shared_sd > 0 else [])


def _skill(queue: str) -> str:
    s = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in queue)
    return s if s[:1].isalpha() else f"q_{s}"


def callbacks(c: Calls, window_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is a call-back, abandoned call followed by a call-back, delay of each call-back or NaN):
    the next call of the same caller to the same queue within the window after an abandonment."""
    n = len(c.queue)
    is_cb, followed, delay = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), np.full(n, np.nan)
    if c.caller is None or not n:
        return is_cb, followed, delay
    known = np.array([bool(x) and x != "0" for x in c.caller])
    idx = np.flatnonzero(known)
    order = idx[np.lexsort((c.offered[idx], c.queue[idx].astype(str), c.caller[idx].astype(str)))]
    prev, cur = order[:-1], order[1:]
    same = (c.caller[prev] == c.caller[cur]) & (c.queue[prev] == c.queue[cur])
    gap = c.offered[cur] - c.ended[prev]
    hit = same & ~c.served[prev] & (gap >= 0) & (gap <= window_s)
    is_cb[cur[hit]] = True
    followed[prev[hit]] = True
    delay[cur[hit]] = gap[hit]
    return is_cb, followed, delay


def after_call_gaps(c: Calls, m: np.ndarray, cap_s: float = 600.0) -> np.ndarray:
    """Wrap-up when none is recorded: an agent's gap between the end of a call and the start of
    its next one, when that next caller (of queue ``m``'s calls) was already waiting as the first
    call ended — the agent was busy with something we cannot see. Gaps over ``cap_s`` are breaks."""
    s = np.flatnonzero(c.served & np.array([a is not None for a in c.agent]))
    o = s[np.lexsort((c.answered[s], c.agent[s].astype(str)))]
    prev, nxt = o[:-1], o[1:]
    gap = c.answered[nxt] - c.ended[prev]
    ok = (c.agent[prev] == c.agent[nxt]) & (c.offered[nxt] < c.ended[prev]) & m[prev] & (gap > 0) & (gap <= cap_s)
    array: np.ndarray = gap[ok]
    return array


def _rank_priorities(fits: list[QueueFit]) -> None:
    """Queues whose answered callers waited less are served first (priority by observed wait rank):
    a generalist pool in global order then reproduces who waits longer."""
    order = sorted(fits, key=lambda q: q.mean_wait_s)
    for rank, q in enumerate(order):
        q.priority = len(order) - rank


def weekly_profile(offered: np.ndarray, start: datetime, days: int) -> tuple[list[float], np.ndarray, np.ndarray]:
    """Calls per hour in each half-hour of the week, averaged over the period; and per day of the
    period the calls counted and the calls that profile expects."""
    day = np.floor(offered / 86400.0).astype(np.int64)
    ok = (day >= 0) & (day < days)
    slot = np.floor((offered[ok] % 86400.0) / SLOT_S).astype(np.int64)
    wd = (start.weekday() + day[ok]) % 7
    counts = np.bincount(wd * 48 + slot, minlength=WEEK_SLOTS).astype(float)
    occurrences = np.bincount((start.weekday() + np.arange(days)) % 7, minlength=7).astype(float)
    rate = counts / np.repeat(np.maximum(occurrences, 1.0), 48) * (3600.0 / SLOT_S)
    per_day = np.bincount(day[ok], minlength=days).astype(float)
    expected = np.array([rate[((start.weekday() + d) % 7) * 48:][:48].sum() * SLOT_S / 3600.0 for d in range(days)])
    return [round(float(x), 4) for x in rate], per_day, expected


def busyness(per_day: dict[str, np.ndarray], expected: dict[str, np.ndarray], min_per_day: float = 20.0
             ) -> tuple[float, list[str], dict[str, float]]:
    """Day-to-day busyness: a factor shared by the queues (the mean covariance of their daily
    ratios N/E between queues) and each queue's own (its ratio's variance less the Poisson part
    mean(1/E) and less the shared part). Queues with fewer than ``min_per_day`` calls a day on
    average only get their own. Returns (shared sd, queues sharing it, own sd per queue)."""
    ratio, inv, busy = {}, {}, {}
    for q, n in per_day.items():
        e = expected[q]
        b = e > 0
        busy[q] = b
        ratio[q] = np.where(b, n / np.where(b, e, 1.0), np.nan)
        inv[q] = float(np.mean(1.0 / e[b])) if b.sum() >= 3 else math.nan
    big = [q for q in per_day if busy[q].sum() >= 3 and expected[q][busy[q]].mean() >= min_per_day]
    covs = []
    for i, a in enumerate(big):
        for other in big[i + 1:]:
            both = busy[a] & busy[other]
            if both.sum() >= 3:
                covs.append(float(np.cov(ratio[a][both], ratio[other][both])[0, 1]))
    shared_var = max(0.0, float(np.mean(covs))) if covs else 0.0
    members = big if shared_var > 0 else []
    own = {}
    for q in per_day:
        r = ratio[q][busy[q]]
        var = float(r.var(ddof=1)) - inv[q] - (shared_var if q in members else 0.0) if len(r) >= 3 else 0.0
        own[q] = round(min(math.sqrt(max(0.0, var)), 2.0), 4)
    return round(min(math.sqrt(shared_var), 2.0), 4), members, own


def presence(c: Calls, days: int, idle_gap_s: float = 1800.0) -> np.ndarray:
    """Agent-seconds present in each half-hour of the period: an agent is present from the start
    of a call to the end of its last call before a gap longer than ``idle_gap_s`` (a break or
    the end of its shift)."""
    s = np.flatnonzero(c.served & np.array([a is not None for a in c.agent]) & np.isfinite(c.ended))
    o = s[np.lexsort((c.answered[s], c.agent[s].astype(str)))]
    t0, t1, ag = c.answered[o], np.maximum(c.ended[o], c.answered[o]), c.agent[o].astype(str)
    new = np.r_[True, (ag[1:] != ag[:-1]) | (t0[1:] - t1[:-1] > idle_gap_s)]  # an agent takes one call at a time
    seg = np.cumsum(new) - 1
    starts = t0[new]
    ends = np.full(seg[-1] + 1 if len(seg) else 0, -np.inf)
    np.maximum.at(ends, seg, t1)
    return _slot_overlap(np.clip(starts, 0, days * 86400.0), np.clip(ends, 0, days * 86400.0), days * 48)


def _slot_overlap(a: np.ndarray, b: np.ndarray, n_slots: int) -> np.ndarray:
    """Seconds of the intervals [a, b) falling in each SLOT_S slot (the integral of a step count)."""
    edges = np.arange(n_slots + 1) * SLOT_S
    cum = np.zeros(n_slots + 1)
    for x, sign in ((a, 1.0), (b, -1.0)):
        # each interval adds (t - x)+ ; the overlap with [e_k, e_k+1) is the difference of that at both edges
        xs = np.sort(x)
        k = np.searchsorted(xs, edges, side="right")
        csum = np.r_[0.0, np.cumsum(xs)]
        cum += sign * (k * edges - csum[k])
    return np.diff(cum)


def concurrency_staffing(c: Calls, start: datetime, days: int, min_one: np.ndarray, idle_gap_s: float = 1800.0
                         ) -> tuple[list[int], list[int]]:
    """Agents present in each half-hour of the week (time-weighted, see :func:`presence`), averaged
    over the period's weeks and rounded, at least one wherever calls arrive; and the same for each
    half-hour of the period itself (for a replay)."""
    per_slot = presence(c, days, idle_gap_s) / SLOT_S
    wd = (start.weekday() + np.arange(days * 48) // 48) % 7
    week = np.zeros(WEEK_SLOTS)
    np.add.at(week, wd * 48 + np.arange(days * 48) % 48, per_slot)
    occurrences = np.bincount((start.weekday() + np.arange(days)) % 7, minlength=7).astype(float)
    mean = week / np.repeat(np.maximum(occurrences, 1.0), 48)
    floor = min_one.astype(int)[wd * 48 + np.arange(days * 48) % 48]
    return ([int(x) for x in np.maximum(np.rint(mean), min_one.astype(int))],
            [int(x) for x in np.maximum(np.rint(per_slot), floor)])


def shift_groups(staffing: list[int]) -> list[tuple[Shift, int]]:
    """Shifts that reproduce a staffing level per half-hour of the week: the i-th agent works
    wherever at least i are needed; equal shifts on several days are one group."""
    st = np.asarray(staffing).reshape(7, 48)
    found: dict[tuple[int, int, int], list[int]] = {}  # (start slot, length, agent rank) -> days
    for d in range(7):
        for i in range(1, int(st[d].max(initial=0)) + 1):
            on = np.r_[False, st[d] >= i, False].astype(np.int8)
            edges = np.flatnonzero(np.diff(on))
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                found.setdefault((int(a), int(b - a), i), []).append(d)
    merged: dict[tuple[int, int, tuple[int, ...]], int] = {}
    for (a, length, _), ds in found.items():
        key = (a, length, tuple(ds))
        merged[key] = merged.get(key, 0) + 1
    return [(Shift(f"{a // 2:02d}:{(a % 2) * 30:02d}", length / 2, ",".join(DAYS[d] for d in ds)), n)
            for (a, length, ds), n in sorted(merged.items())]


def calibrate(c: Calls, center_id: str, tz: str, start: datetime, days: int, sl_threshold_s: float = 20.0,
              callback_window_s: float = 3600.0, max_ks: float = 0.05, idle_gap_s: float = 1800.0,
              replay: bool = False, skill_groups: bool = False) -> Calibration:
    """A calibrated twin of the calls ``c`` (see the module docstring for each estimate)."""
    if not len(c.queue):
        raise InputError("no inbound calls in the period: nothing to calibrate")
    is_cb, followed, cb_delay = callbacks(c, callback_window_s)
    fits, arriving = [], np.zeros(WEEK_SLOTS, dtype=bool)
    per_day: dict[str, np.ndarray] = {}
    expected: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for name in sorted(set(c.queue.tolist())):
        m = c.queue == name
        served = m & c.served
        if served.sum() < 2:
            notes.append(f"queue {name}: fewer than 2 answered calls, left out")
            continue
        prof, per_day[name], expected[name] = weekly_profile(c.offered[m & ~is_cb], start, days)
        arriving |= np.asarray(prof) > 0
        talk, talk_fits = fit_durations(c.ended[served] - c.answered[served], max_ks)
        w = c.wrap[served]
        wrap = fit_durations(w[np.isfinite(w)], max_ks)[0] if (np.isfinite(w) & (w > 0)).sum() >= 30 else None
        wait = np.where(c.served, c.answered, c.ended)[m] - c.offered[m]
        ab = ~c.served[m]
        patience, p_fits = fit_patience(wait, ab) if ab.sum() >= 2 else (None, [])
        known = ab & np.array([c.caller is not None and bool(x) and x != "0" for x in
                               (c.caller[m] if c.caller is not None else np.empty(m.sum(), dtype=object))])
        rp = float(followed[m][known].mean()) if known.any() else 0.0
        delay = None
        if rp > 0:
            gaps = cb_delay[m & is_cb]
            gaps = gaps[gaps > 0]
            delay = fit_durations(gaps, max_ks)[0] if len(gaps) >= 30 else Dist("exponential", (
                ("mean", float(max(gaps.mean(), 1.0))),))
        if wrap is None and len(gaps_after := after_call_gaps(c, m)) >= 30:
            wrap = fit_durations(gaps_after, max_ks)[0]
        fits.append(QueueFit(name, str(c.call_type[m][0]), int(m.sum()), int((m & is_cb).sum()), prof, 0.0, talk,
                             talk_fits, wrap, patience, p_fits, round(rp, 4), delay,
                             mean_wait_s=float(np.nanmean(np.where(c.served[m], wait, np.nan)))))
    _rank_priorities(fits)
    shared_sd, shared_queues, own = busyness(per_day, expected)
    for f in fits:
        f.busyness_sd = own[f.name]
    staffing, period_staffing = concurrency_staffing(c, start, days, arriving, idle_gap_s)
    groups = []
    if skill_groups:
        from closeloop.sim.twin_skills import group_staffing

        kept = {f.name for f in fits}
        groups = [(sorted(set(g) & kept), w) for g, w in group_staffing(c, start, days, arriving, idle_gap_s)
                  if set(g) & kept]
    return Calibration(center_id, tz, start, days, fits, staffing, sl_threshold_s, notes=notes, shared_sd=shared_sd,
                       shared_queues=shared_queues, period_staffing=period_staffing, replay=replay,
                       skill_groups=groups, idle_gap_s=idle_gap_s)


def period(first_s: float, last_s: float, tz: str) -> tuple[datetime, int]:
    """Local midnight before ``first_s`` and the whole days up to ``last_s`` (UTC epoch seconds)."""
    zone = ZoneInfo(tz)
    a = datetime.fromtimestamp(first_s, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    b = datetime.fromtimestamp(last_s, zone).date()
    return a, (b - a.date()).days + 1


def day_start(day: datetime, tz: str) -> datetime:
    """The local midnight of a date, aware in ``tz``."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))


__all__ = ["Calibration", "Calls", "QueueFit", "calibrate", "calls_from_table", "day_start", "epoch_seconds",
           "local_seconds", "period", "shift_groups"]
