"""Ingestion commands: ingest, rejects."""

from __future__ import annotations

import csv
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

from closeloop.cli.common import (
    FormatOpt,
    OutputFormat,
    WorkspaceOpt,
    console,
    emit_rows,
    query_progress,
    settings_for,
)
from closeloop.errors import InputError
from closeloop.ingest import FORMATS, IngestResult, ingest_file
from closeloop.warehouse import open_warehouse


class Record(StrEnum):
    """Record kinds that can be ingested."""

    centers = "centers"
    agents = "agents"
    leads = "leads"
    calls = "calls"
    transcripts = "transcripts"
    lead_events = "lead_events"


def check_timezone(zone: str) -> None:
    """Refuse a zone name the time-zone database does not know, naming the option."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"--timezone: unknown IANA time zone {zone!r} (e.g. America/Chicago, Asia/Manila)") from None


def _format_help() -> str:
    return "Input format: auto (canonical CSV/Parquet/JSONL) or one of: " + ", ".join(sorted(FORMATS)) + "."


def ingest(
    record: Annotated[Record, typer.Argument(help="What the files hold.")],
    paths: Annotated[list[Path], typer.Argument(help="Files to load (CSV any delimiter, Parquet, JSONL; .gz ok).")],
    input_format: Annotated[str, typer.Option("--format", help=_format_help())] = "auto",
    center: Annotated[
        str | None, typer.Option(help="Center id for formats that carry none (asterisk-queue-log, anonymous-bank).")
    ] = None,
    timezone: Annotated[str | None, typer.Option(
        "--timezone", help="IANA zone of local times without an offset: for anonymous-bank its one site "
        "(default Asia/Jerusalem); for canonical files the rows whose center's zone is unknown "
        "(default: the workspace's).")] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any row was rejected (for pipelines).")] = False,
    workspace: WorkspaceOpt = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="Summary as table, json or csv.")
    ] = OutputFormat.table,
) -> None:
    """Validate files and load them into the warehouse; every row is loaded or kept in rejects.

    Re-ingesting a file (or an overlapping one) replaces rows by key, never duplicates.
    Each file is one transaction. A file that cannot be read at all exits with status 2.
    """
    settings = settings_for(workspace)
    options: dict[str, Any] = {"center_id": center} if center else {}
    default_tz = settings.default_timezone
    if timezone is not None:
        check_timezone(timezone)
        if input_format == "asterisk-queue-log":
            raise InputError("asterisk-queue-log times are epoch seconds (instants): --timezone does not apply")
        if input_format == "anonymous-bank":
            options["timezone"] = timezone
        else:
            default_tz = timezone
    results: list[IngestResult] = []
    out = console(stderr=True)
    with open_warehouse(settings) as wh, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=out, transient=True, disable=not out.is_terminal,
    ) as bar:
        files = bar.add_task(f"{len(paths)} file(s)", total=len(paths))
        step_task = bar.add_task("", total=100)
        for path in paths:
            def step(name: str, path: Path = path) -> None:
                bar.update(step_task, description=f"{name} {path.name}", completed=0)

            def percent(pct: float) -> None:
                bar.update(step_task, completed=pct)

            with query_progress(wh.con, percent):
                results.append(ingest_file(wh, record.value, path, input_format, default_tz, step, **options))
            bar.advance(files)
    _report(results, output)
    if strict and any(r.rejected for r in results):
        raise typer.Exit(1)


def _report(results: list[IngestResult], fmt: OutputFormat) -> None:
    rows = [
        {"file": Path(r.source).name, "record": r.record, "read": r.rows_read, "loaded": r.loaded,
         "rejected": r.rejected, "replaced": r.replaced,
         "orphans": ", ".join(f"{k} {v}" for k, v in r.orphans.items())}
        for r in results
    ]
    emit_rows(rows, fmt, title="ingest")
    if fmt is not OutputFormat.table:
        return
    c = console()
    for r in results:
        for reason, n in r.top_reasons:
            c.print(f"  [yellow]{n:>8,}[/] {reason}  [dim]({Path(r.source).name})[/]")
        if r.orphans:
            c.print(f"  [dim]orphans are loaded but name unknown records: {r.orphans} in {Path(r.source).name}[/]")
    if any(r.rejected for r in results):
        c.print("[dim]see them with: closeloop rejects   (export: closeloop rejects --export rejects.csv)[/]")


def rejects(
    record: Annotated[Record | None, typer.Option(help="Only rejects of this record kind.")] = None,
    source: Annotated[str | None, typer.Option(help="Only rejects from files whose path contains this.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (0 = all).")] = 50,
    export: Annotated[Path | None, typer.Option(help="Write all matching rejects to this CSV file.")] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """List rows that could not be loaded, with file, line, field, reason and raw text."""
    settings = settings_for(workspace)
    where, params = ["TRUE"], []
    if record:
        where.append("record = ?")
        params.append(record.value)
    if source:
        where.append("contains(source, ?)")
        params.append(source)
    sql = (
        "SELECT record, source, line, field, reason, raw FROM rejects "
        f"WHERE {' AND '.join(where)} ORDER BY source, line"
    )
    with open_warehouse(settings, read_only=True) as wh:
        rows = wh.query(sql, params).to_pylist()
    if export is not None:
        with export.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["record", "source", "line", "field", "reason", "raw"])
            writer.writeheader()
            writer.writerows(rows)
        console(stderr=True).print(f"wrote {len(rows):,} rejects to {export}")
        return
    if not rows:
        console(stderr=True).print("no rejects")
        return
    shown = rows if limit == 0 else rows[:limit]
    emit_rows(shown, fmt, title=f"rejects ({len(shown):,} of {len(rows):,})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(ingest)
    app.command()(rejects)
