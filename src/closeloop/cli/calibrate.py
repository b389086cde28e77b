"""``closeloop calibrate``: a digital-twin scenario from the workspace's calls; and the
``simulate --validate`` report. Thin: both are Workspace methods (:mod:`closeloop.workspace.twin`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit, emit_rows, workspace_for


def calibrate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Scenario file to write (TOML).")],
    queues: Annotated[str | None, typer.Option(help="Comma-separated queues (default: every inbound queue).")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First day (local date, e.g. 1999-01-01).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day, included (local date).")] = None,
    timezone: Annotated[str | None, typer.Option(help="The center's IANA time zone (default: its centers record, "
                                                      "else UTC).")] = None,
    caller_column: Annotated[str | None, typer.Option(help="Column naming the caller, to find call-backs "
                                                           "(e.g. bank_customer_id); default lead_id.")] = "lead_id",
    sl_threshold: Annotated[float, typer.Option(help="Service-level threshold in seconds for the queues.")] = 20.0,
    callback_window: Annotated[float, typer.Option(help="A call from the same caller within this many seconds "
                                                        "after an abandoned one is its call-back.")] = 3600.0,
    max_ks: Annotated[float, typer.Option(help="Use the data's own quantiles when the best family misplaces more "
                                               "than this share of calls (KS distance).")] = 0.05,
    idle_gap: Annotated[float, typer.Option(help="An agent idle longer than this many seconds between calls "
                                                 "counts as away (staffing from handled calls).")] = 1800.0,
    replay: Annotated[bool, typer.Option("--replay", help="Staff each half-hour of the period as it was "
                                                          "(a staffing plan) instead of a typical week of shifts.")
                      ] = False,
    skill_groups: Annotated[bool, typer.Option("--skill-groups", help="Give each agent the queues it really "
                                                                      "served and staff each skill group (instead "
                                                                      "of one generalist pool).")] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Build a digital-twin scenario from the calls already in the workspace.

    Arrival profiles per queue and half-hour of the week with a day-to-day busyness, talk
    (and wrap-up) distributions chosen by goodness of fit, patience from waits with
    abandonment as the event and served callers censored (Kaplan-Meier, censored maximum
    likelihood), staffing per half-hour from handled-call concurrency, and call-backs.
    Check it with: closeloop simulate OUT --validate. See docs/simulator.md.
    """
    wanted = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    result = workspace_for(workspace).calibrate(
        out, wanted, date_from, date_to, timezone, caller_column, sl_threshold, callback_window, max_ks, idle_gap,
        replay, skill_groups)
    people = [{"queue": r["queue"], "calls": r["calls"], "call-backs": r["callbacks"],
               "busyness sd": r["busyness_sd"], "talk": f"{r['talk']} (D {r['talk_ks']:.3f})",
               "patience": r["patience"], "retrial p": r["retrial_prob"]} for r in result.rows()]
    emit(result, fmt, None, people=people, title=f"{result.title} -> {out}")


def print_validation(scenario: Path, replications: int, seed: int | None, engine: str, workspace: Path | None,
                     fmt: OutputFormat, out: Path | None = None) -> None:
    """Simulated vs observed SL, ASA, abandonment and occupancy per queue and hour (``simulate --validate``)."""
    ws = workspace_for(workspace)
    console(stderr=True).print(f"validating {scenario.name}: {replications} replication(s)")
    result = ws.validate_twin(scenario, replications, seed, engine)
    if fmt is not OutputFormat.table:
        emit(result, fmt, out)
        return
    rows = result.rows()
    emit_rows([_cells(r) for r in rows if r["queue"] != "all" or r["hour"] == "all"], fmt, title=result.title)
    emit_rows([_cells(r) for r in rows if r["queue"] == "all" and r["hour"] != "all"], fmt,
              title="occupancy: talk time / agents seen on a call in each half-hour")


_METRICS = (("service_level", "SL", True), ("asa", "ASA", False), ("abandonment", "aband.", True),
            ("occupancy", "occupancy", True))


def _cells(r: dict[str, Any]) -> dict[str, Any]:
    """One printable row: each metric's observed and simulated value with intervals, and what differs."""
    out: dict[str, Any] = {"queue": r["queue"], "hour": r["hour"]}
    if r.get("offered") is not None:
        out["offered obs/sim"] = f"{r['offered']:,}/{r['sim_offered']:,.0f}"
    differs = []
    for m, label, pct in _METRICS:
        if r.get(f"{m}_verdict") is None:
            continue
        f = (lambda x: f"{x * 100:.1f}%") if pct else (lambda x: f"{x:.1f}s")
        v = r.get(f"{m}_obs")
        obs = f(v) if v is not None else ""
        if r.get(f"{m}_obs_lo") is not None and m != "occupancy":
            obs += f" ({f(r[f'{m}_obs_lo'])}-{f(r[f'{m}_obs_hi'])})"
        sim = f(r[f"{m}_sim"]) if r[f"{m}_sim"] is not None else "n/a"
        if r[f"{m}_sim_lo"] is not None:
            sim += f" ({f(r[f'{m}_sim_lo'])}-{f(r[f'{m}_sim_hi'])})"
        out[f"{label} obs"], out[f"{label} sim"] = obs, sim
        if r[f"{m}_verdict"] == "differs":
            differs.append(label)
    out["differs"] = ", ".join(differs) or "-"
    return out


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the root app."""
    app.command()(calibrate)
