"""Test-the-decision use-cases: ``Workspace.simulate`` and the workspace-free :func:`staff`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop.errors import InputError
from closeloop.results import Result, schema_of
from closeloop.workspace.base import Base

if TYPE_CHECKING:
    from closeloop.workspace.base import Progress

#: The figures a simulation reports per queue, in the order people read them; the last three only for
#: queues with capacity limits (blocked on arrival, balked, left after the maximum wait).
SIM_METRICS = ("offered", "service_level", "asa", "abandonment", "occupancy", "sales", "close_rate", "revenue",
               "blocked", "balked", "timed_out")

SIMULATION = schema_of("simulation", [
    ("policy", "str", "routing policy, or 'OTHER minus POLICY' for a paired difference"),
    ("queue", "str", "queue (or 'all')"),
    ("metric", "str", f"one of {', '.join(SIM_METRICS)}"),
    ("value", "float", "mean over the replications (a difference: mean paired difference)"),
    ("low", "float", "lower end of the interval over replications (t, 95%)"),
    ("high", "float", "upper end"),
    ("verdict", "str", "differences only: more than noise, within noise, or n/a with one replication"),
])

STAFF = schema_of("staff", [
    ("agents", "int", "agents on the phones"),
    ("scheduled", "int", "agents to schedule after shrinkage"),
    ("load", "float", "offered load in Erlangs (arrival rate x handle time)"),
    ("p_wait", "float", "probability a caller waits"),
    ("service_level", "float", "answered within the threshold / offered (abandons count against)"),
    ("asa_s", "float", "average speed of answer of answered calls, seconds"),
    ("mean_wait_s", "float", "mean wait of all callers, abandoners included, seconds"),
    ("abandonment", "float", "share of callers who abandon (Erlang A; 0 in Erlang C)"),
    ("occupancy", "float", "share of agent time busy"),
    ("stable", "bool", "whether the queue is stable (agents > load, or callers abandon)"),
    ("meets_target", "bool", "whether this many agents meet every target"),
])


def read_scenario(path: str | Path) -> Any:
    """A scenario file parsed (not yet validated: :func:`closeloop.sim.scenario.validate`)."""
    from closeloop.sim.scenario_file import parse_scenario

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read scenario: {exc.strerror or exc}") from exc
    return parse_scenario(text, str(path))


def _verdict(d: dict[str, Any]) -> str:
    if d["significant"] is None:
        return "n/a (1 replication)"
    return "more than noise" if d["significant"] else "within noise"


class Simulation(Base):
    """``simulate`` (mixed into Workspace)."""

    def simulate(self, scenario: str | Path, replications: int = 5, policy: str | None = None,
                 compare: str | None = None, seed: int | None = None, workers: int | None = None,
                 engine: str = "auto", write_to_workspace: bool = False, intervals_min: float = 0,
                 progress: Progress | None = None) -> Result:
        """Simulate a scenario: per queue and metric, the mean over replications with its interval.

        ``compare`` runs a second policy on the same traffic (common random numbers) and adds
        its paired differences as rows whose policy reads ``"OTHER minus POLICY"``. Extras:
        ``scenario`` (its name), ``replications``, ``intervals`` (per-interval rows of the first
        replication when ``intervals_min``), ``written`` (ingest Results when writing).
        """
        return simulate(scenario, replications, policy, compare, seed, workers, engine,
                        workspace=self if write_to_workspace else None, intervals_min=intervals_min,
                        progress=progress)


def simulate(scenario: str | Path, replications: int = 5, policy: str | None = None, compare: str | None = None,
             seed: int | None = None, workers: int | None = None, engine: str = "auto", workspace: Any = None,
             intervals_min: float = 0, progress: Progress | None = None) -> Result:
    """:meth:`Workspace.simulate` without a workspace (nothing written)."""
    from closeloop.sim.runner import check_engine, replicate

    check_engine(engine)
    if replications < 1:
        raise InputError("replications must be at least 1")
    s = read_scenario(scenario)
    if seed is not None:
        s.seed = seed
    from closeloop.sim.scenario import validate

    validate(s)
    pol = policy or s.policy
    if policy is not None:
        s.make_policy(policy, {})
    if compare is not None:
        s.make_policy(compare, {})
    params: dict[str, Any] | None = None if policy is None or policy == s.policy else {}

    def tick(name: str) -> Any:
        if progress is None:
            return None
        progress.step(f"{name}: {replications} replication(s)", float(replications))
        return lambda done, total: progress.update(done, total)

    runs = [replicate(s, replications, pol, workers=workers, engine=engine, params=params, progress=tick(pol))]
    if compare is not None:
        cparams = s.policy_params if compare == s.policy else {}
        runs.append(replicate(s, replications, compare, workers=workers, engine=engine, params=cparams,
                              progress=tick(compare)))
    rows = [{"policy": run.policy, "queue": queue, "metric": m, "value": est.value, "low": est.lo, "high": est.hi}
            for run in runs for queue, metrics in run.summary.items() for m in SIM_METRICS
            if (est := metrics.get(m)) is not None]
    if compare is not None:
        versus = f"{compare} minus {pol}"
        rows += [{"policy": versus, "queue": queue, "metric": m, "value": d["diff"], "low": d["lo"],
                  "high": d["hi"], "verdict": _verdict(d)}
                 for queue, metrics in runs[0].compare(runs[1]).items() for m in SIM_METRICS
                 if (d := metrics.get(m)) is not None]
    extras: dict[str, Any] = {"scenario": s.name, "replications": replications, "policy": pol,
                              "intervals": [], "written": []}
    if intervals_min or workspace is not None:
        import numpy as np

        from closeloop.sim.runner import run_once

        first = np.random.SeedSequence(s.seed).spawn(replications)[0]
        r = run_once(s, pol, first, engine, params)
        if intervals_min:
            extras["intervals"] = r.intervals(intervals_min * 60.0)
        if workspace is not None:
            source = f"sim:{Path(scenario).name}:{pol}"
            extras["written"] = [workspace.ingest_arrow(record, table, source)
                                 for record, table in r.tables().items() if table.num_rows]
    return Result.from_rows(SIMULATION, rows, title=f"{s.name}: {replications} replication(s)", **extras)


def staff(calls_per_hour: float | None = None, aht_s: float = 300.0, target: float = 0.8, threshold_s: float = 20.0,
          patience_s: float | None = None, shrinkage: float = 0.0, max_asa_s: float | None = None,
          max_abandon: float | None = None, agents: int | None = None,
          scenario: str | Path | None = None) -> Result:
    """Agents needed for a service-level target (Erlang C, or Erlang A with ``patience_s``).

    Rows around the answer (two fewer to two more agents), or the figures for ``agents``; with
    ``scenario``, a per-interval table from each inbound queue's arrival profile (extra
    ``intervals``). No calls need no agents: ``calls_per_hour=0`` answers 0.
    """
    from closeloop.sim.staffing import Target, figures, interval_table, required_agents, scheduled

    t = Target(target, threshold_s, max_asa_s, max_abandon, shrinkage)
    t.check()
    if scenario is not None:
        from closeloop.sim.scenario import validate

        if calls_per_hour is not None or agents is not None:
            raise InputError("a scenario gives the rates: leave out calls_per_hour and agents")
        s = read_scenario(scenario)
        validate(s)
        return Result.from_rows(STAFF, [], title=f"staffing for {s.name}", intervals=interval_table(s, t))
    if calls_per_hour is None:
        raise InputError("give calls_per_hour (and aht_s), or a scenario file")
    if calls_per_hour < 0 or aht_s <= 0:
        raise InputError("calls_per_hour must be at least 0 and aht_s above 0")
    lam = calls_per_hour / 3600.0
    title = (f"{calls_per_hour:g} calls/h, AHT {aht_s:g}s, SL target {target:.0%} in {threshold_s:g}s"
             + (f", patience {patience_s:g}s (Erlang A)" if patience_s else " (Erlang C)"))
    if lam == 0:
        return Result.from_rows(STAFF, [_row(figures(0, 0.0, aht_s, threshold_s, patience_s), 0.0, scheduled, True)],
                                title=title, required=0)
    if agents is not None:
        return Result.from_rows(STAFF, [_row(figures(agents, lam, aht_s, threshold_s, patience_s), shrinkage,
                                             scheduled, None)], title=title)
    need = required_agents(lam, aht_s, t, patience_s)
    rows = [_row(figures(n, lam, aht_s, threshold_s, patience_s), shrinkage, scheduled, n >= need.agents)
            for n in range(max(1, need.agents - 2), need.agents + 3)]
    return Result.from_rows(STAFF, rows, title=title, required=need.agents)


def _row(f: Any, shrinkage: float, scheduled: Any, meets: bool | None) -> dict[str, Any]:
    return {"agents": f.agents, "scheduled": scheduled(f.agents, shrinkage), "load": f.load, "p_wait": f.p_wait,
            "service_level": f.service_level, "asa_s": f.asa, "mean_wait_s": f.mean_wait,
            "abandonment": f.abandonment, "occupancy": f.occupancy, "stable": f.stable, "meets_target": meets}
