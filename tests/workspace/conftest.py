"""One small demo workspace for the application-layer tests (built once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from closeloop.demo.build import build_demo
from closeloop.demo.params import DemoParams


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo workspace (two weeks), no report; tests that write copy it first."""
    root = tmp_path_factory.mktemp("ws-demo") / "ws"
    build_demo(root, DemoParams.for_scale("small", seed=5), report=False)
    return root


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace a test may change."""
    dst = tmp_path / "ws"
    shutil.copytree(demo_root, dst)
    return dst
