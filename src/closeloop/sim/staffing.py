"""Staffing: agents required per interval for a service target, with shrinkage.

A target is explicit: ``service_level`` of calls answered within ``threshold_s`` (abandons
in the denominator: answered-in-time / offered), optionally a maximum ASA and a maximum
abandonment rate. With a mean patience the Erlang A model is used, otherwise Erlang C.
``scheduled = ceil(required / (1 - shrinkage))`` covers breaks, training and absence.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from closeloop.errors import InputError
from closeloop.sim.erlang import QueueFigures, erlang_a_figures, erlang_c_figures
from closeloop.sim.scenario import Scenario


@dataclass(frozen=True)
class Target:
    """What "enough agents" means."""

    service_level: float = 0.8
    threshold_s: float = 20.0
    max_asa_s: float | None = None
    max_abandonment: float | None = None
    shrinkage: float = 0.0

    def check(self) -> None:
        """Raise InputError for impossible targets."""
        if not 0 < self.service_level < 1:
            raise InputError(f"service level target must be between 0 and 1 (exclusive), got {self.service_level}")
        if self.threshold_s < 0:
            raise InputError(f"threshold must be ≥ 0 seconds, got {self.threshold_s}")
        if not 0 <= self.shrinkage < 1:
            raise InputError(f"shrinkage must be in [0, 1), got {self.shrinkage}")
        if self.max_asa_s is not None and self.max_asa_s < 0:
            raise InputError(f"maximum ASA must be ≥ 0 seconds, got {self.max_asa_s}")
        if self.max_abandonment is not None and not 0 <= self.max_abandonment < 1:
            raise InputError(f"maximum abandonment must be in [0, 1), got {self.max_abandonment}")


def figures(agents: int, calls_per_s: float, aht_s: float, threshold_s: float,
            patience_s: float | None = None) -> QueueFigures:
    """Erlang A when a patience is given, else Erlang C.

    With no callers nothing waits, abandons or misses the threshold: service level 1 and
    ASA 0 rather than the formulas' 0/0 (which read as "every caller waits forever").
    """
    if aht_s <= 0:
        raise InputError(f"average handle time must be positive, got {aht_s}")
    if calls_per_s < 0:
        raise InputError(f"arrival rate must be ≥ 0, got {calls_per_s}")
    if agents < 0:
        raise InputError(f"agents must be ≥ 0, got {agents}")
    if patience_s is not None and not patience_s > 0:
        raise InputError(f"mean patience must be positive seconds, got {patience_s}")
    if calls_per_s == 0:
        return QueueFigures(agents, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, True)
    if patience_s is not None:
        return erlang_a_figures(agents, calls_per_s, aht_s, patience_s, threshold_s)
    return erlang_c_figures(agents, calls_per_s, aht_s, threshold_s)


def meets(f: QueueFigures, t: Target) -> bool:
    """Whether figures satisfy a target."""
    if not f.stable or f.service_level < t.service_level:
        return False
    if t.max_asa_s is not None and f.asa > t.max_asa_s:
        return False
    return not (t.max_abandonment is not None and f.abandonment > t.max_abandonment)


def required_agents(calls_per_s: float, aht_s: float, target: Target, patience_s: float | None = None,
                    limit: int = 100_000) -> QueueFigures:
    """The fewest agents meeting ``target`` and their figures."""
    target.check()
    if patience_s is not None and target.max_abandonment == 0 and calls_per_s > 0:
        raise InputError("maximum abandonment 0 cannot be met with impatient callers (Erlang A); give a small rate")
    if calls_per_s == 0:
        return figures(0, 0.0, aht_s, target.threshold_s, patience_s)
    load = calls_per_s * aht_s
    # served-in-time calls ≤ served ≤ agents·μ, so fewer than SL·load agents can never do
    n = max(1, math.floor(load * target.service_level) if patience_s else math.floor(load) + 1)
    while n <= limit:
        f = figures(n, calls_per_s, aht_s, target.threshold_s, patience_s)
        if meets(f, target):
            return f
        n += 1
    raise InputError(f"no staffing up to {limit} agents meets the target")


def scheduled(required: int, shrinkage: float) -> int:
    """Agents to schedule so that ``required`` are on the phones after shrinkage."""
    return math.ceil(required / (1.0 - shrinkage) - 1e-9)


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def interval_table(s: Scenario, target: Target, use_threshold_from_queue: bool = True) -> list[dict[str, Any]]:
    """Required agents for each inbound queue and each piece of its daily arrival profile."""
    rows = []
    for q in s.queues:
        if q.outbound:
            continue
        prof = q.profile()
        week = q.profile_period == "week"
        piece = (7 if week else 1) * 86400 / len(prof)
        t = Target(target.service_level, q.sl_threshold_s if use_threshold_from_queue else target.threshold_s,
                   target.max_asa_s, target.max_abandonment, target.shrinkage)
        aht = q.talk_dist().mean() + (q.wrap.mean() if q.wrap is not None else q.wrap_s)
        pd = q.patience_dist()  # Erlang A takes its mean (exact for exponential patience)
        for i, rate in enumerate(prof):
            f = required_agents(rate / 3600.0, aht, t, pd.mean() if pd is not None else None)
            d, sod = divmod(int(i * piece), 86400)
            h, m = divmod(sod // 60, 60)
            label = f"{_DAY_NAMES[d]} {h:02d}:{m:02d}" if week else f"{h:02d}:{m:02d}"
            rows.append({"queue": q.name, "from": label, "calls_per_hour": rate,
                         "load": round(f.load, 3), "agents": f.agents, "scheduled": scheduled(f.agents, t.shrinkage),
                         "service_level": f.service_level, "asa_s": f.asa, "abandonment": f.abandonment,
                         "occupancy": f.occupancy})
    return rows


def figures_row(f: QueueFigures) -> dict[str, Any]:
    """A printable row of figures."""
    return asdict(f)
