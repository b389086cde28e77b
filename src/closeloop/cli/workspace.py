"""Workspace commands: init, status, sql."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for
from closeloop.model import RECORDS
from closeloop.settings import init_workspace
from closeloop.warehouse import open_secured, open_warehouse

# Which timestamp gives each table its date range in `status`.
_DATE_COLUMN = {"calls": "offered_at", "leads": "created_at", "agents": "hired_at"}


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to make the workspace in.")] = Path("."),
    timezone: Annotated[str, typer.Option(help="Default IANA time zone for offset-less timestamps.")] = "UTC",
    force: Annotated[bool, typer.Option(help="Overwrite an existing closeloop.toml.")] = False,
) -> None:
    """Make DIRECTORY a workspace: a closeloop.toml and an empty embedded warehouse."""
    settings = init_workspace(directory, timezone=timezone, force=force)
    with open_warehouse(settings):
        pass
    console().print(f"workspace ready in [bold]{settings.root}[/] (warehouse {settings.warehouse_path().name})")


def status_rows(wh: Any) -> list[dict[str, Any]]:
    """One row per canonical table: rows, date range, rejects (pure read of the warehouse)."""
    rows = []
    for name in RECORDS:
        n = wh.count(name)
        col = _DATE_COLUMN.get(name)
        first = last = None
        if col and n:
            first, last = wh.con.execute(f'SELECT min("{col}"), max("{col}") FROM "{name}"').fetchone()
        rejected = wh.con.execute("SELECT count(*) FROM rejects WHERE record = ?", [name]).fetchone()[0]
        rows.append({"table": name, "rows": n, "from": first, "to": last, "rejected": rejected})
    return rows


def status(workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """What is loaded: tables, row counts, date ranges, reject counts."""
    settings = settings_for(workspace)
    with open_warehouse(settings, read_only=True) as wh:
        rows = status_rows(wh)
        size = wh.size()
    emit_rows(rows, fmt, title=f"workspace {settings.root}")
    hint = "  (reclaim with: closeloop vacuum)" if size["free"] > size["used"] else ""
    console(stderr=True).print(f"warehouse {settings.warehouse_path().name}: {size['file'] / 2**20:,.1f} MiB on disk, "
                               f"{size['free'] / 2**20:,.1f} MiB free inside{hint}")


def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the warehouse (DuckDB dialect).")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    limit: Annotated[int, typer.Option(help="Show at most this many rows in table format.")] = 200,
) -> None:
    """Run an ad-hoc SQL query on the warehouse: read-only, and nothing outside it.

    The query runs on a secured connection: it reads the warehouse's tables and cannot
    write them, read or write any other file (COPY ... TO, read_csv, ATTACH), reach the
    network, install or load extensions, or change settings.
    """
    settings = settings_for(workspace)
    with open_secured(settings) as wh:
        result = wh.query(query)
    rows = result.to_pylist()
    if fmt is OutputFormat.table and len(rows) > limit:
        console(stderr=True).print(f"showing {limit} of {len(rows)} rows (use --format csv for all)")
        rows = rows[:limit]
    emit_rows(rows, fmt)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(init)
    app.command()(status)
    app.command()(sql)
