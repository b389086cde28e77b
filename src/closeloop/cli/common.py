"""What every command module shares: the workspace option, output formats, progress on a terminal.

A command parses its options, calls one method of the application layer
(:mod:`closeloop.workspace`) and renders the :class:`~closeloop.results.Result` it gets with
:func:`emit` — the same table as JSON, CSV or Parquet for scripts, or a Rich table for people.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from closeloop.errors import InputError
from closeloop.outputs import write_text
from closeloop.results import Result, csv_text
from closeloop.settings import Settings, find_workspace, load_settings
from closeloop.workspace import Workspace, from_settings
from closeloop.workspace.base import Progress as WorkProgress

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: nearest one at or above the cwd)."),
]


class OutputFormat(StrEnum):
    """How a command prints its result."""

    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


FormatOpt = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table (for people), json, csv or parquet (for scripts; parquet needs --out)."),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Write the json/csv/parquet result to this file instead of stdout."),
]


def console(stderr: bool = False) -> Console:
    """A Rich console; plain when not a terminal."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def settings_for(workspace: Path | None) -> Settings:
    """Load the settings of the given workspace, or of the one found from the cwd."""
    root = workspace if workspace is not None else find_workspace(Path.cwd())
    return load_settings(root)


def workspace_for(workspace: Path | None) -> Workspace:
    """The application layer for the given (or nearest) workspace."""
    return from_settings(settings_for(workspace))


class TerminalProgress(WorkProgress):
    """A Rich progress bar on stderr when it is a terminal; silent in pipes and files."""

    def __init__(self) -> None:
        out = console(stderr=True)
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                            TimeElapsedColumn(), console=out, transient=True, disable=not out.is_terminal)
        self.task: Any = None

    def __enter__(self) -> TerminalProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def step(self, name: str, total: float | None = None) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(name, total=total)

    def update(self, done: float, total: float | None = None) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=done, total=total or None)  # None keeps the current total


def _jsonable(value: Any) -> Any:
    """A value as strict JSON allows: dates as ISO text, NaN and ±infinity as null, recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def json_text(rows: Any) -> str:
    """Strict JSON (no NaN): what ``--format json`` prints."""
    return json.dumps(_jsonable(rows), indent=2, default=str, allow_nan=False) + "\n"


def check_output(fmt: OutputFormat, out: Path | None) -> None:
    """Refuse a format and --out that do not go together, before any long work starts."""
    if fmt is OutputFormat.table and out is not None:
        raise InputError("--out writes json, csv or parquet: add --format json|csv|parquet")
    if fmt is OutputFormat.parquet and out is None:
        raise InputError("--format parquet writes a file: add --out FILE.parquet")


def emit(result: Result, fmt: OutputFormat, out: Path | None = None, people: list[dict[str, Any]] | None = None,
         title: str | None = None) -> None:
    """Print ``result`` as ``fmt`` (to ``out`` when given): the declared table, always the same columns.

    ``people`` replaces the rows in the table format only (cells formatted for reading).
    """
    check_output(fmt, out)
    if fmt is OutputFormat.table:
        print_rows(people if people is not None else result.rows(), title or result.title)
        return
    if fmt is OutputFormat.parquet:
        assert out is not None  # check_output refused parquet without --out
        result.to_parquet(out)
        console(stderr=True).print(f"wrote {len(result):,} rows to {out}")
        return
    text = json_text(result.rows()) if fmt is OutputFormat.json else csv_text(result.to_arrow())
    if out is None:
        sys.stdout.write(text)
        return
    write_text(out, text)
    console(stderr=True).print(f"wrote {len(result):,} rows to {out}")


def emit_rows(rows: list[dict[str, Any]], fmt: OutputFormat, title: str | None = None) -> None:
    """Print ad-hoc rows (side tables that are not a use-case's result)."""
    if fmt is OutputFormat.json:
        typer.echo(json_text(rows), nl=False)
    elif fmt is OutputFormat.table:
        print_rows(rows, title)
    else:
        import pyarrow as pa

        sys.stdout.write(csv_text(pa.Table.from_pylist([{k: _jsonable(v) for k, v in r.items()} for r in rows])))


def print_rows(rows: list[dict[str, Any]], title: str | None = None, zone: ZoneInfo | None = None) -> None:
    """A Rich table for people: numbers with separators, times in ``zone`` to the minute."""
    table = Table(title=title, show_lines=False)
    columns = list(rows[0]) if rows else []
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(_cell(r[c], zone) for c in columns))
    console().print(table)


def _cell(value: Any, zone: ZoneInfo | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return "∞" if value > 0 else ("-∞" if value < 0 else "")
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        when = value.astimezone(zone) if zone is not None and value.tzinfo is not None else value
        return when.strftime("%Y-%m-%d %H:%M")
    return str(_jsonable(value))
