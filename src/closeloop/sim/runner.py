"""Running a scenario: one replication, or N in parallel with common random numbers.

Replication ``r`` of any policy uses the same child seed (``SeedSequence(seed).spawn``),
so two policies are compared on the same callers, leads and luck; the paired differences
then have much less noise than two independent runs.
"""

from __future__ import annotations

import copy
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from closeloop.errors import InputError, SimulationError
from closeloop.routing import Policy
from closeloop.sim.engine import run_events
from closeloop.sim.fast import run_pooled
from closeloop.sim.outcomes import Outcomes, draw_outcomes
from closeloop.sim.records import agents_table, calls_table, centers_table, leads_table
from closeloop.sim.scenario import Scenario, validate
from closeloop.sim.stats import Estimate, compare, interval_stats, run_stats, summarize
from closeloop.sim.traffic import Jobs, draw_traffic
from closeloop.sim.world import World, build_world

ENGINES = ("auto", "event", "fast")


@dataclass
class RunResult:
    """One replication: the world, every attempt with its result, outcomes and statistics."""

    world: World
    jobs: Jobs
    outcomes: Outcomes
    stats: dict[str, dict[str, Any]]
    engine: str
    engine_s: float
    engine_cpu_s: float = 0.0

    def calls(self) -> pa.Table:
        """Canonical call records (``closeloop.model.CALLS``)."""
        return calls_table(self.world, self.jobs, self.outcomes)

    def tables(self) -> dict[str, pa.Table]:
        """Centers, agents, leads and calls, ready for ``ingest_arrow``, parents first."""
        return {"centers": centers_table(self.world), "agents": agents_table(self.world),
                "leads": leads_table(self.world, self.jobs), "calls": self.calls()}

    def intervals(self, interval_s: float = 1800.0) -> list[dict[str, Any]]:
        """Per-interval statistics of this replication."""
        return interval_stats(self.world, self.jobs, interval_s)


def check_engine(engine: str) -> None:
    """An unknown engine name is the user's mistake (exit 2), found before anything runs."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")


def _policy(s: Scenario, policy: Policy | str | None, params: dict[str, Any] | None) -> Policy:
    if isinstance(policy, Policy):
        pol = copy.deepcopy(policy)
        pol.setup(s.queue_defs(), s.agent_defs())
        return pol
    return s.make_policy(policy, params)


def _seeds(seed: int | np.random.SeedSequence) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    traffic, outcome = ss.spawn(2)
    return traffic, outcome


def run_once(
    s: Scenario, policy: Policy | str | None = None, seed: int | np.random.SeedSequence | None = None,
    engine: str = "auto", params: dict[str, Any] | None = None, sl_abandons: str = "include_all",
) -> RunResult:
    """Simulate one replication of ``s`` (checked first) under ``policy`` (default: the scenario's)."""
    check_engine(engine)
    validate(s)
    pol = _policy(s, policy, params)
    world = build_world(s, pol)
    traffic_seed, outcome_seed = _seeds(s.seed if seed is None else seed)
    jobs = draw_traffic(s, traffic_seed)
    pooled = pol.pooled(world.new_state()) and fast_path_applies(s)
    if engine == "fast" and not pooled:
        raise SimulationError(f"policy {pol.name!r} with these agents cannot use the fast path; use --engine event")
    use = "fast" if engine == "fast" or (engine == "auto" and pooled) else "event"
    t0, c0 = time.perf_counter(), time.process_time()
    (run_pooled if use == "fast" else run_events)(world, jobs)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = draw_outcomes(world, jobs, outcome_seed)
    return RunResult(world, jobs, out, run_stats(world, jobs, out, sl_abandons), use, elapsed, cpu)


def fast_path_applies(s: Scenario) -> bool:
    """The fast path models FCFS pools with longest-idle choice and fixed duty: no capacity, trunks,
    balking or overflow (a maximum wait ending in a message is fine: it is a deadline like
    patience), no other selection, no staffing plans, no transfers, no dialing windows."""
    return not any(q.capacity >= 0 or q.trunks >= 0 or q.balk_prob or q.overflow_to
                   or q.agent_selection != "longest_idle" or q.transfer_prob > 0 for q in s.queues
                   ) and not any(a.plan is not None for a in s.agents) and not any(q.dial_window for q in s.queues)


def _one(args: tuple[Any, ...]) -> tuple[dict[str, dict[str, Any]], int, float]:
    s, policy, seed, engine, params, sl = args
    r = run_once(s, policy, seed, engine, params, sl)
    return r.stats, len(r.jobs.q), r.engine_s


@dataclass
class Replications:
    """N replications of one policy: per-replication statistics and their summary."""

    policy: str
    stats: list[dict[str, dict[str, Any]]]
    attempts: int
    engine_s: float
    summary: dict[str, dict[str, Estimate]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.summary = summarize(self.stats)

    def compare(self, other: Replications) -> dict[str, dict[str, Any]]:
        """Paired differences ``other - self`` over the same seeds."""
        return compare(self.stats, other.stats)


def replicate(
    s: Scenario, replications: int = 10, policy: Policy | str | None = None, seed: int | None = None,
    workers: int | None = None, engine: str = "auto", params: dict[str, Any] | None = None,
    sl_abandons: str = "include_all",
) -> Replications:
    """Run ``replications`` independent replications on up to ``workers`` processes (default: all cores)."""
    if replications < 1:
        raise InputError("replications must be at least 1")
    check_engine(engine)
    validate(s)
    pol = _policy(s, policy, params)
    children = np.random.SeedSequence(s.seed if seed is None else seed).spawn(replications)
    jobs = [(s, policy, c, engine, params, sl_abandons) for c in children]
    n_workers = min(workers or os.cpu_count() or 1, replications)
    if n_workers <= 1:
        results = [_one(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            results = list(pool.map(_one, jobs))
    return Replications(pol.name, [r[0] for r in results], sum(r[1] for r in results), sum(r[2] for r in results))
