"""The ``closeloop`` command: the root Typer app and the registry of commands.

Each area of the product keeps its commands in its own module here (``cli/ingest.py``,
``cli/sim.py``, ...), exposing ``register(app)``. :data:`COMMANDS` maps each top-level
command to its module, which is imported only when that command runs (or for ``--help``),
so ``closeloop ingest`` does not pay for the statistics or simulation imports.
Adding a command means one line in :data:`COMMANDS`; a test checks the map against what
the modules register.

Exit codes scripts can rely on: 0 success, 1 a check failed / nothing selected,
2 bad input or configuration, 3 storage failure, 4 simulation failure.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

from closeloop.errors import CloseloopError
from closeloop.urls import install_log_masking, mask_urls

COMMANDS: dict[str, str] = {
    "init": "closeloop.cli.workspace",
    "status": "closeloop.cli.workspace",
    "sql": "closeloop.cli.workspace",
    "schema": "closeloop.cli.workspace",
    "vacuum": "closeloop.cli.maintenance",
    "ingest": "closeloop.cli.ingest",
    "rejects": "closeloop.cli.ingest",
    "scorecard": "closeloop.cli.scorecard",
    "explain": "closeloop.cli.scorecard",
    "sla": "closeloop.cli.sla",
    "report": "closeloop.cli.report",
    "patterns": "closeloop.cli.conversations",
    "phrases": "closeloop.cli.conversations",
    "qa": "closeloop.cli.conversations",
    "simulate": "closeloop.cli.sim",
    "staff": "closeloop.cli.sim",
    "calibrate": "closeloop.cli.calibrate",
    "leads": "closeloop.cli.leads",
    "demo": "closeloop.cli.demo",
    "serve": "closeloop.cli.web",
    "users": "closeloop.cli.web",
    "tokens": "closeloop.cli.web",
    "audit": "closeloop.cli.web",
}


def module_commands(module: str) -> dict[str, Any]:
    """The click commands a command module registers, by name."""
    sub = typer.Typer()
    importlib.import_module(module).register(sub)
    return dict(typer.main.get_group(sub).commands)


class LazyGroup(TyperGroup):
    """A root group that imports a command's module only when the command is used."""

    # typer declares ctx as its private vendored click Context; typer.Context is the public name of it
    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any | None:  # type: ignore[override]
        module = COMMANDS.get(cmd_name)
        return None if module is None else module_commands(module).get(cmd_name)


app = typer.Typer(
    name="closeloop",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """closeloop: observe, explain, decide and simulate phone sales and care operations.

    Every command works on the workspace in the current folder (or --workspace).
    """


def main() -> None:
    """Console-script entry point: run the app, mapping our errors to exit codes."""
    install_log_masking()
    try:
        app()
    except CloseloopError as exc:
        typer.echo(f"error: {mask_urls(str(exc))}", err=True)
        sys.exit(exc.exit_code)
