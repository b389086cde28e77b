"""Maintenance commands: vacuum."""

from __future__ import annotations

import typer

from closeloop.cli.common import WorkspaceOpt, console, settings_for
from closeloop.warehouse import compact


def vacuum(workspace: WorkspaceOpt = None) -> None:
    """Give the warehouse's free space back to the disk (after interrupted or replaced loads).

    DuckDB reuses the space a dropped table frees but never shrinks its file; this
    rewrites the file without it. Needs the warehouse to itself (no ingest running).
    """
    settings = settings_for(workspace)
    before, after = compact(settings.warehouse_path())
    console(stderr=True).print(f"warehouse {before / 2**20:,.1f} MiB -> {after / 2**20:,.1f} MiB")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(vacuum)
