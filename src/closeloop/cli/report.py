"""``closeloop report``: write the self-contained diagnostic HTML report and print its summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from closeloop.cli.common import TerminalProgress, WorkspaceOpt, console, workspace_for
from closeloop.cli.sla import ContractsOpt


def report_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    period: Annotated[
        str | None, typer.Option("--period", help="Only this period: 2024-03 (month), 2024-W10 (week), a day, "
                                 "or week / month for the latest one.")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD).")] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", help="Filter COLUMN=VALUE (repeatable), e.g. call_type=sales.")
    ] = None,
    contracts: ContractsOpt = None,
    vendor: Annotated[
        str | None, typer.Option("--vendor", help="A vendor review pack: only this vendor's calls and contracts, "
                                 "with its trend since the contract start (first 90 days marked ramp-up).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write one self-contained HTML report (inline SVG charts; opens offline).

    Sections: headline KPIs with trends and funnel; vendor/center scorecards with forest
    plots; what drives the close-rate gap (mix vs performance, lead sources, mode
    switching); agents with raw and shrunk close rates; SLA status (when contracts.toml
    exists or --contracts is given); money (cost per hour and per sale) when contracts have
    prices. With --vendor V the report is V's review pack, and --period week (or month) means
    the latest one in the data. A short summary is printed to the terminal.
    """
    with TerminalProgress() as progress:
        rep = workspace_for(workspace).report(out, period=period, start=start, end=end, where=where,
                                              contracts=contracts, progress=progress, vendor=vendor)
    term = console()
    for line in rep.summary:
        term.print(f"• {line}", markup=False)
    term.print(f"report written to {rep.path} ({rep.size_bytes / 1024:.0f} KiB)")


def register(app: typer.Typer) -> None:
    """Add ``report``."""
    app.command("report")(report_cmd)
