"""Build the demo workspace: write the canonical files, ingest them, write the report.

The edge of the demo package: it writes files and opens the warehouse. The records come
from :func:`closeloop.demo.generate.generate`; they reach the warehouse through the same
``Workspace.ingest`` path as a user's exports, so the planted bad rows land in ``rejects``.

Layout of the workspace::

    DIR/closeloop.toml      workspace settings (default time zone America/Chicago)
    DIR/demo.json           marks a demo workspace: seed, scale, planted effects and rejects
    DIR/contracts.toml      the vendors' SLA contracts
    DIR/data/*.csv, *.jsonl the canonical files, as written (with the planted defects)
    DIR/warehouse.duckdb    the warehouse
    DIR/report.html         the diagnostic report
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

import closeloop.workspace
from closeloop.demo.defects import Planted, as_text, plant
from closeloop.demo.generate import DemoData, generate
from closeloop.demo.params import DemoParams
from closeloop.errors import ConfigError, StorageError
from closeloop.settings import CONFIG_NAME
from closeloop.workspace import Workspace

MANIFEST = "demo.json"
TIMEZONE = "America/Chicago"
FILES = {"centers": "centers.csv", "agents": "agents.csv", "leads": "leads.csv", "calls": "calls.csv",
         "transcripts": "transcripts.jsonl"}
STEPS = ("simulating the quarter", "simulating follow-ups", "writing transcripts", "writing files", "ingesting",
         "scanning conversations", "writing the report")

Step = Callable[[str], None]


@dataclass
class DemoBuild:
    """What a build made: where, what was loaded and rejected, and the report's summary."""

    root: Path
    report: Path
    #: One ingest summary row per file (``Workspace.ingest``'s columns: record, read, loaded, rejected...).
    ingested: list[dict[str, Any]]
    planted: Planted
    facts: dict[str, object]
    summary: list[str] = field(default_factory=list)


def _noop(_: str) -> None:
    return None


def prepare_folder(root: Path, force: bool) -> None:
    """Make ``root`` ready for a fresh demo; refuse a folder that is not an earlier demo."""
    if not root.exists():
        return
    if not root.is_dir():
        raise ConfigError(f"{root} exists and is not a folder")
    entries = list(root.iterdir())
    if not entries:
        return
    if not (root / MANIFEST).is_file():
        raise ConfigError(f"{root} is not empty and is not a demo workspace (no {MANIFEST}): choose another --out")
    if not force:
        raise ConfigError(f"{root} already holds a demo workspace: pass --force to rebuild it")
    for e in entries:
        try:
            shutil.rmtree(e) if e.is_dir() and not e.is_symlink() else e.unlink()
        except OSError as exc:
            raise StorageError(f"cannot clear {e}: {exc}") from exc


def write_files(root: Path, data: DemoData, seed: int) -> tuple[dict[str, Path], Planted]:
    """The canonical files (calls and transcripts with the planted defects) under ``root/data``."""
    folder = root / "data"
    folder.mkdir(parents=True, exist_ok=True)
    calls, lines, planted = plant(data.calls, data.transcripts, seed)
    tables = {"centers": as_text(data.centers), "agents": as_text(data.agents), "leads": as_text(data.leads),
              "calls": calls}
    paths = {k: folder / v for k, v in FILES.items()}
    try:
        for name, table in tables.items():
            _write_csv(table, paths[name])
        paths["transcripts"].write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot write the demo files in {folder}: {exc}") from exc
    return paths, planted


def _write_csv(table: pa.Table, path: Path) -> None:
    pcsv.write_csv(table, path, pcsv.WriteOptions(include_header=True, quoting_style="needed"))


def ingest_all(ws: Workspace, paths: dict[str, Path]) -> list[dict[str, Any]]:
    """Ingest the files parents first, through the one validated path (one summary row per file)."""
    return [ws.ingest(record, paths[record]).rows()[0] for record in FILES]


def build_demo(root: Path, params: DemoParams, force: bool = False, step: Step = _noop,
               report: bool = True, parallel: bool = True) -> DemoBuild:
    """Simulate, write, ingest, scan the conversations and report: the whole demo in ``root``.

    ``report=False`` stops after ingestion (no conversation scan, no report).
    """
    root = Path(root)
    prepare_folder(root, force)
    data = generate(params, step, parallel=parallel)
    step("writing files")
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).write_text("{}", encoding="utf-8")  # claim the folder first: a failed build can be --forced
    if (root / CONFIG_NAME).exists():
        (root / CONFIG_NAME).unlink()
    ws = closeloop.workspace.init(root, timezone=TIMEZONE)
    (root / "contracts.toml").write_text(data.contracts, encoding="utf-8")
    paths, planted = write_files(root, data, params.seed)
    step("ingesting")
    results = ingest_all(ws, paths)
    manifest = {
        "demo": "Pinebrook Office Systems", "seed": params.seed, "scale": asdict(params.scale),
        "start": params.start.isoformat(), "effects": asdict(params.effects), "facts": data.facts,
        "planted_rejects": planted.counts(), "planted_reject_rows": planted.calls,
        "cut_transcripts": planted.transcripts, "files": {k: str(p.relative_to(root)) for k, p in paths.items()},
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    out = root / "report.html"
    summary: list[str] = []
    if report:
        step("scanning conversations")
        ws.scan()
        step("writing the report")
        summary = ws.report(out, title="Pinebrook Office Systems — demo quarter").summary
    return DemoBuild(ws.root, out, results, planted, data.facts, summary)


__all__ = ["FILES", "MANIFEST", "STEPS", "DemoBuild", "build_demo", "ingest_all", "prepare_folder",
           "write_files"]
