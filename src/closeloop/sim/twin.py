"""The twin's file and its check against the calls it was built from.

:func:`to_toml` writes a :class:`~closeloop.sim.calibrate.Calibration` as a scenario file
(with the goodness of fit of every candidate in comments, so a planner sees why a family
was chosen). :func:`validate_twin` compares simulated and observed figures per queue and
hour of day, computed by **one** function (:func:`hourly`) from canonical call records —
the simulated calls and the ingested ones go through the same code:

* service level = answered within the threshold / (answered + abandoned),
* ASA = mean wait of answered calls, abandonment = abandoned / (answered + abandoned),
* occupancy (all queues) = talk seconds / (agents seen on a call in the half-hour × 1800 s),
  the same definition applied to both sides.

Each row gives the observed value with its 95% interval, the simulated mean over
replications with its t interval, and whether the gap is more than noise:
``|sim − obs| > t · √(se_obs² + se_sim²)``, t the 97.5% Student quantile with the smaller
side's degrees of freedom (days − 1 or replications − 1; a conservative Welch test).
The observed standard error treats **days as clusters** (a ratio of sums, linearised):
calls of one day share its staffing and queue, so a binomial error that assumes
independent calls would call every small gap a miss.
The printed observed interval is the wider of that and the Wilson interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import stats as sps

from closeloop.sim.calibrate import SLOT_S, Calibration, calls_from_table
from closeloop.sim.scenario import Scenario
from closeloop.stats import wilson_interval

MIN_CALLS = 30  # hours with fewer observed calls are pooled into the queue's "all" row only


def to_toml(cal: Calibration, source: str = "") -> str:
    """The calibrated scenario as TOML text that ``parse_scenario`` reads back."""
    s = cal.scenario()
    out = [f"# Digital twin calibrated by closeloop from {sum(q.calls for q in cal.queues):,} inbound calls"
           + (f" ({source})" if source else ""),
           f"# period: {cal.start.isoformat()} + {cal.days} days, time zone {cal.timezone}",
           f"# staffing from handled calls: an agent is present from a call's start to the end of its last call "
           f"before an idle gap over {cal.idle_gap_s / 60:g} min; "
           + ("each half-hour of the period as it was" if cal.replay else "the weekly average per half-hour")
           + ("; skill groups from the queues each agent served" if cal.skill_groups else "; a generalist pool"),
           *[f"# note: {n}" for n in cal.notes], "",
           "[scenario]", f'name = "{s.name}"', f"start = {cal.start.isoformat()}", f"days = {cal.days}",
           f'timezone = "{cal.timezone}"', "seed = 1", "", "[policy]", 'name = "global_order"', "",
           "[[centers]]", f'id = "{cal.center_id}"', f'country = "{cal.country}"', f'timezone = "{cal.timezone}"']
    if cal.shared_sd > 0:
        out += ["", "# busy days are busy in every large queue: a day factor they share (sd from the mean covariance",
                "# of their daily volume ratios), on top of each queue's own busyness_sd", "[[busyness]]",
                "queues = [" + ", ".join(f'"{q}"' for q in cal.shared_queues) + "]", f"sd = {cal.shared_sd:g}"]
    for q, spec in zip(cal.queues, s.queues, strict=True):
        out += ["", f"# queue {q.name}: {q.calls:,} calls, {q.callbacks:,} of them call-backs (not fresh arrivals)"]
        out += [f"#   talk {f.dist.kind:<11} KS D {f.ks:.3f}  AIC {f.aic:,.0f}" for f in q.talk_fits]
        out += [f"#   patience {f.dist.kind:<11} max |S - KM| {f.ks:.3f}  AIC {f.aic:,.0f}" for f in q.patience_fits]
        out += [f"# answered callers waited {q.mean_wait_s:.1f} s on average; priority ranks queues by that wait",
                "[[queues]]", f'name = "{q.name}"', f'type = "{q.call_type}"', f'skill = "{spec.skill}"',
                f"priority = {q.priority}", 'profile_period = "week"',
                "rate_per_hour = [" + ", ".join(f"{x:g}" for x in q.profile) + "]",
                f"busyness_sd = {q.busyness_sd:g}", f"talk = {q.talk.to_toml()}",
                f"sl_threshold_s = {cal.sl_threshold_s:g}"]
        if q.wrap is not None:
            out.append(f"wrap = {q.wrap.to_toml()}")
        if q.patience is not None:
            out.append(f"patience = {q.patience.to_toml()}")
        if q.retrial_prob > 0 and q.retrial_delay is not None:
            out += [f"retrial_prob = {q.retrial_prob:g}", f"retrial_delay = {q.retrial_delay.to_toml()}"]
    for g in cal.agent_groups():
        out += ["", "[[agents]]", f'center = "{g.center}"', f"count = {g.count}", f'skills = "{g.skills}"',
                f'prefix = "{g.prefix}"']
        if g.staffing:
            out += ["# agents on duty per half-hour of the period, from handled calls (a replay)",
                    f"staffing_interval_s = {g.staffing_interval_s:g}",
                    "staffing = [" + ", ".join(str(n) for n in g.staffing) + "]"]
        elif g.shift is not None:
            sh = g.shift
            out.append(f'shift = {{ start = "{sh.start}", hours = {sh.hours:g}, days = "{sh.days}" }}')
    return "\n".join(out) + "\n"


Counts = dict[str, np.ndarray]  # per day of the period: offered, answered, abandoned, within, wait_sum


def hourly(table: pa.Table, tz: str, start: Any, days: int, thresholds: dict[str, float]
           ) -> dict[tuple[str, int], Counts]:
    """Per (queue, local hour of day), counts per day of the calls offered in the period;
    queue ``*`` holds the talk and staffed seconds behind occupancy."""
    c = calls_from_table(table, start, tz)
    inside = (c.offered >= 0) & (c.offered < days * 86400.0)
    day = np.floor(np.where(inside, c.offered, 0.0) / 86400.0).astype(np.int64)
    hour = np.floor((c.offered % 86400.0) / 3600.0).astype(np.int64)
    wait = np.where(c.served, c.answered, c.ended) - c.offered
    out: dict[tuple[str, int], Counts] = {}
    for name, thr in thresholds.items():
        m = inside & (c.queue == name)
        for h in np.unique(hour[m]).tolist():
            mm = m & (hour == h)
            ans = mm & c.served

            def per_day(mask: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
                return np.bincount(day[mask], None if w is None else w[mask], minlength=days).astype(float)

            out[(name, h)] = {"offered": per_day(mm), "answered": per_day(ans), "abandoned": per_day(mm & ~c.served),
                              "within": per_day(ans & (wait <= thr)), "wait_sum": per_day(ans, wait)}
    served = c.served & np.isfinite(c.ended) & (c.answered >= 0) & (c.answered < days * 86400.0)
    talk_hour = np.floor((c.answered[served] % 86400.0) / 3600.0).astype(np.int64)
    talk = np.bincount(talk_hour, c.ended[served] - c.answered[served], minlength=24)
    slot = np.floor(c.answered[served] / SLOT_S).astype(np.int64)
    agents = np.unique(c.agent[served].astype(str), return_inverse=True)[1]
    pairs = np.unique(slot * 100_000 + agents) // 100_000
    staffed = np.bincount((pairs % 48) // 2, minlength=24) * SLOT_S
    for h in range(24):
        if staffed[h] > 0:
            out[("*", h)] = {"talk": np.array([talk[h]]), "staffed": np.array([staffed[h]])}
    return out


def _ratio(x: np.ndarray, n: np.ndarray) -> tuple[float, float, int]:
    """Ratio of sums and its standard error with days as clusters (linearisation): calls of one
    day share its queue, so they are not independent, and a binomial error would be too small."""
    total = float(n.sum())
    r = float(x.sum()) / total
    d = int((n > 0).sum())
    if d < 2:
        return r, math.nan, 0
    resid = x - r * n
    return r, math.sqrt(d / (d - 1) * float((resid * resid).sum())) / total, d - 1


Fig = tuple[float, float, float, float, int]  # value, standard error, 95% low, 95% high, degrees of freedom


def _figures(k: Counts) -> dict[str, Fig]:
    """Service level, ASA and abandonment with their errors (days as clusters)."""
    lost = k["answered"] + k["abandoned"]
    out: dict[str, Fig] = {}
    if lost.sum() > 0:
        for name, x in (("service_level", k["within"]), ("abandonment", k["abandoned"])):
            p, se, df = _ratio(x, lost)
            lo, hi = wilson_interval(round(float(x.sum())), round(float(lost.sum())))
            if math.isfinite(se):  # the wider of the clustered and the Wilson interval
                lo, hi = min(float(lo), p - 1.96 * se), max(float(hi), p + 1.96 * se)
            out[name] = (p, se if math.isfinite(se) else (float(hi) - float(lo)) / 3.92, max(float(lo), 0.0),
                         min(float(hi), 1.0), df)
    if k["answered"].sum() > 0:
        mean, se, df = _ratio(k["wait_sum"], k["answered"])
        se = se if math.isfinite(se) else 0.0
        out["asa"] = (mean, se, max(0.0, mean - 1.96 * se), mean + 1.96 * se, df)
    return out


def _pool(rows: list[Counts]) -> Counts:
    return {k: np.sum([r[k] for r in rows], axis=0) for k in rows[0]}


def validate_twin(observed: dict[tuple[str, int], Counts], simulated: list[dict[tuple[str, int], Counts]],
                  queues: list[str]) -> list[dict[str, Any]]:
    """Rows per queue and hour (and ``all``): observed and simulated SL, ASA, abandonment, occupancy."""
    rows = []
    for q in queues:
        hours = sorted(h for (qq, h) in observed if qq == q)
        keys = [(q, h) for h in hours if observed[(q, h)]["offered"].sum() >= MIN_CALLS] + [(q, -1)]
        for key in keys:
            pick = [(q, h) for h in hours] if key[1] < 0 else [key]
            obs = _pool([observed[k] for k in pick])
            empty = {k: np.zeros_like(v) for k, v in obs.items()}
            sims = [_pool([r.get(k, empty) for k in pick]) for r in simulated]
            row: dict[str, Any] = {"queue": q, "hour": "all" if key[1] < 0 else f"{key[1]:02d}",
                                   "offered": int(obs["offered"].sum()),
                                   "sim_offered": float(np.mean([s["offered"].sum() for s in sims]))}
            fo = _figures(obs)
            fs = [_figures(s) for s in sims]
            for m in ("service_level", "asa", "abandonment"):
                row.update(_compare(m, fo.get(m), [f[m][0] for f in fs if m in f]))
            rows.append(row)
    for key in sorted(k for k in observed if k[0] == "*"):
        obs = observed[key]
        occ = [float(r[key]["talk"][0] / r[key]["staffed"][0]) for r in simulated if key in r]
        v = float(obs["talk"][0] / obs["staffed"][0])
        row = {"queue": "all", "hour": f"{key[1]:02d}", "occupancy": v}
        row.update(_compare("occupancy", (v, 0.0, v, v, 0), occ, keep_obs=False))
        rows.append(row)
    return rows


def _compare(metric: str, obs: Fig | None, sims: list[float], keep_obs: bool = True) -> dict[str, Any]:
    """Observed value and interval, simulated mean and interval, and the verdict."""
    out: dict[str, Any] = {}
    sim = np.asarray(sims, dtype=float)
    sim = sim[np.isfinite(sim)]
    m = float(sim.mean()) if len(sim) else math.nan
    se_sim = float(sim.std(ddof=1) / math.sqrt(len(sim))) if len(sim) >= 2 else math.nan
    half = float(sps.t.ppf(0.975, len(sim) - 1)) * se_sim if len(sim) >= 2 else math.nan
    if obs is not None and keep_obs:
        out[f"{metric}_obs"], out[f"{metric}_obs_lo"], out[f"{metric}_obs_hi"] = obs[0], obs[2], obs[3]
    top = math.inf if metric == "asa" else 1.0  # an interval is cut to what the figure can be
    out[f"{metric}_sim"], out[f"{metric}_sim_lo"], out[f"{metric}_sim_hi"] = m, max(m - half, 0.0), min(m + half, top)
    if obs is None or not len(sim):
        out[f"{metric}_verdict"] = "n/a"
    else:
        gap = m - obs[0]
        se = math.sqrt(obs[1] ** 2 + (se_sim if math.isfinite(se_sim) else 0.0) ** 2)
        # Student's t with the smaller side's degrees of freedom (a conservative Welch test)
        dfs = [d for d in (obs[4], len(sim) - 1) if d > 0]
        crit = float(sps.t.ppf(0.975, min(dfs))) if dfs else 1.96
        out[f"{metric}_verdict"] = "differs" if abs(gap) > crit * se and se > 0 else "agrees"
    return out


def simulated_hourly(s: Scenario, replications: int, seed: int | None = None, engine: str = "auto"
                     ) -> list[dict[tuple[str, int], Counts]]:
    """:func:`hourly` of each replication of ``s`` (the seeds ``simulate`` uses)."""
    from closeloop.sim.runner import run_once

    thresholds = {q.name: q.sl_threshold_s for q in s.queues if not q.outbound}
    days = math.ceil(s.days)
    out = []
    for child in np.random.SeedSequence(s.seed if seed is None else seed).spawn(replications):
        r = run_once(s, seed=child, engine=engine)
        out.append(hourly(r.calls(), s.timezone, s.start, days, thresholds))
    return out
