"""Benchmark: the full scorecard (every metric) by center x week and by agent, on DuckDB.

Generates a warehouse of N synthetic calls directly in DuckDB (SQL ``range()``, no CSV),
with 20 centers in 5 time zones, 2,000 agents and N/3 leads, then times, each in a fresh
process with its peak memory (max RSS) measured:

  facts build     the one-off build of the stored per-call facts (call_facts), which the first
                  scorecard / sla check / report after new data runs (closeloop.metrics.facts)
  center x week   closeloop scorecard --by center_id --grain week   (all 21 metrics, incl.
                  the windowed first-call close and repeat rate; local weeks per center)
  agent           closeloop scorecard --by agent_id                  (all metrics + EB shrinkage)
  *_core          (--core) the same with only the call-level metrics (no per-lead pass)
  *_fly           (--fly) the same computed on the fly, without the stored facts
  pandas          the same center x week aggregation written plainly in pandas (load calls
                  + centers, convert to local time per center, groupby) — the peer to beat;
                  it covers the 13 per-call metrics, not the windowed or distinct-lead ones

Targets (issue 4): 10M calls <= 5 s and 100M calls <= 60 s per scorecard on a 2-core machine.

    .venv/bin/python bench/scorecard.py [--rows 10000000] [--no-pandas] [--core] [--fly] [--keep DIR]
        [--memory-limit 4GB] [--compare-src DIR]
    # --compare-src: e.g. git archive OLD src/closeloop | tar -x -C /tmp/old; --compare-src /tmp/old/src

Each run reports wall time, CPU time (getrusage of its process, DuckDB's threads included:
on a shared machine wall time depends on what else runs, CPU time much less) and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
ZONES = ["Asia/Manila", "America/Bogota", "Europe/Lisbon", "America/New_York", "Asia/Kolkata"]


def generate(path: Path, rows: int) -> None:
    """Write centers, agents, leads and ``rows`` calls into a new warehouse file."""
    sys.path.insert(0, str(ROOT / "src"))
    from closeloop.warehouse import Warehouse

    Warehouse(path).close()
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    zones = ", ".join(f"'{z}'" for z in ZONES)
    con.execute(f"""INSERT INTO centers SELECT 'C' || i, 'vendor' || (i % 5), 'PH',
                    [{zones}][1 + i % 5], 'center ' || i FROM range(20) t(i)""")
    con.execute("""INSERT INTO agents SELECT 'C' || (i % 20) || '-A' || i, 'C' || (i % 20), 'sales:5;care:5',
                   NULL, 'team' || (i % 200), NULL FROM range(2000) t(i)""")
    leads = max(rows // 3, 1)
    con.execute(f"""INSERT INTO leads SELECT 'L' || i, TIMESTAMPTZ '2026-01-01', ['web', 'partner', 'list',
                    'referral', 'event'][1 + i % 5], 'n', 'p', CASE WHEN i % 10 = 0 THEN NULL ELSE 'e' END,
                    NULL, ['gold', 'basic'][1 + i % 2], 'PH' FROM range({leads}) t(i)""")
    con.execute(f"""
        INSERT INTO calls
        WITH r AS (
            SELECT i, i % 2000 AS ag, hash(i) AS h1, hash(i + {rows}) AS h2, hash(i + 2 * {rows}) AS h3
            FROM range({rows}) t(i)
        ), c AS (
            SELECT *, h1 % 100 < 90 AS ans, h1 % 3 = 0 AS outb, h2 % 100 < 60 AS sales,
                   TIMESTAMPTZ '2026-01-05' + to_seconds(CAST(h3 % (91 * 86400) AS BIGINT)) AS t0,
                   CAST(h2 % 60 AS BIGINT) AS wait
            FROM r
        )
        SELECT 'K' || i, 'C' || (ag % 20), CASE WHEN sales THEN 'sales' ELSE 'care' END,
               CASE WHEN outb THEN 'outbound' ELSE 'inbound' END, CASE WHEN sales THEN 'sales' ELSE 'care' END,
               t0, CASE WHEN ans THEN t0 + to_seconds(wait) END,
               t0 + to_seconds(wait + CASE WHEN ans THEN 60 + h3 % 600 ELSE 0 END),
               CASE WHEN ans THEN 'C' || (ag % 20) || '-A' || ag END,
               'L' || (h1 % {leads}),
               CASE WHEN ans THEN CAST(h2 % 30 AS DOUBLE) END, CASE WHEN ans THEN CAST(h3 % 90 AS DOUBLE) END,
               CASE WHEN NOT ans THEN CASE WHEN outb THEN 'no_answer' ELSE 'abandoned' END
                    WHEN sales THEN CASE WHEN h3 % 100 < 15 THEN 'sale' WHEN h3 % 100 < 25 THEN 'callback'
                                         ELSE 'no_sale' END
                    ELSE CASE WHEN h3 % 100 < 70 THEN 'resolved' WHEN h3 % 100 < 90 THEN 'unresolved'
                              ELSE 'escalated' END END,
               CASE WHEN ans AND sales AND h3 % 100 < 15 THEN CAST(50 + h1 % 500 AS DOUBLE) END,
               CASE WHEN ans AND h2 % 5 = 0 THEN CAST(1 + h3 % 5 AS BIGINT) END
        FROM c
    """)
    con.close()


CHILD = r"""
import json, resource, sys, time
path, mode = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "build":
    sys.path.insert(0, sys.argv[3])
    from closeloop.metrics import Conventions
    from closeloop.warehouse.facts import build_facts
    from closeloop.warehouse import Warehouse
    wh = Warehouse(path, memory_limit=sys.argv[4] or None)
    build_facts(wh.ibis(), Conventions())
    wh.close()
    groups = 0
elif mode == "pandas":
    import duckdb, numpy as np
    con = duckdb.connect(path, read_only=True)
    calls = con.execute("SELECT * FROM calls").df()
    centers = con.execute("SELECT center_id, timezone FROM centers").df()
    df = calls.merge(centers, on="center_id", how="left")
    parts = []
    for tz, g in df.groupby("timezone"):
        g = g.copy()
        g["week"] = g["offered_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.to_period("W").dt.start_time
        parts.append(g)
    df = __import__("pandas").concat(parts)
    ans = df["answered_at"].notna(); inb = df["direction"] == "inbound"
    wait = (df["answered_at"].fillna(df["ended_at"]) - df["offered_at"]).dt.total_seconds()
    conn = (df["ended_at"] - df["answered_at"]).dt.total_seconds()
    short = inb & ~ans & (wait < 5)
    hs = ans & (df["call_type"] == "sales"); hc = ans & (df["call_type"] == "care")
    df = df.assign(offered=inb, handled=ans, abandoned=inb & ~ans, short=short,
                   ab_num=inb & ~ans & ~short, ab_den=inb & ~short,
                   sl_num=inb & ans & (wait <= 20), sl_den=inb & ~short,
                   asa_sum=np.where(inb & ans, wait, 0.0), asa_n=inb & ans,
                   aht_sum=np.where(ans, conn + df["wrap_s"].fillna(0), 0.0),
                   sale=df["outcome"] == "sale", hs=hs, res=hc & (df["outcome"] == "resolved"), hc=hc,
                   csat_sum=df["csat"].fillna(0), csat_n=df["csat"].notna(),
                   top2=df["csat"] >= 4, rev=df["order_value"].fillna(0))
    cols = ["offered", "handled", "abandoned", "short", "ab_num", "ab_den", "sl_num", "sl_den", "asa_sum", "asa_n",
            "aht_sum", "sale", "hs", "res", "hc", "csat_sum", "csat_n", "top2", "rev"]
    out = df.groupby(["week", "center_id"])[cols].sum()
    out["close_rate"] = out["sale"] / out["hs"]
    groups = len(out)
else:
    sys.path.insert(0, sys.argv[3])
    from closeloop.metrics import Conventions, ScorecardRequest, Selection, Tables, scorecard
    from closeloop.warehouse import Warehouse
    wh = Warehouse(path, read_only=True)
    from closeloop.metrics import METRICS, DEFAULT_METRICS
    by = ("center_id",) if mode.startswith("center_week") else ("agent_id",)
    names = DEFAULT_METRICS if not mode.endswith("_core") else tuple(
        n for n in DEFAULT_METRICS if METRICS[n].level == "call")
    req = ScorecardRequest(Selection(by=by), grain="week" if mode.startswith("center_week") else None,
                           metrics=names)
    tables = Tables.from_backend(wh.ibis(), facts=False) if mode.endswith("_fly") else Tables.from_backend(wh.ibis())
    card = scorecard(tables, Conventions(), req)
    groups = len(card.rows)
elapsed = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"mode": mode, "seconds": elapsed, "cpu_s": use.ru_utime + use.ru_stime, "groups": groups,
                  "peak_mib": use.ru_maxrss / 1024}))
"""


def run(path: Path, mode: str, src: Path = ROOT / "src", memory_limit: str = "") -> dict:
    """Time one scorecard in a fresh process; returns wall and CPU seconds, groups and peak MiB."""
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, str(src), memory_limit],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"mode": mode, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--no-pandas", action="store_true", help="skip the pandas peer (it needs ~2 GB per 10M rows)")
    ap.add_argument("--core", action="store_true",
                    help="also time the call-level metrics only (no per-lead, first-call or repeat passes)")
    ap.add_argument("--fly", action="store_true", help="also time both scorecards without the stored facts")
    ap.add_argument("--memory-limit", default="", help="DuckDB memory limit for the facts build (e.g. 4GB)")
    ap.add_argument("--keep", type=Path, help="generate into (or reuse) this folder instead of a temporary one")
    ap.add_argument("--compare-src", type=Path,
                    help="also time the scorecards with another src/ (e.g. an older commit, via git archive)")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="closeloop-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"scorecard-{args.rows}.duckdb"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {args.rows:,} calls in {time.perf_counter() - t0:.1f} s ({path.stat().st_size >> 20} MiB)")
    results = [run(path, "build", memory_limit=args.memory_limit), run(path, "center_week"), run(path, "agent")]
    if args.core:
        results += [run(path, "center_week_core"), run(path, "agent_core")]
    if args.fly:
        results += [run(path, "center_week_fly"), run(path, "agent_fly")]
    if args.compare_src:
        for mode in ("center_week", "agent"):
            results.append({**run(path, mode, args.compare_src), "mode": f"{mode}@compare"})
    if not args.no_pandas:
        results.append(run(path, "pandas"))
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'run':>20}  {'wall':>8}  {'CPU':>8}  {'groups':>6}  peak RSS")
    for r in results:
        if "error" in r:
            print(f"{r['mode']:>20}: failed: {r['error']}")
        else:
            print(f"{r['mode']:>20}  {r['seconds']:7.2f}s  {r['cpu_s']:7.2f}s  {r['groups']:>6}  "
                  f"{r['peak_mib']:,.0f} MiB")
    ok = {r["mode"]: r for r in results if "error" not in r}
    if "pandas" in ok:
        for mode in ("center_week", "agent"):
            if mode in ok:
                print(f"pandas / closeloop ({mode}): wall {ok['pandas']['seconds'] / ok[mode]['seconds']:.1f}x, "
                      f"CPU {ok['pandas']['cpu_s'] / ok[mode]['cpu_s']:.1f}x")
    if not args.keep:
        path.unlink()


if __name__ == "__main__":
    main()
