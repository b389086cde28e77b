"""Benchmark: what pricing costs a scorecard, and how long an outsourcing estimate takes.

On the synthetic warehouse of bench/scorecard.py (20 centers, 5 vendors, N calls), with the
stored facts built, times in one process (after one warm-up of each):

  volume      scorecard --by vendor --grain week  --metrics handled,sales,aht_s,revenue_per_call
  priced      the same plus cost,cost_per_call,cost_per_sale,margin (5 priced contracts)
  + leads     both again with leads_per_sale and cost_per_lead (a per-lead pass each)
  outsource   explain outsource --segment "call_type = 'sales' AND vendor = 'vendor0'" --compare vendor1..4

Cost metrics are priced after aggregation, one aggregation per priced contract over its calls,
so "priced" costs about one more scorecard pass in all; the figure to watch is priced / volume.

    .venv/bin/python bench/cost.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PRICES = "\n".join(
    f'[[contract]]\nname = "v{i}"\nscope = {{ vendor = "vendor{i}" }}\n[contract.price]\n'
    f"per_handled_minute = {0.3 + 0.1 * i}\ncommission = 0.05\nmonthly_fixed = 1000\n" for i in range(5)
)


def best(fn, repeat: int = 3) -> float:
    """Fastest of ``repeat`` runs (after a warm-up), in seconds."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("bench_scorecard", ROOT / "bench" / "scorecard.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    from closeloop.contracts import parse_contracts
    from closeloop.metrics import Conventions, ScorecardRequest, Selection, Tables, scorecard
    from closeloop.metrics.cost import COST_METRICS
    from closeloop.metrics.facts import build_facts
    from closeloop.metrics.outsource import estimate_outsource
    from closeloop.warehouse import Warehouse

    folder = args.keep or Path(tempfile.mkdtemp(prefix="closeloop-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"scorecard-{args.rows}.duckdb"
    if not path.exists():
        gen.generate(path, args.rows)
    wh = Warehouse(path)
    build_facts(wh.ibis(), Conventions())
    tables, conv, contracts = Tables.from_backend(wh.ibis()), Conventions(), tuple(parse_contracts(PRICES))
    base = ("handled", "sales", "aht_s", "revenue_per_call")

    def card(metrics: tuple[str, ...]) -> None:
        scorecard(tables, conv, ScorecardRequest(Selection(by=("vendor",)), grain="week", metrics=metrics,
                                                 contracts=contracts))

    volume = best(lambda: card(base))
    priced = best(lambda: card((*base, *(m for m in COST_METRICS if m != "cost_per_lead"))))
    volume_leads = best(lambda: card((*base, "leads_per_sale")))
    priced_leads = best(lambda: card((*base, "leads_per_sale", *COST_METRICS)))
    outsource = best(lambda: estimate_outsource(tables, conv, contracts, "call_type = 'sales' AND vendor = 'vendor0'",
                                                [f"vendor{i}" for i in range(1, 5)], adjust_for=("source", "product")),
                     repeat=1)
    wh.close()
    print(f"{args.rows:,} calls, 5 priced vendors, best of 3 after a warm-up")
    print(f"  volume scorecard   {volume:7.3f} s")
    print(f"  priced scorecard   {priced:7.3f} s   ({priced / volume:.2f}x volume; cost, per call, per sale, margin)")
    print(f"  volume + leads     {volume_leads:7.3f} s   (leads_per_sale: the per-lead pass)")
    print(f"  priced + leads     {priced_leads:7.3f} s   ({priced_leads / volume_leads:.2f}x; all five metrics)")
    print(f"  outsource estimate {outsource:7.3f} s   (4 candidates)")


if __name__ == "__main__":
    main()
