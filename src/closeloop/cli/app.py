"""The ``closeloop`` command: the root Typer app and the registry of command modules.

Each area of the product keeps its commands in its own module here (``cli/ingest.py``,
``cli/sim.py``, ...), exposing ``register(app)``. Adding an area means adding its module
name to :data:`COMMAND_MODULES`, nothing else.

Exit codes scripts can rely on: 0 success, 1 a check failed / nothing selected,
2 bad input or configuration, 3 storage failure, 4 simulation failure.
"""

from __future__ import annotations

import importlib
import sys

import typer

from closeloop.errors import CloseloopError

COMMAND_MODULES: list[str] = [
    "closeloop.cli.workspace",
    "closeloop.cli.ingest",
    "closeloop.cli.scorecard",
    "closeloop.cli.sla",
    "closeloop.cli.report",
    "closeloop.cli.conversations",
    "closeloop.cli.sim",
]

app = typer.Typer(
    name="closeloop",
    help=(
        "closeloop: observe, explain, decide and simulate phone sales and care operations.\n\n"
        "Every command works on the workspace in the current folder (or --workspace)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_all()


def main() -> None:
    """Console-script entry point: run the app, mapping our errors to exit codes."""
    try:
        app()
    except CloseloopError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
