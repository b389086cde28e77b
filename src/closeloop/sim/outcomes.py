"""Outcomes, not just queues: sales, resolution, order value and CSAT of each answered call.

Outcomes do not feed back into the queueing (talk time does not depend on the result), so
they are drawn after the run, vectorised, from their own random stream indexed by
(caller, attempt) — two policies on the same seed give the same caller the same luck.

Sale (sales calls, inbound or reached outbound), on the log-odds scale::

    logit p = logit(close_rate[queue])
              + skill_effect   * (level - 5.5) / 4.5          # agent's proficiency in the queue's skill
              + quality_effect * ln(lead quality)
              - wait_effect    * minutes waited
              - switch_penalty * switch_decay ** n             # n sales calls since its last care call
              + ln(center close_factor) + ln(agent close_factor)

The switch term is the "sales mode" effect (Friebel & Yilmaz, SSRN 2916042): an agent
coming off a care call closes less, and the penalty decays with each consecutive sales
call; an agent who has taken no care call has none. A lost sale is a ``callback`` with
probability ``callback_share``, else ``no_sale``. A sale's order value is lognormal.

Care: ``logit p = logit(resolve_rate) + care_skill_effect * (level - 5.5) / 4.5``; an
unresolved call is ``escalated`` with probability ``escalate_share``.

CSAT (surveyed with probability ``csat_survey_rate``): ``round(csat_base + csat_success *
[sale or resolved] - csat_wait * min(minutes waited, 10) + N(0, csat_noise))`` clipped to 1-5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from closeloop.sim.conversation import draw_events, event_uniforms
from closeloop.sim.traffic import SERVED, Jobs
from closeloop.sim.world import World

SALE, NO_SALE, CALLBACK, RESOLVED, UNRESOLVED, ESCALATED = range(6)
OUTCOME_NAMES = ("sale", "no_sale", "callback", "resolved", "unresolved", "escalated")


@dataclass
class Outcomes:
    """Per job: outcome code (-1 unanswered), order value (0 if none), CSAT (0 if none), switch penalty."""

    code: np.ndarray
    value: np.ndarray
    csat: np.ndarray
    penalty: np.ndarray
    events: dict[str, np.ndarray] = field(default_factory=dict)  # conversation events (Scenario.conversation)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    array: np.ndarray = np.log(p / (1 - p))
    return array


def switch_counts(agent: np.ndarray, start: np.ndarray, is_care: np.ndarray) -> np.ndarray:
    """For each call, sales calls its agent took since its last care call (-1: no care call before)."""
    n = len(agent)
    order = np.lexsort((start, agent))
    ag, care = agent[order], is_care[order]
    idx = np.arange(n)
    seg_start = np.zeros(n, dtype=np.int64)
    if n:
        new = np.r_[True, ag[1:] != ag[:-1]]
        seg_start = np.maximum.accumulate(np.where(new, idx, 0))
    last = np.maximum.accumulate(np.where(care, idx, -1)) if n else idx
    prev = np.r_[-1, last[:-1]] if n else idx
    count = np.where(prev >= seg_start, idx - prev - 1, -1)
    out = np.empty(n, dtype=np.int64)
    out[order] = count
    return out


def draw_outcomes(world: World, jobs: Jobs, seed: np.random.SeedSequence) -> Outcomes:
    """Outcome of every answered job."""
    s, m = world.scenario, world.scenario.outcomes
    n = len(jobs.q)
    q = jobs.array("q")
    root, att = jobs.array("root"), jobs.outcome_attempt()
    served = jobs.array("status") == SERVED
    agent = jobs.array("agent")
    width = jobs.width
    u = np.random.default_rng(seed).random((jobs.n_fresh, width, 6), dtype=np.float32)[root, att]
    code, value, csat = np.full(n, -1, np.int64), np.zeros(n), np.zeros(n, np.int64)
    penalty = np.zeros(n)
    idx = np.flatnonzero(served)
    if not len(idx):
        return Outcomes(code, value, csat, penalty)
    qs, ag, uu = q[idx], agent[idx], u[idx]
    is_sales = np.array([sq.call_type == "sales" for sq in s.queues])[qs]
    level = _levels(world)[qs, ag]
    wait = jobs.array("answer")[idx] - jobs.array("arrive")[idx]
    wait_min = np.where(np.array(world.outbound)[qs], 0.0, np.maximum(wait, 0.0) / 60.0)
    counts = switch_counts(ag, jobs.array("start")[idx], ~is_sales)
    pen = np.where(counts >= 0, m.switch_penalty * m.switch_decay ** np.maximum(counts, 0), 0.0)
    quality = jobs.root_quality[root[idx]]
    factors = _agent_factors(world)[ag]
    z = (level - 5.5) / 4.5
    sale_logit = (_logit(np.array([sq.close_rate for sq in s.queues])[qs]) + m.skill_effect * z
                  + m.quality_effect * np.log(np.maximum(quality, 1e-12)) - m.wait_effect * wait_min - pen + factors)
    events, talk = _conversation(world, jobs, seed, idx, ag, is_sales)
    sale_logit = sale_logit + talk
    care_logit = _logit(np.array([sq.resolve_rate for sq in s.queues])[qs]) + m.care_skill_effect * z
    p = 1.0 / (1.0 + np.exp(-np.where(is_sales, sale_logit, care_logit)))
    success = uu[:, 0] < p
    second = uu[:, 1] < np.where(is_sales, m.callback_share, np.array([sq.escalate_share for sq in s.queues])[qs])
    c = np.where(is_sales, np.where(success, SALE, np.where(second, CALLBACK, NO_SALE)),
                 np.where(success, RESOLVED, np.where(second, ESCALATED, UNRESOLVED)))
    code[idx] = c
    penalty[idx] = np.where(is_sales, pen, 0.0)
    value[idx] = np.where(c == SALE, _order_values(s, qs, uu[:, 2]), 0.0)
    latent = (m.csat_base + m.csat_success * success - m.csat_wait * np.minimum(wait_min, 10.0)
              + m.csat_noise * _norm(uu[:, 3]))
    csat[idx] = np.where(uu[:, 4] < m.csat_survey_rate, np.clip(np.rint(latent), 1, 5), 0).astype(np.int64)
    return Outcomes(code, value, csat, penalty, events)


def _conversation(
    world: World, jobs: Jobs, seed: np.random.SeedSequence, idx: np.ndarray, ag: np.ndarray, is_sales: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray | float]:
    """Conversation events of the answered sales calls ``idx`` (per job) and their log-odds effect."""
    model = getattr(world.scenario, "conversation", None)
    if model is None or not model.events:
        return {}, 0.0
    n = len(jobs.q)
    u = event_uniforms(seed, jobs.n_fresh, jobs.width, len(model.events))[jobs.array("root")[idx],
                                                                          jobs.outcome_attempt()[idx]]
    centers = [c.center_id for c in world.scenario.centers]
    where = {c: i for i, c in enumerate(centers)}
    center_index = np.array([where[a.center_id] for a in world.scenario.agents], dtype=np.int64)[ag]
    flags, shift = draw_events(model, center_index, centers, u)
    events = {}
    for name, hit in flags.items():
        full = np.zeros(n, dtype=bool)
        full[idx] = hit & is_sales
        events[name] = full
    return events, np.where(is_sales, shift, 0.0)


def _norm(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    array: np.ndarray = ndtri(np.clip(u.astype(np.float64), 1e-12, 1 - 1e-12))
    return array


def _order_values(s, qs: np.ndarray, u: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    mean = np.array([max(q.order_value_mean, 1e-9) for q in s.queues])[qs]
    sd = np.array([q.order_value_sd for q in s.queues])[qs]
    s2 = np.log1p((sd / mean) ** 2)
    array: np.ndarray = np.exp(np.log(mean) - s2 / 2 + np.sqrt(s2) * _norm(u))
    return array


def _levels(world: World) -> np.ndarray:
    """Proficiency [queue, agent] in the queue's skill (1 if the agent lacks it)."""
    agents = world.scenario.agents
    return np.array([[a.skills.get(q.skill, 1) for a in agents] for q in world.qdefs], dtype=float).reshape(
        len(world.qdefs), len(agents))


def _agent_factors(world: World) -> np.ndarray:
    """Log odds multiplier per agent: its own close factor and its center's."""
    centers = {c.center_id: c.close_factor for c in world.scenario.centers}
    return np.array([math.log(max(a.close_factor * centers[a.center_id], 1e-12)) for a in world.scenario.agents])
