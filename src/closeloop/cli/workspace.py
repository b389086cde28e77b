"""Workspace commands: init, status, sql."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from closeloop.cli.common import FormatOpt, OutOpt, OutputFormat, WorkspaceOpt, console, emit, print_rows, workspace_for


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to make the workspace in.")] = Path("."),
    timezone: Annotated[str, typer.Option(help="Default IANA time zone for offset-less timestamps.")] = "UTC",
    force: Annotated[bool, typer.Option(help="Overwrite an existing closeloop.toml.")] = False,
) -> None:
    """Make DIRECTORY a workspace: a closeloop.toml and an empty embedded warehouse."""
    import closeloop.workspace as app

    ws = app.init(directory, timezone=timezone, force=force)
    console().print(f"workspace ready in [bold]{ws.root}[/] (warehouse {ws.settings.warehouse_path().name})")


def status(workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table, out: OutOpt = None) -> None:
    """What is loaded: tables, row counts, date ranges (in the workspace's time zone), reject counts."""
    ws = workspace_for(workspace)
    result = ws.status()
    if fmt is OutputFormat.table:
        zone = ws.display_zone()
        print_rows(result.rows(), f"workspace {ws.root} (times in {zone.key})", zone=zone)
    else:
        emit(result, fmt, out)
    size = result.size
    hint = "  (reclaim with: closeloop vacuum)" if size["free"] > size["used"] else ""
    console(stderr=True).print(f"warehouse {ws.settings.warehouse_path().name}: {size['file'] / 2**20:,.1f} MiB on "
                               f"disk, {size['free'] / 2**20:,.1f} MiB free inside{hint}")


def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the warehouse (DuckDB dialect).")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many rows in table format.")] = 200,
) -> None:
    """Run an ad-hoc SQL query on the warehouse: read-only, and nothing outside it.

    The query runs on a secured connection: it reads the warehouse's tables and cannot
    write them, read or write any other file (COPY ... TO, read_csv, ATTACH), reach the
    network, install or load extensions, or change settings.
    """
    result = workspace_for(workspace).sql(query)
    if fmt is OutputFormat.table and len(result) > limit:
        console(stderr=True).print(f"showing {limit} of {len(result)} rows (use --format csv for all)")
        print_rows(result.rows()[:limit])
        return
    emit(result, fmt, out)


def schema(
    name: Annotated[str | None, typer.Argument(help="Which file: settings, scenario, contracts, playbook.")] = None,
) -> None:
    """Print the JSON Schema of a configuration file (editors complete and check against it).

    Without NAME, list the files that have one. Example: closeloop schema settings > closeloop.schema.json
    """
    from closeloop.config import SCHEMAS, json_schema

    if name is None:
        for known in sorted(SCHEMAS):
            typer.echo(known)
        return
    typer.echo(json.dumps(json_schema(name), indent=2))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(schema)
    app.command()(init)
    app.command()(status)
    app.command()(sql)
