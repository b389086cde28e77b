"""``closeloop report``: write the self-contained diagnostic HTML report and print its summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from closeloop.cli.common import WorkspaceOpt, console, settings_for
from closeloop.cli.scorecard import conventions, parse_day, refresh_facts, selection_from
from closeloop.cli.sla import ContractsOpt, load_contracts_file, period_range
from closeloop.metrics import Selection, Tables
from closeloop.outputs import check_target, owned_paths, write_text
from closeloop.report import ReportContext, render_report
from closeloop.warehouse import open_warehouse


def report_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    period: Annotated[
        str | None, typer.Option("--period", help="Only this period: 2024-03 (month), 2024-W10 (week) or a day.")
    ] = None,
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
    settings = settings_for(workspace)
    check_target(out, owned_paths(settings))  # refuse a bad --out before the work
    first, last = period_range(period)
    base = selection_from(None, where, None, None)
    selection = Selection(filters=base.filters, start=first or parse_day(start, "--from"),
                          end=last or parse_day(end, "--to"))
    terms = None
    if contracts is not None or (settings.root / "contracts.toml").is_file():
        terms = load_contracts_file(settings, contracts)
    refresh_facts(settings, conventions(settings))
    with open_warehouse(settings, read_only=True) as wh:
        ctx = ReportContext(Tables.from_backend(wh.ibis()), conventions(settings), selection, terms)
        with console(stderr=True).status("building report..."):
            rep = render_report(ctx)
    write_text(out, rep.html, owned_paths(settings))
    term = console()
    for line in rep.summary:
        term.print(f"• {line}", markup=False)
    term.print(f"report written to {out} ({len(rep.html) / 1024:.0f} KiB)")


def register(app: typer.Typer) -> None:
    """Add ``report``."""
    app.command("report")(report_cmd)
