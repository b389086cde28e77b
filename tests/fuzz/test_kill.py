"""kill -9 at random moments of a big ingest, five times: earlier data unchanged, re-run exact.

An ingest is two transactions (the stage, then the load; see closeloop.ingest.load), so a
process killed at any moment must leave the warehouse as it was before, or — killed after
the commit — as a complete ingest leaves it; never half of one. After the kills, running
the ingest to the end must give exactly what an uninterrupted ingest gives.

The file has 300,000 rows in CI (an ingest of a few seconds, so five kills fit the suite's
budget; 2,000,000 as the issue asks with ``CLOSELOOP_FUZZ=long``, i.e. ``make fuzz``). The
moments are drawn by a seeded generator from the whole of an uninterrupted run's duration.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from closeloop.warehouse import Warehouse
from tests.fuzz.budget import LONG

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
ROWS = 2_000_000 if LONG else 300_000
KILLS = 5


def closeloop(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "closeloop", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def big_file(path: Path) -> None:
    """A calls CSV, ~1% bad rows (so the ingest writes rejects too)."""
    duckdb.sql(f"""
        COPY (
            SELECT 'K' || i AS call_id, ['AUS', 'MNL', 'BOG'][1 + i % 3] AS center_id, 'care_inbound' AS queue,
                   'inbound' AS direction, 'care' AS call_type,
                   strftime(TIMESTAMP '2026-07-01' + to_seconds(i // 40), '%Y-%m-%dT%H:%M:%S') AS offered_at,
                   strftime(TIMESTAMP '2026-07-01' + to_seconds(i // 40 + 9), '%Y-%m-%dT%H:%M:%S') AS answered_at,
                   strftime(TIMESTAMP '2026-07-01' + to_seconds(i // 40 + 300), '%Y-%m-%dT%H:%M:%S') AS ended_at,
                   'A' || (i % 300) AS agent_id, '' AS lead_id, CAST(i % 40 AS VARCHAR) AS hold_s, '30' AS wrap_s,
                   'resolved' AS outcome, '' AS order_value,
                   CASE WHEN i % 100 = 7 THEN '9' ELSE CAST(1 + i % 5 AS VARCHAR) END AS csat
            FROM range({ROWS}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',')""")


def fingerprint(warehouse: Path) -> tuple[object, ...]:
    """What users can see: every row of calls and rejects, and the ingest log's counts."""
    with Warehouse(warehouse, read_only=True) as wh:
        calls = ", ".join(f'"{c}"' for c in wh.columns("calls"))
        return (
            wh.con.execute(f"SELECT count(*), sum(hash({calls})) FROM calls").fetchone(),
            wh.con.execute("SELECT count(*), sum(hash(record, source, line, field, reason, raw)) FROM rejects")
            .fetchone(),
            wh.con.execute("SELECT record, source, rows_read, loaded, rejected FROM ingests "
                           "ORDER BY ingest_id DESC LIMIT 1").fetchone(),
        )


def test_kill_9_during_ingest_never_harms_earlier_data(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert subprocess.run([sys.executable, "-m", "closeloop", "init", str(ws)], capture_output=True).returncode == 0
    for record in ("centers", "calls"):
        assert closeloop("ingest", record, str(EXAMPLES / f"{record}.csv"), cwd=ws).wait(timeout=120) == 0
    big = tmp_path / "big.csv"
    big_file(big)
    warehouse = ws / "warehouse.duckdb"
    earlier = fingerprint(warehouse)

    pristine, reference_ws = tmp_path / "pristine", tmp_path / "reference"
    shutil.copytree(ws, pristine)
    shutil.copytree(ws, reference_ws)
    start = time.monotonic()
    assert closeloop("ingest", "calls", str(big), cwd=reference_ws).wait(timeout=600) == 0
    duration = time.monotonic() - start
    complete = fingerprint(reference_ws / "warehouse.duckdb")
    assert complete != earlier

    rng = random.Random(13)
    outcomes = []
    for _ in range(KILLS):
        proc = closeloop("ingest", "calls", str(big), cwd=ws)
        time.sleep(rng.uniform(0.05, duration))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        now = fingerprint(warehouse)
        assert now in (earlier, complete), "a killed ingest left a half-loaded warehouse"
        outcomes.append(now == complete)
        if now == complete:  # it committed before the kill: start again from the earlier state
            shutil.rmtree(ws)
            shutil.copytree(pristine, ws)
    assert closeloop("ingest", "calls", str(big), cwd=ws).wait(timeout=600) == 0
    assert fingerprint(warehouse) == complete
    # The killed loads' space is reused (or, past 64 MiB, given back): the file does not grow per kill.
    assert warehouse.stat().st_size <= 2 * (reference_ws / "warehouse.duckdb").stat().st_size
    assert not all(outcomes), "every kill came after the commit: the test killed nothing"
