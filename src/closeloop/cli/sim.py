"""Simulation and staffing commands: ``closeloop simulate`` and ``closeloop staff``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for
from closeloop.errors import InputError
from closeloop.routing import POLICIES

_METRICS = ("offered", "service_level", "asa", "abandonment", "occupancy", "sales", "close_rate", "revenue")
_PCT = {"service_level", "abandonment", "occupancy", "close_rate", "resolution", "reach_rate", "blocked", "balked",
        "timed_out"}
_LIMITS = ("blocked", "balked", "timed_out")  # shown only when a queue has capacity limits


def _metrics(reps: Any) -> tuple[str, ...]:
    """The metrics to show: the usual ones, plus the limit shares when a queue has limits."""
    return _METRICS + tuple(m for m in _LIMITS if any(m in v for v in reps.summary.values()))


def _read_scenario(path: Path) -> Any:
    from closeloop.sim.scenario_file import parse_scenario

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read scenario: {exc.strerror or exc}") from exc
    return parse_scenario(text, str(path))


def _fmt(metric: str, est: Any) -> str:
    if est is None or math.isnan(est.value):
        return ""
    scale, unit, digits = (100.0, "%", 1) if metric in _PCT else (1.0, "", 1 if metric == "asa" else 0)

    def f(x: float) -> str:
        return f"{x * scale:,.{digits}f}"

    if math.isnan(est.lo):
        return f"{f(est.value)}{unit}"
    return f"{f(est.value)}{unit} [{f(est.lo)}, {f(est.hi)}]"


def _summary_rows(reps: Any, fmt: OutputFormat) -> list[dict[str, Any]]:
    """One row per queue: formatted cells for people, value/lo/hi objects for JSON."""
    rows = []
    for queue, metrics in reps.summary.items():
        row: dict[str, Any] = {"policy": reps.policy, "queue": queue}
        for m in _metrics(reps):
            est = metrics.get(m)
            if fmt is OutputFormat.table:
                row[m] = _fmt(m, est)
            else:
                row[m] = est.as_dict() if est is not None else None
        rows.append(row)
    return rows


def _long_rows(reps: Any) -> list[dict[str, Any]]:
    """One row per queue and metric (CSV: one flat table that scripts can read)."""
    return [{"policy": reps.policy, "queue": queue, "metric": m, **est.as_dict(), "verdict": None}
            for queue, metrics in reps.summary.items() for m in _metrics(reps) if (est := metrics.get(m)) is not None]


def _verdict(d: dict[str, Any]) -> str:
    if d["significant"] is None:
        return "n/a (1 replication)"
    return "more than noise" if d["significant"] else "within noise"


def _compare_rows(base: Any, other: Any, fmt: OutputFormat) -> list[dict[str, Any]]:
    """Paired differences ``other - base``; rates in the same units as the results (fractions),
    except in the table, where they read as percentage points."""
    rows = []
    for queue, metrics in base.compare(other).items():
        for m in _METRICS:
            d = metrics.get(m)
            if d is None:
                continue
            if fmt is OutputFormat.table:
                pp = m in _PCT
                scale, unit, digits = (100.0, " pp", 1) if pp else (1.0, "", 1 if m == "asa" else 0)
                cell = f"{d['diff'] * scale:+,.{digits}f}{unit}"
                if d["lo"] is not None:
                    cell += f" [{d['lo'] * scale:+,.{digits}f}, {d['hi'] * scale:+,.{digits}f}]"
                rows.append({"queue": queue, "metric": m, "difference (95% CI)": cell, "verdict": _verdict(d)})
            else:
                rows.append({"queue": queue, "metric": m, "difference": d["diff"], "lo": d["lo"], "hi": d["hi"],
                             "verdict": _verdict(d)})
    return rows


def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML); see docs/simulator.md, examples/scenarios.")],
    replications: Annotated[int, typer.Option("--replications", "-n", min=1, help="Independent replications.")] = 5,
    policy: Annotated[str | None, typer.Option(help=f"Routing policy instead of the scenario's: {', '.join(POLICIES)}.")
                      ] = None,
    compare: Annotated[str | None, typer.Option(help="Also run this policy on the same traffic and show the "
                                                     "paired differences (common random numbers).")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: the scenario's).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes (default: all cores).")] = None,
    engine: Annotated[str, typer.Option(help="auto (the fast path where it is exact), event or fast.")] = "auto",
    write_to_workspace: Annotated[bool, typer.Option(
        "--write-to-workspace", help="Load the first replication's centers, agents, leads and calls into the "
                                     "workspace, as if ingested.")] = False,
    intervals: Annotated[int, typer.Option(help="Also print per-interval figures of the first replication, "
                                                "in intervals of this many minutes (0: no).", min=0)] = 0,
    validate_twin: Annotated[bool, typer.Option(
        "--validate", help="Instead: replay the scenario's period and print simulated vs observed (the "
                           "workspace's calls) SL, ASA, abandonment and occupancy per queue and hour.")] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Simulate SCENARIO and print, per queue, offered calls, service level, ASA, abandonment,
    occupancy, sales, close rate and revenue, each with its 95% interval over the replications.

    The scenario is checked first: a mistake stops the command with one message naming the
    file, the key and the problem (exit 2). With --compare, rate differences are in
    percentage points in the table and fractions (like the results) in JSON and CSV; CSV is
    one long table (policy, queue, metric, value, lo, hi, verdict) with the differences as
    rows whose policy reads "OTHER minus POLICY".
    """
    from closeloop.sim.runner import check_engine, replicate, run_once
    from closeloop.sim.scenario import validate

    check_engine(engine)
    s = _read_scenario(scenario)
    if seed is not None:
        s.seed = seed
    validate(s)
    if validate_twin:
        from closeloop.cli.calibrate import print_validation

        print_validation(s, replications, seed, engine, workspace, fmt)
        return
    pol = policy or s.policy
    if policy is not None:
        s.make_policy(policy, {})
    if compare is not None:
        s.make_policy(compare, {})
    err = console(stderr=True)
    err.print(f"simulating {s.name}: {replications} replication(s) of {s.days:g} day(s), policy {pol}")
    params = None if policy is None or policy == s.policy else {}
    base = replicate(s, replications, pol, workers=workers, engine=engine, params=params)
    runs = [base]
    if compare is not None:
        cparams = s.policy_params if compare == s.policy else {}
        runs.append(replicate(s, replications, compare, workers=workers, engine=engine, params=cparams))
    versus = f"{compare} minus {pol}"
    if fmt is OutputFormat.json:
        out: dict[str, Any] = {"scenario": s.name, "replications": replications,
                               "results": [r for run in runs for r in _summary_rows(run, fmt)]}
        if compare is not None:
            out["differences"] = _compare_rows(base, runs[1], fmt)
        typer.echo(json.dumps(out, indent=2, default=str))
    elif fmt is OutputFormat.csv:
        rows = [r for run in runs for r in _long_rows(run)]
        if compare is not None:
            rows += [{"policy": versus, "queue": d["queue"], "metric": d["metric"], "value": d["difference"],
                      "lo": d["lo"], "hi": d["hi"], "verdict": d["verdict"]} for d in _compare_rows(base, runs[1], fmt)]
        emit_rows(rows, fmt)
    else:
        for run in runs:
            rows = [{k: v for k, v in r.items() if k != "policy"} for r in _summary_rows(run, fmt)]
            emit_rows(rows, fmt, title=f"{s.name} — policy {run.policy} ({replications} replications, 95% intervals)")
        if compare is not None:
            emit_rows(_compare_rows(base, runs[1], fmt), fmt, title=f"{versus} (paired, same traffic)")
    if intervals or write_to_workspace:
        import numpy as np

        first = np.random.SeedSequence(s.seed).spawn(replications)[0]
        r = run_once(s, pol, first, engine, params)
        if intervals:
            emit_rows(r.intervals(intervals * 60.0), fmt if fmt is not OutputFormat.json else OutputFormat.csv,
                      title="per interval (replication 1)")
        if write_to_workspace:
            _write(r, workspace, f"sim:{scenario.name}:{pol}")


def _write(result: Any, workspace: Path | None, source: str) -> None:
    from closeloop.ingest import ingest_arrow
    from closeloop.warehouse import open_warehouse

    settings = settings_for(workspace)
    with open_warehouse(settings) as wh:
        for record, table in result.tables().items():
            if table.num_rows == 0:
                continue
            res = ingest_arrow(wh, record, table, source=source)
            console(stderr=True).print(f"{record}: {res.loaded} loaded, {res.rejected} rejected")


def staff(
    calls_per_hour: Annotated[float | None, typer.Option(help="Arrivals per hour (one interval).")] = None,
    aht: Annotated[float, typer.Option(help="Average handle time in seconds (talk + hold + wrap).")] = 300.0,
    target: Annotated[float, typer.Option(help="Service-level target, e.g. 0.8.")] = 0.8,
    threshold: Annotated[float, typer.Option(help="Answered within this many seconds.")] = 20.0,
    patience: Annotated[float | None, typer.Option(help="Mean caller patience in seconds: uses Erlang A "
                                                        "(abandonment) instead of Erlang C.")] = None,
    shrinkage: Annotated[float, typer.Option(help="Share of paid time off the phones (0-1).")] = 0.0,
    max_asa: Annotated[float | None, typer.Option(help="Also require ASA at most this (seconds).")] = None,
    max_abandon: Annotated[float | None, typer.Option(help="Also require abandonment at most this (0-1).")] = None,
    agents: Annotated[int | None, typer.Option(min=0, help="Show the figures for this many agents instead.")] = None,
    scenario: Annotated[Path | None, typer.Option(help="Per-interval table from each inbound queue's arrival "
                                                       "profile (its handle, wrap, patience, threshold).")] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Agents needed for a service-level target (Erlang C, or Erlang A with --patience).

    Service level counts abandons against you: answered within the threshold / offered.
    With fewer agents than the load the queue is unstable and shown as such (SL 0, ASA inf).
    """
    from closeloop.sim.staffing import Target, figures, interval_table, required_agents, scheduled

    t = Target(target, threshold, max_asa, max_abandon, shrinkage)
    t.check()
    if scenario is not None:
        from closeloop.sim.scenario import validate

        if calls_per_hour is not None or agents is not None:
            raise InputError("--scenario takes rates from the scenario; leave out --calls-per-hour and --agents")
        s = _read_scenario(scenario)
        validate(s)
        emit_rows(interval_table(s, t), fmt, title=f"staffing for {s.name} (target {target:.0%} in queue threshold)")
        return
    if calls_per_hour is None:
        raise InputError("give --calls-per-hour (and --aht), or --scenario FILE")
    lam = calls_per_hour / 3600.0
    if agents is not None:
        rows = [_fig_row(figures(agents, lam, aht, threshold, patience), shrinkage, scheduled)]
    else:
        need = required_agents(lam, aht, t, patience)
        rows = [_fig_row(figures(n, lam, aht, threshold, patience), shrinkage, scheduled)
                for n in range(max(1, need.agents - 2), need.agents + 3)]
        for r in rows:
            r["meets_target"] = r["agents"] >= need.agents
    emit_rows(rows, fmt, title=f"{calls_per_hour:g} calls/h, AHT {aht:g}s, SL target {target:.0%} in {threshold:g}s"
                               + (f", patience {patience:g}s (Erlang A)" if patience else " (Erlang C)"))


def _fig_row(f: Any, shrinkage: float, scheduled: Any) -> dict[str, Any]:
    return {"agents": f.agents, "scheduled": scheduled(f.agents, shrinkage), "load": round(f.load, 3),
            "p_wait": f.p_wait, "service_level": f.service_level, "asa_s": f.asa, "abandonment": f.abandonment,
            "occupancy": f.occupancy, "stable": f.stable}


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``staff`` to the root app."""
    app.command()(simulate)
    app.command()(staff)
