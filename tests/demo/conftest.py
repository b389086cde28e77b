"""Demo fixtures: one small workspace built through the CLI, one medium warehouse for the effects.

Both are built once per test session (the medium one takes the longest), so the whole
``tests/demo`` run stays within its time budget.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from closeloop.cli.app import app
from closeloop.demo.build import build_demo
from closeloop.demo.params import DemoParams


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``closeloop demo --scale small`` into a fresh folder: (workspace, command output)."""
    root = tmp_path_factory.mktemp("demo") / "ws"
    result = CliRunner().invoke(app, ["demo", "--scale", "small", "--out", str(root), "--seed", "7"])
    assert result.exit_code == 0, result.output
    return root, result.output


@pytest.fixture(scope="session")
def medium_db(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """A medium demo's warehouse (6 weeks, half the agents), read-only, no report."""
    root = tmp_path_factory.mktemp("demo-medium") / "ws"
    build_demo(root, DemoParams.for_scale("medium", seed=11), report=False)
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()
