"""Build the demo workspace: write the canonical files, ingest them, write the report.

The edge of the demo package: it writes files and opens the warehouse. The records come
from :func:`closeloop.demo.generate.generate`; they reach the warehouse through the same
``ingest_file`` path as a user's exports, so the planted bad rows land in ``rejects``.

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

import pyarrow as pa
import pyarrow.csv as pcsv

from closeloop.demo.defects import Planted, as_text, plant
from closeloop.demo.generate import DemoData, generate
from closeloop.demo.params import DemoParams
from closeloop.errors import ConfigError, StorageError
from closeloop.ingest import IngestResult, ingest_file
from closeloop.settings import CONFIG_NAME, Settings, init_workspace
from closeloop.warehouse import open_warehouse

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
    ingested: list[IngestResult]
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


def ingest_all(settings: Settings, paths: dict[str, Path]) -> list[IngestResult]:
    """Ingest the files parents first, through the one validated path."""
    with open_warehouse(settings) as wh:
        return [ingest_file(wh, record, paths[record], default_timezone=settings.default_timezone)
                for record in FILES]


def scan_conversations(settings: Settings) -> None:
    """Run the default playbook's detectors over the transcripts (as ``closeloop patterns`` does)."""
    from closeloop.conversations.playbook import default_playbook
    from closeloop.warehouse.conversations import scan

    with open_warehouse(settings) as wh:
        scan(wh, default_playbook())


def write_report(settings: Settings, out: Path) -> list[str]:
    """The diagnostic report of the whole quarter, with the contracts; returns its terminal summary."""
    from closeloop.contracts.terms import parse_contracts
    from closeloop.metrics import Tables
    from closeloop.metrics.frame import Conventions
    from closeloop.report import ReportContext, render_report

    terms = parse_contracts((settings.root / "contracts.toml").read_text(encoding="utf-8"),
                            str(settings.root / "contracts.toml"))
    conv = Conventions.from_settings(settings.metrics, default_timezone=settings.default_timezone)
    with open_warehouse(settings, read_only=True) as wh:
        ctx = ReportContext(Tables.from_backend(wh.ibis()), conv, contracts=terms,
                            title="Pinebrook Office Systems — demo quarter")
        rep = render_report(ctx)
    try:
        out.write_text(rep.html, encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc}") from exc
    return rep.summary


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
    settings = init_workspace(root, timezone=TIMEZONE)
    (root / "contracts.toml").write_text(data.contracts, encoding="utf-8")
    paths, planted = write_files(root, data, params.seed)
    step("ingesting")
    results = ingest_all(settings, paths)
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
        scan_conversations(settings)
        step("writing the report")
        summary = write_report(settings, out)
    return DemoBuild(settings.root, out, results, planted, data.facts, summary)


__all__ = ["FILES", "MANIFEST", "STEPS", "DemoBuild", "build_demo", "ingest_all", "prepare_folder",
           "scan_conversations", "write_files"]
