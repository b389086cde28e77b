"""Statistics of a run and across replications, each with its 95% confidence interval.

Conventions (docs/simulator.md):

* ``offered`` (inbound) = answered + abandoned + still waiting at the end + blocked, balked
  and timed out (message or overflow; ``blocked``, ``balked`` and ``timed_out`` are their
  shares of offered calls, given for queues with limits); (outbound) = dials.
* ``service_level`` = answered within the queue's threshold / (answered + abandoned counted
  per ``sl_abandons``: ``include_all`` (default), ``exclude_short`` (abandons within
  ``short_abandon_s`` leave the denominator) or ``exclude_all``).
* ``asa`` = mean wait of answered calls; ``abandonment`` = abandoned / (answered + abandoned).
* ``occupancy`` of a queue = occupancy (busy / staffed time) of the agents who served it,
  weighted by the time each spent on it; the ``all`` row is total busy / total staffed.
  Busy time counts only while the agent is on duty (a call finished after the shift ends
  or past the horizon is overtime, not occupancy), so occupancy never exceeds 100%.
* ``close_rate`` = sales / answered sales calls (outbound: reached calls); ``revenue`` = sum
  of order values.

Across N ≥ 2 replications an interval is mean ± t(0.975, N-1)·sd/√N of the per-replication
values, cut to what the figure can be (a rate stays in [0, 1], a count or a wait ≥ 0): with
few replications the t interval is wide and would otherwise show a service level of 107%.
With one replication, proportions get a Wilson interval and other figures none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from closeloop.sim.outcomes import CALLBACK, RESOLVED, SALE, Outcomes
from closeloop.sim.traffic import (
    ABANDONED,
    BALKED,
    BLOCKED,
    DROPPED,
    MESSAGE,
    NO_ANSWER,
    OVERFLOWED,
    SERVED,
    WAITING,
    Jobs,
)
from closeloop.sim.world import World
from closeloop.stats import wilson_interval

METRICS = ("offered", "answered", "service_level", "asa", "abandonment", "occupancy", "sales", "close_rate",
           "revenue", "resolution", "csat", "reach_rate", "blocked", "balked", "timed_out")
PROPORTIONS = {"service_level", "abandonment", "close_rate", "resolution", "reach_rate", "blocked", "balked",
               "timed_out"}
# What each figure can be: intervals are cut to these bounds (a mean of values inside them stays inside).
BOUNDS: dict[str, tuple[float, float]] = {m: (0.0, math.inf) for m in METRICS} | {
    m: (0.0, 1.0) for m in (*PROPORTIONS, "occupancy")} | {"csat": (1.0, 5.0)}


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% interval (``lo``/``hi`` NaN when none can be given)."""

    value: float
    lo: float = math.nan
    hi: float = math.nan

    def as_dict(self) -> dict[str, float | None]:
        """JSON-friendly form (NaN becomes None)."""
        return {k: (None if math.isnan(v) else v) for k, v in (("value", self.value), ("lo", self.lo),
                                                               ("hi", self.hi))}


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def run_stats(world: World, jobs: Jobs, out: Outcomes, sl_abandons: str = "include_all",
              short_abandon_s: float = 5.0) -> dict[str, dict[str, Any]]:
    """Per queue (and ``all``): each metric's value, plus the counts behind proportions."""
    s = world.scenario
    q = jobs.array("q")
    status = jobs.array("status")
    arrive, start = jobs.array("arrive"), jobs.array("start")
    answer, end = jobs.array("answer"), jobs.array("end")
    agent = jobs.array("agent")
    wrap = jobs.array("wrap")
    busy = np.where(status == SERVED, end + wrap - start, np.where(status == NO_ANSWER, end - start, 0.0))
    busy = np.nan_to_num(busy)
    staffed = np.array([sum(b - a for a, b in spans) for spans in world.duty])
    has_agent = (agent >= 0) & (busy > 0)
    on_duty = _on_duty(world.duty, agent[has_agent], start[has_agent], start[has_agent] + busy[has_agent])
    work_a = np.bincount(agent[has_agent], on_duty, minlength=len(staffed))
    occ_a = np.divide(work_a, staffed, out=np.full(len(staffed), np.nan), where=staffed > 0)
    rows: dict[str, dict[str, Any]] = {}
    for qi, spec in enumerate(s.queues):
        m = q == qi
        rows[spec.name] = _queue_row(spec, m, status, arrive, answer, end, agent, busy, occ_a, out, sl_abandons,
                                     short_abandon_s, world.outbound[qi])
    total = int(staffed.sum() > 0)
    rows["all"] = _all_row(rows, work_a.sum(), staffed.sum() if total else 0.0)
    return rows


def _on_duty(duty: list[list[tuple[float, float]]], agent: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """Seconds of each busy span [t0, t1) that fall inside its agent's duty intervals.

    Each agent's on-duty time up to ``t`` is a piecewise-linear function of ``t`` (rising
    on duty, flat off it), so the overlap is that function at ``t1`` minus at ``t0``.
    """
    out = np.zeros(len(agent))
    order = np.argsort(agent, kind="stable")
    bounds = np.searchsorted(agent[order], np.arange(len(duty) + 1))
    for ai, spans in enumerate(duty):
        idx = order[bounds[ai]:bounds[ai + 1]]
        if not len(idx) or not spans:
            continue
        edges = np.asarray(spans, dtype=float).ravel()
        rising = np.arange(len(edges) - 1) % 2 == 0
        cum = np.concatenate([[0.0], np.cumsum(np.diff(edges) * rising)])
        out[idx] = np.interp(t1[idx], edges, cum) - np.interp(t0[idx], edges, cum)
    return out


def _queue_row(spec, m, status, arrive, answer, end, agent, busy, occ_a, out,  # type: ignore[no-untyped-def]
               sl_abandons, short_s, outbound) -> dict[str, Any]:
    st = status[m]
    served = st == SERVED
    wait = (answer[m] - arrive[m])[served]
    codes = out.code[m]
    n_ans = int(served.sum())
    row: dict[str, Any] = {"call_type": spec.call_type, "direction": spec.direction}
    if outbound:
        dials = int(np.isin(st, (SERVED, NO_ANSWER, DROPPED)).sum())
        row.update(offered=dials, answered=n_ans, reach_rate=(n_ans + int((st == DROPPED).sum()), dials))
    else:
        ab = st == ABANDONED
        n_ab = int(ab.sum())
        short = int(((end[m] - arrive[m])[ab] <= short_s).sum()) if sl_abandons == "exclude_short" else 0
        den = n_ans + (0 if sl_abandons == "exclude_all" else n_ab - short)
        away = {k: int((st == code).sum()) for k, code in (("blocked", BLOCKED), ("balked", BALKED))}
        away["timed_out"] = int(np.isin(st, (MESSAGE, OVERFLOWED)).sum())
        offered = n_ans + n_ab + int((st == WAITING).sum()) + sum(away.values())
        row.update(offered=offered, answered=n_ans,
                   service_level=(int((wait <= spec.sl_threshold_s).sum()), den),
                   asa=float(wait.mean()) if n_ans else math.nan, abandonment=(n_ab, n_ans + n_ab))
        if spec.limited:
            row.update({k: (v, offered) for k, v in away.items()})
    w = busy[m]
    ag = agent[m]
    ok = (ag >= 0) & (w > 0)
    row["occupancy"] = float(np.average(occ_a[ag[ok]], weights=w[ok])) if ok.any() else math.nan
    row["_work"] = float(w.sum())
    if spec.call_type == "sales":
        n_sale = int((codes == SALE).sum())
        row.update(sales=n_sale, close_rate=(n_sale, n_ans), revenue=float(out.value[m].sum()),
                   callbacks=int((codes == CALLBACK).sum()))
    else:
        row.update(resolution=(int((codes == RESOLVED).sum()), n_ans))
    cs = out.csat[m]
    row["csat"] = float(cs[cs > 0].mean()) if (cs > 0).any() else math.nan
    return row


def _all_row(rows: dict[str, dict[str, Any]], work: float, staffed: float) -> dict[str, Any]:
    """Totals over queues (sums of counts, pooled proportions)."""
    out: dict[str, Any] = {"call_type": "", "direction": ""}
    for key in ("offered", "answered", "sales", "revenue"):
        out[key] = sum(r.get(key, 0) or 0 for r in rows.values())
    for key in ("service_level", "abandonment", "close_rate", "resolution", "reach_rate", "blocked", "balked",
                "timed_out"):
        pairs = [r[key] for r in rows.values() if key in r]
        if pairs:
            out[key] = (sum(p[0] for p in pairs), sum(p[1] for p in pairs))
    inbound = [r for r in rows.values() if "asa" in r and r["answered"]]
    if inbound:
        out["asa"] = sum(r["asa"] * r["answered"] for r in inbound) / sum(r["answered"] for r in inbound)
    out["occupancy"] = _ratio(work, staffed)
    return out


def value_of(x: Any) -> float:
    """The point value of a metric entry (a (k, n) pair is a proportion)."""
    if isinstance(x, tuple):
        return _ratio(*x)
    return math.nan if x is None else float(x)


def summarize(reps: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Estimate]]:
    """Combine replications: per queue, per metric, an Estimate with its 95% interval."""
    out: dict[str, dict[str, Estimate]] = {}
    for name in reps[0]:
        out[name] = {}
        for metric in METRICS:
            if metric not in reps[0][name]:
                continue
            vals = np.array([value_of(r[name].get(metric)) for r in reps], dtype=float)
            out[name][metric] = _estimate(vals, [r[name][metric] for r in reps], metric)
    return out


def _estimate(vals: np.ndarray, raw: list[Any], metric: str) -> Estimate:
    good = vals[~np.isnan(vals)]
    if not len(good):
        return Estimate(math.nan)
    mean = float(good.mean())
    if len(good) >= 2:
        half = float(sps.t.ppf(0.975, len(good) - 1) * good.std(ddof=1) / math.sqrt(len(good)))
        floor, ceiling = BOUNDS.get(metric, (-math.inf, math.inf))
        return Estimate(mean, max(floor, mean - half), min(ceiling, mean + half))
    if metric in PROPORTIONS and isinstance(raw[0], tuple):
        lo, hi = wilson_interval(*raw[0])
        return Estimate(mean, float(lo), float(hi))
    return Estimate(mean)


def compare(a: list[dict[str, dict[str, Any]]], b: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Paired differences b - a over common-random-number replications, with a 95% interval
    and whether the difference is more than noise (the interval excludes 0)."""
    out: dict[str, dict[str, Any]] = {}
    for name in a[0]:
        out[name] = {}
        for metric in METRICS:
            if metric not in a[0][name]:
                continue
            d = np.array([value_of(y[name].get(metric)) - value_of(x[name].get(metric)) for x, y in zip(a, b,
                                                                                                      strict=True)])
            d = d[~np.isnan(d)]
            if len(d) >= 2:
                half = float(sps.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
                mean = float(d.mean())
                out[name][metric] = {"diff": mean, "lo": mean - half, "hi": mean + half,
                                     "significant": bool(abs(mean) > half)}
            elif len(d) == 1:
                out[name][metric] = {"diff": float(d[0]), "lo": None, "hi": None, "significant": None}
    return out


def interval_stats(world: World, jobs: Jobs, interval_s: float = 1800.0) -> list[dict[str, Any]]:
    """Per queue and interval of arrival: offered, answered, abandoned, service level, ASA."""
    q = jobs.array("q")
    status = jobs.array("status")
    arrive, answer = jobs.array("arrive"), jobs.array("answer")
    start = jobs.array("start")
    t = np.where(np.array(world.outbound)[q], start, arrive)
    k = np.floor(np.nan_to_num(t, nan=-1.0) / interval_s).astype(np.int64)
    rows = []
    for qi, spec in enumerate(world.scenario.queues):
        m = (q == qi) & (k >= 0) & (status != WAITING if world.outbound[qi] else True)
        for kk in np.unique(k[m]):
            mm = m & (k == kk)
            served = mm & (status == SERVED)
            wait = (answer - arrive)[served]
            n_ab = int((mm & (status == ABANDONED)).sum())
            n_ans = int(served.sum())
            rows.append({
                "queue": spec.name, "interval_start_s": float(kk * interval_s), "offered": int(mm.sum()),
                "answered": n_ans, "abandoned": n_ab,
                "service_level": _ratio(float((wait <= spec.sl_threshold_s).sum()), n_ans + n_ab)
                if not world.outbound[qi] else math.nan,
                "asa": float(wait.mean()) if n_ans and not world.outbound[qi] else math.nan,
            })
    return rows
