"""Benchmark: the whole demo (simulate, write, ingest, scan, report) and the planted effects it shows.

    .venv/bin/python bench/demo.py                 # full scale (the README's first command)
    .venv/bin/python bench/demo.py --scale medium  # while developing

Prints the seconds of each step, the total (target: under 60 s on a 2-core machine), the
sizes of what was built, and each planted effect as measured with plain SQL on the
warehouse — the figures docs/demo.md quotes.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from closeloop.demo.build import build_demo
from closeloop.demo.params import DemoParams

EFFECTS = {
    "close rate by vendor (answered sales calls)": """
        SELECT v.vendor, count(*) AS calls, round(avg((c.outcome = 'sale')::INT), 3) AS close_rate
        FROM calls c JOIN centers v USING (center_id)
        WHERE c.call_type = 'sales' AND c.answered_at IS NOT NULL GROUP BY 1 ORDER BY 1""",
    "purchased-list share of answered sales calls (mix)": """
        SELECT v.vendor, round(avg((l.source = 'purchased_list')::INT), 3) AS purchased_share
        FROM calls c JOIN centers v USING (center_id) JOIN leads l USING (lead_id)
        WHERE c.call_type = 'sales' AND c.answered_at IS NOT NULL GROUP BY 1 ORDER BY 1""",
    "close rate on inbound web-form leads (performance)": """
        SELECT v.vendor, count(*) AS calls, round(avg((c.outcome = 'sale')::INT), 3) AS close_rate
        FROM calls c JOIN centers v USING (center_id) JOIN leads l USING (lead_id)
        WHERE c.call_type = 'sales' AND c.answered_at IS NOT NULL AND l.source = 'web_form'
          AND c.direction = 'inbound' GROUP BY 1 ORDER BY 1""",
    "confusion on transcripts, by vendor, and its close rate": """
        WITH f AS (SELECT call_id, bool_or(speaker = 'customer' AND (text ILIKE '%understand%'
                   OR text ILIKE '%confused%' OR text ILIKE '%lost me%')) AS confused FROM transcripts GROUP BY 1)
        SELECT v.vendor, round(avg(f.confused::INT), 3) AS confused_share,
               round(avg((c.outcome = 'sale')::INT) FILTER (WHERE f.confused), 3) AS close_if_confused,
               round(avg((c.outcome = 'sale')::INT) FILTER (WHERE NOT f.confused), 3) AS close_otherwise
        FROM f JOIN calls c USING (call_id) JOIN centers v USING (center_id) GROUP BY 1 ORDER BY 1""",
    "andina sales calls by calls since the last care call (blending)": """
        WITH a AS (SELECT agent_id, call_type, outcome, answered_at FROM calls
                   WHERE answered_at IS NOT NULL AND center_id = 'co-med'),
        o AS (SELECT *, row_number() OVER (PARTITION BY agent_id ORDER BY answered_at) AS rn FROM a),
        g AS (SELECT *, rn - max(CASE WHEN call_type = 'care' THEN rn END) OVER
              (PARTITION BY agent_id ORDER BY answered_at ROWS UNBOUNDED PRECEDING) AS since FROM o)
        SELECT CASE WHEN since IS NULL THEN 'no care call yet' WHEN since <= 3 THEN CAST(since AS VARCHAR)
                    ELSE '4+' END AS since_care, count(*) AS calls, round(avg((outcome = 'sale')::INT), 3) AS close_rate
        FROM g WHERE call_type = 'sales' GROUP BY 1 ORDER BY 1""",
    "script and objections on transcripts": """
        WITH f AS (SELECT call_id,
            bool_or(speaker = 'agent' AND (text ILIKE '%main benefit%' OR text ILIKE '%customers like you%')) AS value,
            bool_or(text ILIKE '%Vantel%' OR text ILIKE '%Brightwave%' OR text ILIKE '%Orbis%') AS competitor,
            bool_or(speaker = 'customer' AND (text ILIKE '%expensive%' OR text ILIKE '%afford%'
                    OR text ILIKE '%pricey%')) AS objection,
            bool_or(speaker = 'agent' AND (text ILIKE 'I understand.%' OR text ILIKE '%fair question%')) AS answered
            FROM transcripts GROUP BY 1)
        SELECT 'value statement made' AS k, round(avg((outcome = 'sale')::INT) FILTER (WHERE value), 3) AS yes,
               round(avg((outcome = 'sale')::INT) FILTER (WHERE NOT value), 3) AS no FROM f JOIN calls USING (call_id)
        UNION ALL SELECT 'competitor mentioned', round(avg((outcome = 'sale')::INT) FILTER (WHERE competitor), 3),
               round(avg((outcome = 'sale')::INT) FILTER (WHERE NOT competitor), 3) FROM f JOIN calls USING (call_id)
        UNION ALL SELECT 'objection answered (among objections)',
               round(avg((outcome = 'sale')::INT) FILTER (WHERE objection AND answered), 3),
               round(avg((outcome = 'sale')::INT) FILTER (WHERE objection AND NOT answered), 3)
               FROM f JOIN calls USING (call_id)""",
    "cherry-pickers vs peers on in-house pre-sales": """
        WITH a AS (SELECT agent_id, count(*) AS n, avg((outcome = 'sale')::INT) AS cr FROM calls
                   WHERE queue = 'presales_us' AND answered_at IS NOT NULL GROUP BY 1)
        SELECT CASE WHEN agent_id LIKE 'US-C%' THEN agent_id ELSE 'peers (median)' END AS who,
               median(n) AS calls, round(median(cr), 3) AS close_rate FROM a GROUP BY 1 ORDER BY 1""",
    "weekly service level (20 s, short abandons excluded)": """
        SELECT v.vendor, count(*) AS weeks, count(*) FILTER (WHERE sl < 0.8) AS weeks_below_80,
               round(min(sl), 3) AS worst, round(max(sl), 3) AS best FROM (
            SELECT center_id, date_trunc('week', timezone('America/Chicago', offered_at)) AS w, count(*) AS n,
                   avg((answered_at IS NOT NULL AND epoch(answered_at) - epoch(offered_at) <= 20)::INT) AS sl
            FROM calls WHERE direction = 'inbound'
              AND NOT (answered_at IS NULL AND epoch(ended_at) - epoch(offered_at) < 5)
            GROUP BY 1, 2 HAVING count(*) >= 500) JOIN centers v USING (center_id) GROUP BY 1 ORDER BY 1""",
    "follow-up of prospects who did not buy": """
        WITH s AS (SELECT * FROM calls WHERE call_type = 'sales' AND lead_id IS NOT NULL),
        f AS (SELECT lead_id, min(ended_at) AS lost_at FROM s
              WHERE answered_at IS NOT NULL AND outcome IN ('no_sale', 'callback')
                AND lead_id NOT IN (SELECT lead_id FROM s WHERE outcome = 'sale' AND queue <> 'followup_us')
              GROUP BY 1),
        x AS (SELECT f.lead_id, f.lost_at, min(s.offered_at) AS next_at, bool_or(s.outcome = 'sale') AS bought
              FROM f LEFT JOIN s ON s.lead_id = f.lead_id AND s.offered_at > f.lost_at GROUP BY 1, 2)
        SELECT CASE WHEN next_at IS NULL THEN 'never' WHEN epoch(next_at) - epoch(lost_at) <= 86400
                    THEN 'within a day' ELSE 'later' END AS followed_up, count(*) AS leads,
               round(avg(coalesce(bought, false)::INT), 3) AS bought_later
        FROM x WHERE lost_at < (SELECT max(offered_at) FROM calls) - INTERVAL 12 DAY GROUP BY 1 ORDER BY 1""",
}


def main() -> None:
    """Build the demo once, timing each step, then print the planted effects."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="full")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        result = build_demo(root, DemoParams.for_scale(args.scale, seed=args.seed),
                            step=lambda name: marks.append((name, time.perf_counter())))
        total = time.perf_counter() - t0
        print(f"demo --scale {args.scale} --seed {args.seed} on {os.cpu_count()} cores "
              f"(load average {os.getloadavg()[0]:.1f} at the end)")
        ends = [t for _, t in marks[1:]] + [t0 + total]
        for (name, start), end in zip(marks, ends, strict=True):
            print(f"  {name:<26} {end - start:6.1f} s")
        print(f"  {'total':<26} {total:6.1f} s")
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"  CPU: {own.ru_utime + own.ru_stime:.1f} s in this process (DuckDB uses both cores), "
              f"{kids.ru_utime + kids.ru_stime:.1f} s in the lead-contacts worker (runs beside the simulator)")
        for r in result.ingested:
            print(f"  {r['record']:<12} {r['read']:>9,} read {r['loaded']:>9,} loaded {r['rejected']:>3} rejected")
        print(f"  facts: {result.facts}")
        con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
        for title, sql in EFFECTS.items():
            print(f"\n{title}")
            print(con.sql(sql))
        con.close()


if __name__ == "__main__":
    main()
