"""Maintenance commands: vacuum."""

from __future__ import annotations

import typer

from closeloop.cli.common import WorkspaceOpt, console, workspace_for


def vacuum(workspace: WorkspaceOpt = None) -> None:
    """Give the warehouse's free space back to the disk (after interrupted or replaced loads).

    DuckDB reuses the space a dropped table frees but never shrinks its file; this
    rewrites the file without it. Needs the warehouse to itself (no ingest running).
    """
    before, after = workspace_for(workspace).vacuum()
    console(stderr=True).print(f"warehouse {before / 2**20:,.1f} MiB -> {after / 2**20:,.1f} MiB")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(vacuum)
