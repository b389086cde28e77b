"""``closeloop demo``: build a workspace from a simulated quarter and report on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from closeloop.cli.common import console
from closeloop.demo.build import STEPS, build_demo, prepare_folder
from closeloop.demo.params import SCALES, DemoParams


def demo_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo workspace.")] = Path("demo-workspace"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 7,
    scale: Annotated[
        str, typer.Option("--scale", help="small (2 weeks, ~30 agents, seconds), medium (6 weeks) or full "
                                          "(13 weeks, ~150 agents, a few hundred thousand calls).")
    ] = "full",
    force: Annotated[bool, typer.Option("--force", help="Rebuild an existing demo workspace in --out.")] = False,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write report.html at the end.")] = True,
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the web app on it, with demo accounts printed.")]
    = False,
    port: Annotated[int, typer.Option("--port", help="Port for --serve (on 127.0.0.1).")] = 8000,
) -> None:
    """Build a demo workspace: a simulated quarter of a company selling by phone.

    Pinebrook Office Systems sells small-office hardware from its own center in Chicago,
    an offshore vendor in Manila and a nearshore vendor in Medellin: inbound pre-sales,
    inbound care and outbound campaigns on marketing leads, with transcripts and SLA
    contracts. The canonical files are written to OUT/data and ingested like real
    exports (a few planted bad rows land in rejects), the conversations are scanned,
    and the diagnostic report is written to OUT/report.html. Six effects are planted
    for closeloop to find; docs/demo.md lists them with the SQL that measures each.

    Examples: closeloop demo; closeloop demo --scale small --out /tmp/demo --force
    """
    if scale not in SCALES:
        raise typer.BadParameter(f"use one of {', '.join(SCALES)}", param_hint="--scale")
    params = DemoParams.for_scale(scale, seed=seed)
    prepare_folder(out, force)  # refuse (or clear) before any work starts
    err = console(stderr=True)
    with Progress(TextColumn("{task.description:<26}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, transient=False) as bar:
        task = bar.add_task("building the demo", total=len(STEPS))
        done: list[str] = []

        def step(name: str) -> None:
            if done:
                bar.advance(task)
            done.append(name)
            bar.update(task, description=name)

        result = build_demo(out, params, force=force, step=step, report=report)
        bar.update(task, completed=len(STEPS), description="done")
    term = console()
    term.print(f"[bold]demo workspace[/] {result.root}  (seed {seed}, scale {scale})")
    for r in result.ingested:
        extra = f", [yellow]{r['rejected']} rejected[/]" if r["rejected"] else ""
        term.print(f"  {r['record']:<12} {r['loaded']:>9,} loaded{extra}")
    for line in result.summary:
        term.print(f"• {line}", markup=False)
    if report:
        term.print(f"report: [bold]{result.report}[/]")
    term.print(f"try:    closeloop scorecard -w {result.root} --by vendor")
    term.print(f"        closeloop sla check -w {result.root}")
    if serve:
        _serve(result.root, port)


def _serve(root: Path, port: int) -> None:
    """Create the demo accounts, print them, and serve the web app on loopback."""
    from closeloop.cli.web import serve
    from closeloop.web.demo import demo_accounts
    from closeloop.workspace import open as open_workspace

    term = console()
    term.print("[bold]demo accounts[/] (passwords are new each run):")
    for a in demo_accounts(open_workspace(root)):
        term.print(f"  {a.name:<24} {a.password:<18} {a.role} ({a.scope})", markup=False)
    serve(root, "127.0.0.1", port)


def register(app: typer.Typer) -> None:
    """Add ``demo``."""
    app.command("demo")(demo_cmd)
