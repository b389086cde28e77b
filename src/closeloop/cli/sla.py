"""``closeloop sla``: judge vendor contracts (contracts.toml) per period; exit 1 on any failure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import (
    FormatOpt,
    OutOpt,
    OutputFormat,
    TerminalProgress,
    WorkspaceOpt,
    check_output,
    console,
    emit,
    workspace_for,
)

sla_app = typer.Typer(help="Service-level agreements: check each vendor's contract terms per period.",
                      no_args_is_help=True)

ContractsOpt = Annotated[
    Path | None, typer.Option("--contracts", help="Contract file (default: contracts.toml in the workspace).")
]
PeriodOpt = Annotated[
    str | None, typer.Option("--period", help="Only this period: 2024-03 (month), 2024-W10 (week) or a day.")
]


@sla_app.command("check")
def check_cmd(
    period: PeriodOpt = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD).")] = None,
    contracts: ContractsOpt = None,
    summary: Annotated[bool, typer.Option("--summary", help="One row per contract and period instead of per term.")]
    = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """Judge every contract term per period: value, CI, target, pass/fail/not-enough-data, margin.

    Each row carries the money its verdict moves under the contract: ``penalty`` (what the
    breach costs: penalty + penalty_per_point x points short) or ``bonus`` (earned by a met
    term). Exits 1 when any term fails (for cron and CI), 0 otherwise; not-enough-data is not
    a failure.
    """
    check_output(fmt, out)
    with TerminalProgress() as progress:
        result = workspace_for(workspace).sla_check(period, start, end, contracts, summary, progress=progress)
    if not len(result):
        console(stderr=True).print("no calls in any contract's scope for the selected period(s)")
    people = None if summary else [_pretty(r) for r in result.rows()]
    emit(result, fmt, out, people=people)
    if fmt is OutputFormat.table:
        console(stderr=True).print(f"{result.failed + result.passed + result.not_judged} term-periods: "
                                   f"{result.failed} failed, {result.passed} passed, {result.not_judged} not judged; "
                                   f"breaches cost {result.penalties:,.2f}, bonuses earned {result.bonuses:,.2f}")
    if result.failed:
        raise typer.Exit(1)


def _pretty(r: dict[str, Any]) -> dict[str, Any]:
    low, high = r.pop("low"), r.pop("high")
    r["ci"] = f"[{low:.3f}-{high:.3f}]" if low is not None and high is not None else ""
    r["target"] = f"{'≥' if r.pop('direction') == 'at_least' else '≤'} {r['target']:g}"
    return r


@sla_app.command("show")
def show_cmd(
    contracts: ContractsOpt = None,
    prices: Annotated[bool, typer.Option("--prices", help="List the contracts' prices instead of their terms.")]
    = False,
    workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table, out: OutOpt = None,
) -> None:
    """Validate the contract file and list its terms (the table also lists prices; --prices only them)."""
    ws = workspace_for(workspace)
    if prices:
        emit(ws.sla_prices(contracts), fmt, out)
        return
    emit(ws.sla_terms(contracts), fmt, out)
    if fmt is OutputFormat.table and len(priced := ws.sla_prices(contracts)):
        emit(priced, fmt)


def register(app: typer.Typer) -> None:
    """Add the ``sla`` command group."""
    app.add_typer(sla_app, name="sla")
