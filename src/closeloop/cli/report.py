"""``closeloop report``: write the self-contained diagnostic HTML report and print its summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from closeloop.cli.common import TerminalProgress, WorkspaceOpt, console, workspace_for
from closeloop.cli.sla import ContractsOpt, PeriodOpt


def report_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    period: PeriodOpt = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD).")] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", help="Filter COLUMN=VALUE (repeatable), e.g. call_type=sales.")
    ] = None,
    contracts: ContractsOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write one self-contained HTML report (inline SVG charts; opens offline).

    Sections: headline KPIs with trends and funnel; vendor/center scorecards with forest
    plots; what drives the close-rate gap (mix vs performance, lead sources, mode
    switching); agents with raw and shrunk close rates; SLA status (when contracts.toml
    exists or --contracts is given). A short summary is printed to the terminal.
    """
    with TerminalProgress() as progress:
        rep = workspace_for(workspace).report(out, period=period, start=start, end=end, where=where,
                                              contracts=contracts, progress=progress)
    term = console()
    for line in rep.summary:
        term.print(f"• {line}", markup=False)
    term.print(f"report written to {rep.path} ({rep.size_bytes / 1024:.0f} KiB)")


def register(app: typer.Typer) -> None:
    """Add ``report``."""
    app.command("report")(report_cmd)
