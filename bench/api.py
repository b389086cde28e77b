"""Benchmark: what the application layer (Workspace) adds over the lowest layer it calls.

Target (issue 12): the Workspace path adds at most 5% to the 10M-call scorecard and to ingest.

Two pairs, run in the same process and interleaved (A, B, B, A, A, B, ...) so that the shared
machine's load and the order's effects (the first run's pages being flushed) fall on both alike:

  scorecard   core:      metrics.scorecard(Tables.from_backend(wh.ibis()), conv, request) on an
                         open warehouse with stored facts (everything a scorecard computes)
              workspace: closeloop.open(ws).scorecard(by="center_id", grain="week") — opens the
                         warehouse, checks the facts are current, computes, and builds the Result
                         (declared columns, Arrow table)
  ingest      core:      ingest_file(warehouse, "calls", csv) into a fresh warehouse
              workspace: closeloop.init(folder).ingest("calls", csv) into a fresh workspace

    .venv/bin/python bench/api.py [--rows 1000000] [--rounds 3]

Prints each round's seconds and the median ratio workspace / core (1.05 = 5% added).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))


def _time(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _pair(core: Callable[[], object], app: Callable[[], object], i: int) -> tuple[float, float]:
    """(core, workspace) seconds; the order alternates by round, so the second run's cost of the
    first's left-overs (dirty pages being flushed, a warm cache) falls on each side alike."""
    if i % 2:
        app_s = _time(app)
        return _time(core), app_s
    core_s = _time(core)
    return core_s, _time(app)


def bench_scorecard(folder: Path, rows: int, rounds: int) -> list[tuple[float, float]]:
    """Paired (core, workspace) seconds of the center x week scorecard with every metric."""
    import closeloop
    from closeloop.metrics import DEFAULT_METRICS, ScorecardRequest, Selection, Tables, scorecard
    from closeloop.warehouse import Warehouse
    from scorecard import generate  # bench/scorecard.py

    ws = closeloop.init(folder / "ws")
    path = ws.settings.warehouse_path()
    path.unlink()
    generate(path, rows)
    ws.refresh_facts()  # both sides read the stored facts
    conv = ws.conventions()
    req = ScorecardRequest(Selection(by=("center_id",)), grain="week", metrics=DEFAULT_METRICS)

    def core() -> None:
        with Warehouse(path, read_only=True, memory_limit=ws.settings.warehouse_memory_limit) as wh:
            scorecard(Tables.from_backend(wh.ibis()), conv, req)

    def app() -> None:
        ws.scorecard(by="center_id", grain="week")

    core(), app()  # warm the page cache and imports
    return [_pair(core, app, i) for i in range(rounds)]


def bench_ingest(folder: Path, rows: int, rounds: int) -> list[tuple[float, float]]:
    """Paired (core, workspace) seconds of ingesting one calls CSV into an empty warehouse."""
    import closeloop
    from closeloop.ingest import ingest_file
    from closeloop.warehouse import Warehouse
    from ingest import generate  # bench/ingest.py

    csv = folder / "calls.csv"
    generate(csv, rows)
    out = []
    for i in range(rounds):
        base = folder / f"core{i}.duckdb"
        wsdir = folder / f"ws{i}"
        ws = closeloop.init(wsdir)

        def core(base: Path = base, limit: str | None = ws.settings.warehouse_memory_limit) -> None:
            with Warehouse(base, memory_limit=limit) as wh:
                ingest_file(wh, "calls", csv)

        out.append(_pair(core, lambda ws=ws: ws.ingest("calls", csv), i))
        base.unlink()
        shutil.rmtree(wsdir)
    return out


def report(name: str, pairs: list[tuple[float, float]]) -> None:
    for core, app in pairs:
        print(f"  {name:<10} core {core:7.2f} s   workspace {app:7.2f} s   ratio {app / core:5.3f}")
    ratio = statistics.median(app / core for core, app in pairs)
    print(f"{name}: median workspace / core = {ratio:.3f} (target <= 1.05)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"rows {args.rows:,}, rounds {args.rounds}, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        report("scorecard", bench_scorecard(Path(tmp), args.rows, args.rounds))
    with tempfile.TemporaryDirectory() as tmp:
        report("ingest", bench_ingest(Path(tmp), args.rows, args.rounds))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
