"""Skill groups for the twin: which queues each agent really served, and staffing per group.

An agent is given a queue's skill when that queue is at least ``own_share`` (2%) of the
calls it answered, or it answered at least ``queue_share`` (5%) of the queue's calls (and
every queue keeps at least its busiest agent). Agents with the same skills form a group;
each group is staffed from its own agents' presence (:func:`closeloop.sim.calibrate.presence`),
averaged per half-hour of the week and rounded by largest remainder so that the groups
add up to the rounded total — small groups keep their fraction of an agent where it matters.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np

from closeloop.sim.calibrate import SLOT_S, WEEK_SLOTS, Calls, presence


def agent_skills(c: Calls, own_share: float = 0.02, queue_share: float = 0.05) -> dict[str, frozenset[str]]:
    """The queues each agent served enough of to count as its skills."""
    s = c.served & np.array([a is not None for a in c.agent])
    agents, queues = c.agent[s].astype(str), c.queue[s].astype(str)
    pairs: dict[tuple[str, str], int] = {}
    for a, q in zip(agents.tolist(), queues.tolist(), strict=True):
        pairs[(a, q)] = pairs.get((a, q), 0) + 1
    per_agent: dict[str, int] = {}
    per_queue: dict[str, int] = {}
    for (a, q), n in pairs.items():
        per_agent[a] = per_agent.get(a, 0) + n
        per_queue[q] = per_queue.get(q, 0) + n
    skills: dict[str, set[str]] = {a: set() for a in per_agent}
    for (a, q), n in pairs.items():
        if n >= own_share * per_agent[a] or n >= queue_share * per_queue[q]:
            skills[a].add(q)
    for q in per_queue:
        top = max((a for a, qq in pairs if qq == q), key=lambda a: pairs[(a, q)])
        skills[top].add(q)
    return {a: frozenset(v) for a, v in skills.items()}


def group_staffing(c: Calls, start: datetime, days: int, min_one: np.ndarray, idle_gap_s: float = 1800.0
                   ) -> list[tuple[list[str], list[int]]]:
    """(queues, staffing per half-hour of the week) of each skill group."""
    skills = agent_skills(c)
    groups = sorted(set(skills.values()), key=lambda g: sorted(g))
    wd = (start.weekday() + np.arange(days * 48) // 48) % 7
    slot = wd * 48 + np.arange(days * 48) % 48
    occurrences = np.repeat(np.maximum(np.bincount((start.weekday() + np.arange(days)) % 7, minlength=7), 1), 48)
    means = []
    for g in groups:
        keep = np.array([a is not None and skills.get(a) == g for a in c.agent])
        sub = replace(c, queue=c.queue[keep], call_type=c.call_type[keep], offered=c.offered[keep],
                      answered=c.answered[keep], ended=c.ended[keep], agent=c.agent[keep], wrap=c.wrap[keep],
                      caller=None)
        week = np.zeros(WEEK_SLOTS)
        np.add.at(week, slot, presence(sub, days, idle_gap_s) / SLOT_S)
        means.append(week / occurrences)
    m = np.array(means).reshape(len(groups), WEEK_SLOTS)
    total = np.maximum(np.rint(m.sum(axis=0)), min_one.astype(int)).astype(int)
    out = np.floor(m).astype(int)
    frac = m - out
    for k in range(WEEK_SLOTS):
        for g in np.argsort(-frac[:, k], kind="stable")[: max(0, total[k] - out[:, k].sum())]:
            out[g, k] += 1
    return [(sorted(g), out[i].tolist()) for i, g in enumerate(groups) if out[i].any()]
