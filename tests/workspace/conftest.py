"""A private copy of the session's small demo workspace (``demo_root``, tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace a test may change."""
    dst = tmp_path / "ws"
    shutil.copytree(demo_root, dst)
    return dst
