"""Benchmark: `closeloop ingest calls` end to end vs a plain DuckDB read_csv of the same file.

Generates a canonical calls CSV (default 10 million rows, ~1% bad rows of several kinds),
then times, each in a fresh process with its peak memory measured:

  plain      CREATE TABLE t AS SELECT * FROM read_csv(file)     (no validation at all)
  closeloop  closeloop ingest calls file                          (validation, rejects, upsert)

and prints rows/s for both and the ratio (target: closeloop >= 0.6x plain, peak < 2 GiB).

    .venv/bin/python bench/ingest.py [--rows 10000000] [--keep] [--csv KEPT_FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def generate(path: Path, rows: int) -> None:
    """Write a calls CSV: 5 rows in 500 (1%) are bad: time, enum, duration, csat, outcome."""
    duckdb.sql(f"""
        COPY (
            SELECT 'C' || i AS call_id,
                   ['AUS', 'MNL', 'BOG'][1 + i % 3] AS center_id,
                   ['sales_inbound', 'care_inbound', 'sales_outbound'][1 + i % 3] AS queue,
                   CASE WHEN i % 500 = 7 THEN 'sideways' WHEN i % 3 = 2 THEN 'outbound' ELSE 'inbound' END AS direction,
                   CASE WHEN i % 3 = 1 THEN 'care' ELSE 'sales' END AS call_type,
                   CASE WHEN i % 500 = 13 THEN 'not a time'
                        ELSE strftime(TIMESTAMP '2026-07-01' + to_seconds(i // 40), '%Y-%m-%dT%H:%M:%S') END
                       AS offered_at,
                   CASE WHEN i % 10 = 9 THEN ''
                        ELSE strftime(TIMESTAMP '2026-07-01' + to_seconds(i // 40 + 12), '%Y-%m-%dT%H:%M:%S') END
                       AS answered_at,
                   strftime(TIMESTAMP '2026-07-01' + to_seconds(i // 40 + 300), '%Y-%m-%dT%H:%M:%S') AS ended_at,
                   CASE WHEN i % 10 = 9 THEN '' ELSE 'A' || (i % 500) END AS agent_id,
                   CASE WHEN i % 3 <> 1 THEN 'L' || (i // 2) ELSE '' END AS lead_id,
                   CASE WHEN i % 500 = 21 THEN '-5' ELSE CAST(i % 40 AS VARCHAR) END AS hold_s,
                   CAST(i % 60 AS VARCHAR) AS wrap_s,
                   CASE WHEN i % 10 = 9 THEN (CASE WHEN i % 3 = 2 THEN 'no_answer' ELSE 'abandoned' END)
                        WHEN i % 500 = 33 THEN 'resolved'
                        WHEN i % 3 = 1 THEN 'resolved' WHEN i % 7 = 0 THEN 'sale' ELSE 'no_sale' END AS outcome,
                   CASE WHEN i % 7 = 0 AND i % 3 <> 1 THEN '249.0' ELSE '' END AS order_value,
                   CASE WHEN i % 500 = 44 THEN '9' WHEN i % 5 = 0 THEN CAST(1 + i % 5 AS VARCHAR) ELSE '' END AS csat
            FROM range({rows}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',')""")


PLAIN = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute("CREATE TABLE plain AS SELECT * FROM read_csv(?, header = true)", [sys.argv[2]])
n = con.execute("SELECT count(*) FROM plain").fetchone()[0]
print(n, time.perf_counter() - t)
"""


def run_measured(cmd: list[str]) -> tuple[float, float, float, str]:
    """Run cmd in a child; return (wall seconds, CPU seconds, child peak RSS in MiB, stdout).

    CPU seconds (user + system, all of the child's threads) drift less than wall time
    when other jobs share the machine, so both are printed.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, max(after.ru_maxrss, before.ru_maxrss) / 1024, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--csv", type=Path, help="reuse a calls CSV generated (and --keep'd) by an earlier run")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="closeloop-bench-ingest-"))
    csv = args.csv or tmp / "calls.csv"
    if args.csv:
        args.rows = sum(1 for _ in csv.open("rb")) - 1
    else:
        t = time.perf_counter()
        generate(csv, args.rows)
        print(f"generated {args.rows:,} rows ({csv.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t:.1f}s")

    load_before = os.getloadavg()[0]
    plain_cmd = [sys.executable, "-c", PLAIN, str(tmp / "plain.duckdb"), str(csv)]
    wall_plain, cpu_plain, peak_plain, out = run_measured(plain_cmd)
    n_plain, t_plain = out.split()
    ws = tmp / "ws"
    subprocess.run([sys.executable, "-m", "closeloop", "init", str(ws)], check=True, capture_output=True)
    centers = ROOT / "examples" / "data" / "centers.csv"
    subprocess.run([sys.executable, "-m", "closeloop", "ingest", "centers", str(centers), "-w", str(ws)],
                   check=True, capture_output=True)
    wall_cl, cpu_cl, peak_cl, out = run_measured(
        [sys.executable, "-m", "closeloop", "ingest", "calls", str(csv), "-w", str(ws), "-o", "json"])
    summary = json.loads(out)[0]

    rate_plain = int(n_plain) / float(t_plain)
    rate_cl = args.rows / wall_cl
    print(f"load average          : {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          "(2 cores; above ~0.5 the machine was shared)")
    print(f"plain duckdb read_csv : {float(t_plain):6.2f}s  {rate_plain:12,.0f} rows/s  "
          f"(process {wall_plain:.2f}s, {cpu_plain:.1f} CPU-s)")
    print(f"closeloop ingest      : {wall_cl:6.2f}s  {rate_cl:12,.0f} rows/s  "
          f"(end to end, incl. start-up; {cpu_cl:.1f} CPU-s)")
    print(f"ratio closeloop/plain : {rate_cl / rate_plain:.2f}x   (target >= 0.6x; closeloop's whole process "
          f"vs the plain statement alone); in CPU time {cpu_plain / cpu_cl:.2f}x")
    print(f"process to process    : {wall_plain / wall_cl:.2f}x   (both whole processes: start-up, connect, "
          "read, commit, close)")
    print(f"peak memory           : closeloop {peak_cl:,.0f} MiB   (target < 2048 MiB); plain {peak_plain:,.0f} MiB")
    print(f"loaded {summary['loaded']:,}  rejected {summary['rejected']:,}  read {summary['read']:,}  "
          f"(adds up: {summary['loaded'] + summary['rejected'] == summary['read'] == args.rows})")
    if args.keep:
        print(f"files kept in {tmp}")
    else:
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
