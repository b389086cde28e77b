"""The application layer: one :class:`Workspace` per workspace folder, one method per use-case.

Every edge — the command line, the HTML report, ``closeloop demo``, the coming web app and
live services, an analyst's notebook — calls these methods, so a number is computed in one
place and looks the same everywhere::

    import closeloop
    ws = closeloop.open("demo-workspace")
    ws.scorecard(by=["vendor"], grain="week").to_pandas()

Each method returns a :class:`closeloop.results.Result` (a table with declared columns) or,
for work with no table to show, a small typed record. Options are Python values (lists,
dates), never command-line strings. See docs/python.md.
"""

from __future__ import annotations

from pathlib import Path

from closeloop.settings import Settings, find_workspace, init_workspace, load_settings
from closeloop.workspace.base import Progress
from closeloop.workspace.core import Workspace


def open(path: str | Path | None = None) -> Workspace:
    """Open the workspace at ``path`` (default: the nearest one at or above the current folder)."""
    root = Path(path) if path is not None else find_workspace(Path.cwd())
    return Workspace(load_settings(root))


def init(path: str | Path = ".", timezone: str = "UTC", force: bool = False) -> Workspace:
    """Make ``path`` a workspace (a closeloop.toml and an empty warehouse) and open it."""
    ws = Workspace(init_workspace(Path(path), timezone=timezone, force=force))
    with ws.warehouse(write=True):
        pass
    return ws


def from_settings(settings: Settings) -> Workspace:
    """A workspace for settings already loaded (the CLI loads them once at its entry)."""
    return Workspace(settings)


__all__ = ["Progress", "Workspace", "from_settings", "init", "open"]
