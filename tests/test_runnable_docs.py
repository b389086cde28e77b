"""The README's and docs' blocks marked runnable run as written against a (small) demo workspace.

A block is marked by the comment line ``<!-- runnable: sh in demo-workspace -->`` (each line
run by the shell inside the workspace) or ``<!-- runnable: python beside demo-workspace -->``
(run by Python in the folder holding it) right before its fence. Exit 0, or 1 where the
command's own contract says a check failed (``sla check`` on a breach), and never a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"<!-- runnable: (sh in|python beside) demo-workspace -->\n```(sh|python)\n(.*?)```", re.S)
#: Commands whose documented exit 1 means "a check failed", not an error.
CHECKS = ("closeloop sla check",)


def _blocks() -> list[tuple[str, str, str]]:
    out = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, m in enumerate(MARK.finditer(doc.read_text(encoding="utf-8"))):
            out.append((f"{doc.name}#{i}", m.group(2), m.group(3)))
    return out


BLOCKS = _blocks()


def test_the_readme_tour_is_marked_runnable() -> None:
    names = [b[0] for b in BLOCKS]
    assert sum(n.startswith("README.md") for n in names) >= 4 and any(n.startswith("python.md") for n in names)


@pytest.fixture
def beside(tmp_path: Path, demo_root: Path) -> Path:
    """A fresh copy of the demo per block (a block may write to it), with examples/ beside it."""
    import shutil

    top = tmp_path
    shutil.copytree(demo_root, top / "demo-workspace")
    (top / "examples").symlink_to(ROOT / "examples")
    return top


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "120"
    return env


@pytest.mark.parametrize(("name", "kind", "body"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_runnable_block(beside: Path, name: str, kind: str, body: str) -> None:
    if kind == "python":
        r = subprocess.run([sys.executable, "-c", body], cwd=beside, capture_output=True, text=True, timeout=600,
                           env=_env())
        assert r.returncode == 0, f"{name}:\n{r.stderr[-3000:]}"
        return
    for line in body.splitlines():
        command = line.split("  #")[0].strip()
        if not command:
            continue
        assert not command.startswith(("closeloop serve", "closeloop demo --serve")), \
            f"{name}: a server never exits; keep {command!r} out of runnable blocks"
        r = subprocess.run(["bash", "-c", command], cwd=beside / "demo-workspace", capture_output=True, text=True,
                           timeout=600, env=_env())
        allowed = {0, 1} if command.startswith(CHECKS) else {0}
        assert r.returncode in allowed, f"{name}: {command!r} exited {r.returncode}:\n{r.stderr[-3000:]}"
        assert "Traceback" not in r.stderr, f"{name}: {command!r}:\n{r.stderr[-3000:]}"
