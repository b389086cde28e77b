"""Simulation and staffing commands: ``closeloop simulate`` and ``closeloop staff``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import (
    FormatOpt,
    OutOpt,
    OutputFormat,
    WorkspaceOpt,
    check_output,
    console,
    emit,
    emit_rows,
    workspace_for,
)
from closeloop.results import Result
from closeloop.routing import POLICIES
from closeloop.workspace.simulation import SIM_METRICS

_PCT = {"service_level", "abandonment", "occupancy", "close_rate", "resolution", "reach_rate", "blocked", "balked",
        "timed_out"}


def _fmt(metric: str, value: float | None, lo: float | None, hi: float | None, diff: bool = False) -> str:
    """``81.2% [79.0, 83.4]`` for people; differences of rates in percentage points."""
    if value is None or math.isnan(value):
        return ""
    pp = metric in _PCT
    scale, unit, digits = (100.0, " pp" if diff else "%", 1) if pp else (1.0, "", 1 if metric == "asa" else 0)

    def f(x: float) -> str:
        return f"{x * scale:{'+' if diff else ''},.{digits}f}"

    if lo is None or hi is None or math.isnan(lo):
        return f"{f(value)}{unit}"
    return f"{f(value)}{unit} [{f(lo)}, {f(hi)}]"


def _tables(result: Result) -> list[tuple[str, list[dict[str, Any]]]]:
    """The long result pivoted for people: one table per policy (queues x metrics), then the differences."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    by_policy: dict[str, dict[str, dict[str, Any]]] = {}
    diffs = []
    for r in result.rows():
        if r["verdict"] is not None:
            diffs.append({"queue": r["queue"], "metric": r["metric"],
                          "difference (95% CI)": _fmt(r["metric"], r["value"], r["low"], r["high"], diff=True),
                          "verdict": r["verdict"]})
            continue
        row = by_policy.setdefault(r["policy"], {}).setdefault(r["queue"], {"queue": r["queue"]})
        row[r["metric"]] = _fmt(r["metric"], r["value"], r["low"], r["high"])
    present = {r["metric"] for r in result.rows()}
    shown = [m for m in SIM_METRICS if m in present]
    for policy, rows in by_policy.items():
        out.append((f"{result.scenario} — policy {policy} ({result.replications} replications, 95% intervals)",
                    [{k: row.get(k, "") for k in ("queue", *shown)} for row in rows.values()]))
    if diffs:
        versus = next(r["policy"] for r in result.rows() if r["verdict"] is not None)
        out.append((f"{versus} (paired, same traffic)", diffs))
    return out


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
    out: OutOpt = None,
) -> None:
    """Simulate SCENARIO and print, per queue, offered calls, service level, ASA, abandonment,
    occupancy, sales, close rate and revenue, each with its 95% interval over the replications.

    The scenario is checked first: a mistake stops the command with one message naming the
    file, the key and the problem (exit 2). With --compare, rate differences are in
    percentage points in the table and fractions (like the results) in JSON and CSV; CSV is
    one long table (policy, queue, metric, value, lo, hi, verdict) with the differences as
    rows whose policy reads "OTHER minus POLICY".
    """
    check_output(fmt, out)
    if validate_twin:
        from closeloop.cli.calibrate import print_validation
        from closeloop.sim.runner import check_engine
        from closeloop.sim.scenario import validate
        from closeloop.workspace.simulation import read_scenario

        check_engine(engine)
        s = read_scenario(scenario)
        if seed is not None:
            s.seed = seed
        validate(s)
        print_validation(s, replications, seed, engine, workspace, fmt)
        return
    ws = workspace_for(workspace) if write_to_workspace else None
    err = console(stderr=True)
    err.print(f"simulating {scenario.name}: {replications} replication(s)")
    from closeloop.workspace.simulation import simulate as run

    result = run(scenario, replications, policy, compare, seed, workers, engine, workspace=ws,
                 intervals_min=intervals)
    if fmt is OutputFormat.table:
        for title, rows in _tables(result):
            emit_rows(rows, fmt, title=title)
    else:
        emit(result, fmt, out)
    if intervals:
        emit_rows(result.intervals, fmt if fmt is OutputFormat.table else OutputFormat.csv,
                  title="per interval (replication 1)")
    for res in result.written:
        (r,) = res.rows()
        err.print(f"{r['record']}: {r['loaded']} loaded, {r['rejected']} rejected")


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
    out: OutOpt = None,
) -> None:
    """Agents needed for a service-level target (Erlang C, or Erlang A with --patience).

    Service level counts abandons against you: answered within the threshold / offered.
    asa_s is the mean wait of answered callers; mean_wait_s that of all callers (abandoners
    included): they differ only in Erlang A. No calls (--calls-per-hour 0) need no agents.
    With fewer agents than the load the queue is unstable and shown as such (SL 0, ASA inf).
    """
    from closeloop.workspace.simulation import staff as need

    result = need(calls_per_hour, aht, target, threshold, patience, shrinkage, max_asa, max_abandon, agents, scenario)
    if scenario is not None:
        emit_rows(result.intervals, fmt, title=f"{result.title} (target {target:.0%} in queue threshold)")
        return
    emit(result, fmt, out)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``staff`` to the root app."""
    app.command()(simulate)
    app.command()(staff)
