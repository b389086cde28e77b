"""Simulator benchmark: closeloop vs Ciw vs SimPy on M/M/100 at 90% load, plus a blended week.

    .venv/bin/python bench/sim.py                 # ~2M calls for closeloop, 100k for the peers
    .venv/bin/python bench/sim.py --calls 200000  # quicker

Prints calls simulated per second for each engine, the ratios, and each one's error
against Erlang C (service level within 20 s and mean wait). Ciw and SimPy run on fewer
calls (``--peer-calls``) and their rate is per call, so the ratio is fair; the printout
says so. Then the blended 3-queue, 500-agent, one-week sticky-mode scenario of
examples/scenarios/blended_week.toml (calls per second on one core), and replications
across cores. Not a test: figures go into bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from closeloop.sim.erlang import erlang_c_figures
from closeloop.sim.runner import replicate, run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario
from closeloop.sim.scenario_file import parse_scenario

C, AHT, LOAD, SL_T = 100, 300.0, 90.0, 20.0
LAM = LOAD / AHT  # calls per second
ROOT = Path(__file__).resolve().parents[1]


def mm100(calls: int, seed: int = 1) -> Scenario:
    """The M/M/100 scenario with about ``calls`` arrivals."""
    return Scenario(
        days=calls / LAM / 86400.0, seed=seed, centers=[Center("c")], policy="longest_idle",
        queues=[QueueSpec("q", call_type="care", rate_per_hour=LAM * 3600, handle_dist="exponential",
                          handle_mean_s=AHT, sl_threshold_s=SL_T)],
        agents=[Agent(f"a{i:03d}", "c", {"care": 5}) for i in range(C)],
    )


def _errors(waits: np.ndarray) -> tuple[float, float]:
    exact = erlang_c_figures(C, LAM, AHT, SL_T)
    return float((waits <= SL_T).mean() - exact.service_level), float(waits.mean() / exact.asa - 1)


def run_closeloop(calls: int) -> dict[str, float]:
    """Engine time and end-to-end time (traffic, engine, outcomes, statistics)."""
    t0, c0 = time.perf_counter(), time.process_time()
    r = run_once(mm100(calls))
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    j = r.jobs
    arrive, answer = np.asarray(j.arrive), np.asarray(j.answer)
    warm = arrive > 3600
    sl_err, asa_err = _errors((answer - arrive)[warm & ~np.isnan(answer)])
    n = len(j.q)
    return {"calls": n, "seconds": r.engine_s, "rate": n / r.engine_s, "rate_total": n / total,
            "cpu": r.engine_cpu_s, "cpu_total": total_cpu, "sl_err": sl_err, "asa_err": asa_err}


def run_ciw(calls: int) -> dict[str, float]:
    """Ciw 3 on the same model."""
    import ciw

    net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=LAM)],
                             service_distributions=[ciw.dists.Exponential(rate=1 / AHT)], number_of_servers=[C])
    ciw.seed(1)
    sim = ciw.Simulation(net)
    t0, c0 = time.perf_counter(), time.process_time()
    sim.simulate_until_max_time(calls / LAM)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    recs = sim.get_all_records()
    waits = np.array([r.waiting_time for r in recs if r.arrival_date > 3600])
    sl_err, asa_err = _errors(waits)
    return {"calls": len(recs), "seconds": secs, "rate": len(recs) / secs, "cpu": cpu, "sl_err": sl_err,
            "asa_err": asa_err}


def run_simpy(calls: int) -> dict[str, float]:
    """SimPy: a process per call on a Resource of 100 agents (the usual way to write it)."""
    import simpy

    rng = np.random.default_rng(1)
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=C)
    waits: list[float] = []
    inter = rng.exponential(1 / LAM, calls).tolist()
    service = rng.exponential(AHT, calls).tolist()

    def call(k: int):  # type: ignore[no-untyped-def]
        t = env.now
        with agents.request() as req:
            yield req
            if t > 3600:
                waits.append(env.now - t)
            yield env.timeout(service[k])

    def source():  # type: ignore[no-untyped-def]
        for k in range(calls):
            yield env.timeout(inter[k])
            env.process(call(k))

    env.process(source())
    t0, c0 = time.perf_counter(), time.process_time()
    env.run()
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    sl_err, asa_err = _errors(np.array(waits))
    return {"calls": calls, "seconds": secs, "rate": calls / secs, "cpu": cpu, "sl_err": sl_err, "asa_err": asa_err}


def blended(workers: int) -> None:
    """The blended week: one core, then replications across cores."""
    path = ROOT / "examples" / "scenarios" / "blended_week.toml"
    s = parse_scenario(path.read_text(encoding="utf-8"), str(path))
    t0, c0 = time.perf_counter(), time.process_time()
    r = run_once(s)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(r.jobs.q)
    print(f"\nblended week (3 queues, {len(s.agents)} agents, 7 days, sticky modes, engine {r.engine}):")
    print(f"  {n:,} calls: engine {r.engine_s:.2f} s wall, {r.engine_cpu_s:.2f} s CPU = "
          f"{n / r.engine_cpu_s:,.0f} calls per CPU-second (one core; wall {n / r.engine_s:,.0f}/s)")
    print(f"  end to end (traffic, engine, outcomes, stats): {cpu:.2f} s CPU = {n / cpu:,.0f} calls per CPU-second "
          f"(wall {total:.2f} s)")
    if workers > 1:
        reps = workers * 2
        t0 = time.perf_counter()
        replicate(s, replications=reps, workers=1)
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        replicate(s, replications=reps, workers=workers)
        many = time.perf_counter() - t0
        print(f"  {reps} replications: {one:.1f} s on 1 process, {many:.1f} s on {workers} "
              f"(speed-up {one / many:.2f}x)")


def features(calls: int) -> None:
    """What each scenario feature costs on M/M/100 at 90% load (engine CPU time per call)."""
    from closeloop.sim.dists import make

    variants: list[tuple[str, dict[str, object], str]] = [
        ("baseline (exponential talk)", {}, "auto"),
        ("baseline, event engine", {}, "event"),
        ("gamma talk", {"talk": make("gamma", mean=AHT, sd=AHT)}, "auto"),
        ("empirical talk", {"talk": make("empirical", values=list(np.quantile(
            np.random.default_rng(0).exponential(AHT, 10_000), np.linspace(0, 1, 101))))}, "auto"),
        ("Weibull patience + call-backs", {"patience": make("weibull", shape=0.8, scale=600.0), "retrial_prob": 0.3,
                                           "retrial_delay": make("exponential", mean=300.0)}, "auto"),
        ("capacity 20 (event)", {"capacity": 20}, "auto"),
        ("trunks 110 (event)", {"trunks": 110}, "auto"),
        ("balking (event)", {"balk_prob": [0.0, 0.01, 0.02, 0.05]}, "auto"),
        ("max wait 60 s, message", {"max_wait_s": 60.0}, "auto"),
        ("random agent (event)", {"agent_selection": "random"}, "auto"),
    ]
    print(f"\nfeature costs on M/M/{C} at {LOAD / C:.0%} load, {calls:,} calls (engine CPU time):")
    base = None
    for label, extra, engine in variants:
        s = mm100(calls)
        for k, v in extra.items():
            setattr(s.queues[0], k, v)
        r = run_once(s, engine=engine)
        rate = len(r.jobs.q) / r.engine_cpu_s
        base = base or rate
        print(f"  {label:<34} engine {r.engine:<5} {rate:>12,.0f} calls/CPU-s  "
              f"({base / rate:4.1f}x the baseline's time)")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2_000_000, help="calls for closeloop on M/M/100")
    ap.add_argument("--peer-calls", type=int, default=100_000, help="calls for Ciw and SimPy (rates are per call)")
    ap.add_argument("--skip-blended", action="store_true")
    ap.add_argument("--features", type=int, default=200_000, help="calls per feature-cost run (0: skip)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    exact = erlang_c_figures(C, LAM, AHT, SL_T)
    print(f"M/M/{C} at {LOAD / C:.0%} load: Erlang C P(wait) {exact.p_wait:.4f}, SL({SL_T:.0f}s) "
          f"{exact.service_level:.4f}, ASA {exact.asa:.2f} s  (python {sys.version.split()[0]})")
    res = {"closeloop": run_closeloop(args.calls), "ciw": run_ciw(args.peer_calls),
           "simpy": run_simpy(args.peer_calls)}
    if args.peer_calls != args.calls:
        print(f"(Ciw and SimPy simulated {args.peer_calls:,} calls, closeloop {args.calls:,}; "
              "rates are calls per second of each run)")
    print(f"{'engine':<10} {'calls':>10} {'wall s':>8} {'CPU s':>8} {'calls/s':>10} {'calls/CPU-s':>12} "
          f"{'SL err':>8} {'ASA err':>8}")
    for name, r in res.items():
        print(f"{name:<10} {r['calls']:>10,.0f} {r['seconds']:>8.2f} {r['cpu']:>8.2f} {r['rate']:>10,.0f} "
              f"{r['calls'] / r['cpu']:>12,.0f} {r['sl_err']:>+8.4f} {r['asa_err']:>+8.2%}")
    cl = res["closeloop"]
    print(f"closeloop end to end (traffic + engine + outcomes + stats): {cl['rate_total']:,.0f} calls/s, "
          f"{cl['calls'] / cl['cpu_total']:,.0f} calls/CPU-s")
    cpu_rate = {k: r["calls"] / r["cpu"] for k, r in res.items()}
    print(f"ratios (CPU time, fair on a busy machine): closeloop / Ciw = {cpu_rate['closeloop'] / cpu_rate['ciw']:.1f}x"
          f" (target ≥ 30x), closeloop / SimPy = {cpu_rate['closeloop'] / cpu_rate['simpy']:.1f}x (target ≥ 10x)")
    print(f"ratios (wall time): closeloop / Ciw = {cl['rate'] / res['ciw']['rate']:.1f}x, "
          f"closeloop / SimPy = {cl['rate'] / res['simpy']['rate']:.1f}x")
    if args.features:
        features(args.features)
    if not args.skip_blended:
        blended(args.workers)


if __name__ == "__main__":
    main()
