"""Helpers shared by every command module: workspace option, output formats."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from closeloop.settings import Settings, find_workspace, load_settings

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: nearest one at or above the cwd)."),
]


class OutputFormat(StrEnum):
    """How a command prints its result."""

    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table (for people), json or csv (for scripts).")
]


def console(stderr: bool = False) -> Console:
    """A Rich console; plain when not a terminal."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@contextmanager
def query_progress(con: Any, update: Callable[[float], None], every_s: float = 0.2) -> Iterator[None]:
    """While the block runs, report the running DuckDB query's percent done to ``update``.

    DuckDB answers ``query_progress()`` from another thread while a query executes, so a
    long single statement (a 10-million-row file) still moves a progress bar.
    """
    done = threading.Event()

    def poll() -> None:
        while not done.wait(every_s):
            pct = con.query_progress()
            if pct >= 0:
                update(pct)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def settings_for(workspace: Path | None) -> Settings:
    """Load the settings of the given workspace, or of the one found from the cwd."""
    root = workspace if workspace is not None else find_workspace(Path.cwd())
    return load_settings(root)


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


def emit_rows(rows: list[dict[str, Any]], fmt: OutputFormat, title: str | None = None) -> None:
    """Print rows as a Rich table, JSON (a list of objects) or CSV."""
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(_jsonable(rows), indent=2, default=str, allow_nan=False))
        return
    if fmt is OutputFormat.csv:
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
            writer.writeheader()
            for r in rows:
                writer.writerow({k: _jsonable(v) for k, v in r.items()})
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=title, show_lines=False)
    columns = list(rows[0]) if rows else []
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(_cell(r[c]) for c in columns))
    console().print(table)


def _cell(value: Any) -> str:
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
    return str(_jsonable(value))
