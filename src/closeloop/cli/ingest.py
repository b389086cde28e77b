"""Ingestion commands: ingest, rejects."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import (
    FormatOpt,
    OutOpt,
    OutputFormat,
    TerminalProgress,
    WorkspaceOpt,
    console,
    emit,
    workspace_for,
)
from closeloop.ingest import FilesIngestError
from closeloop.outputs import owned_paths, write_csv
from closeloop.results import Result
from closeloop.workspace.core import ingest_result


class Record(StrEnum):
    """Record kinds that can be ingested."""

    centers = "centers"
    agents = "agents"
    leads = "leads"
    calls = "calls"
    transcripts = "transcripts"
    lead_events = "lead_events"


def _format_help() -> str:
    from closeloop.ingest import FORMATS

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
    delimiter: Annotated[str | None, typer.Option(
        help="Field separator of canonical CSV files (default: the one their header line uses most). "
        "The dialect is RFC 4180: fields may be enclosed in double quotes, a quote inside one doubled.")] = None,
    workspace: WorkspaceOpt = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="Summary as table, json, csv or parquet (with --out).")
    ] = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """Validate files and load them into the warehouse; every row is loaded or kept in rejects.

    Re-ingesting a file (or an overlapping one) replaces rows by key, never duplicates.
    Each file is one transaction. A file that cannot be read at all exits with status 2;
    the files before it stay loaded, and their outcome is printed before the error.
    Timestamps outside [ingest] earliest .. latest_years_ahead (closeloop.toml) are rejected.
    """
    ws = workspace_for(workspace)
    with TerminalProgress() as progress:
        try:
            result = ws.ingest(record.value, paths, format=input_format, center=center, timezone=timezone,
                               delimiter=delimiter, progress=progress)
        except FilesIngestError as exc:  # say what the earlier files committed, then the error
            progress.bar.stop()
            _report(ingest_result(exc.done, [r.source for r in exc.done]), output, None)
            raise
    _report(result, output, out)
    if strict and any(r["rejected"] for r in result.rows()):
        raise typer.Exit(1)


def _report(result: Result, fmt: OutputFormat, out: Path | None) -> None:
    rows = result.rows()
    people = [{"file": Path(r["file"]).name, "record": r["record"], "read": r["read"], "loaded": r["loaded"],
               "rejected": r["rejected"], "replaced": r["replaced"],
               "orphans": ", ".join(f"{k} {v}" for k, v in _json(r["orphans"]).items())} for r in rows]
    emit(result, fmt, out, people=people)
    if fmt is not OutputFormat.table:
        return
    c = console()
    for r in rows:
        name = Path(r["file"]).name
        for reason, n in _json(r["top_reasons"]):
            c.print(f"  [yellow]{n:>8,}[/] {reason}  [dim]({name})[/]", markup=True)
        if _json(r["orphans"]):
            c.print(f"  [dim]orphans are loaded but name unknown records: {_json(r['orphans'])} in {name}[/]")
    if any(r["rejected"] for r in rows):
        c.print("[dim]see them with: closeloop rejects   (export: closeloop rejects --export rejects.csv)[/]")


def _json(text: str | None) -> Any:
    """A stored JSON column: ``orphans`` is an object, ``top_reasons`` a list of pairs."""
    import json

    return json.loads(text) if text else {}


def rejects(
    record: Annotated[Record | None, typer.Option(help="Only rejects of this record kind.")] = None,
    source: Annotated[str | None, typer.Option(help="Only rejects from files whose path contains this.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (0 = all).")] = 50,
    export: Annotated[Path | None, typer.Option(help="Write all matching rejects to this CSV file.")] = None,
    escape_formulas: Annotated[bool, typer.Option(
        help="In --export, prefix cells starting with = + - @ with ' so spreadsheets show them as text "
        "instead of running them as formulas.")] = True,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """List rows that could not be loaded, with file, line, field, reason and raw text."""
    ws = workspace_for(workspace)
    result = ws.rejects(record.value if record else None, source)
    if export is not None:
        write_csv(export, result.rows(), result.columns, owned_paths(ws.settings), escape_formulas)
        console(stderr=True).print(f"wrote {len(result):,} rejects to {export}")
        return
    if not len(result) and fmt is OutputFormat.table:
        console(stderr=True).print("no rejects")
        return
    rows = result.rows()
    shown = rows if limit == 0 else rows[:limit]
    emit(result, fmt, out, people=shown, title=f"rejects ({len(shown):,} of {len(rows):,})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(ingest)
    app.command()(rejects)
