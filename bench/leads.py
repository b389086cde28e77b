"""Benchmark: lead intake at scale, scoring throughput, queue claims under concurrency.

    .venv/bin/python bench/leads.py                      # 1,000,000 leads, 20,000 claims
    .venv/bin/python bench/leads.py --leads 100000 --claims 5000 --skip-pg

Figures printed:
1. clean + dedupe of N synthetic leads with >= 5% planted duplicates: wall time (target
   <= 180 s for 1M on 2 cores) and pairwise precision / recall against the planted truth
   (target recall >= 0.95 at precision >= 0.98), plus the precision/recall at other thresholds.
2. scoring: training time on a called history, then leads scored per second (probability +
   tier) and reason codes per second.
3. queue claims per second with 8 worker processes on PostgreSQL (target >= 2,000/s) and SQLite,
   one lead per claim and batches of 10 (a dialer), checking that no lead went to two workers.
4. attributes (``--only attributes --attr-leads 1000000``): N planted leads with 40 text
   attributes: typing time, fit + held-out evaluation time, scoring and reasons per second,
   peak memory, and the held-out AUC beside scikit-learn's HistGradientBoosting given the same
   columns and split (target: within 0.01), each model's fit time, and the oracle AUC.

Not a test: it prints figures; record them in bench/README.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Intake and scoring import their heavy libraries inside their functions: the claim workers are
# spawned processes that re-import this module, and should start in a second, not in many.

T0 = datetime(2025, 3, 4, 15, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def bench_intake(n: int, dup_rate: float, jobs: int, threshold: float) -> None:
    import numpy as np

    from closeloop.leads.clean import CleanRules, clean_leads
    from closeloop.leads.dedupe import dedupe_leads
    from closeloop.leads.linkage import pairwise_quality
    from closeloop.leads.synthetic import synthetic_leads

    t = time.perf_counter()
    raw = synthetic_leads(n, dup_rate=dup_rate, seed=1)
    print(f"generated {n:,} leads ({dup_rate:.0%} planted duplicates) in {time.perf_counter() - t:.1f} s (not timed)")
    t0 = time.perf_counter()
    cleaned = clean_leads(raw, CleanRules(default_country="US"), jobs=jobs)
    t1 = time.perf_counter()
    result = dedupe_leads(cleaned, threshold=threshold)
    t2 = time.perf_counter()
    print(f"clean  {t1 - t0:7.1f} s   ({n / (t1 - t0):,.0f} leads/s, {jobs} processes)")
    print(f"dedupe {t2 - t1:7.1f} s   ({n / (t2 - t1):,.0f} leads/s)   "
          f"candidate pairs {result.stats['candidate_pairs']:,}")
    print(f"TOTAL clean + dedupe {t2 - t0:.1f} s   (target <= 180 s for 1,000,000 on 2 cores)")
    truth = dict(zip(raw.column("lead_id").to_pylist(), raw.column("true_person").to_pylist(), strict=True))
    members = result.clusters.to_pydict()
    q = pairwise_quality(np.array(members["cluster_id"]), np.array([truth[x] for x in members["lead_id"]]))
    print(f"threshold {threshold}: precision {q['precision']:.4f}  recall {q['recall']:.4f}  "
          f"(true pairs {q['true_pairs']:,.0f}; target recall >= 0.95 at precision >= 0.98)")
    _sweep(result.pairs, members["lead_id"], [truth[x] for x in members["lead_id"]])
    return None


def _sweep(pairs: object, lead_ids: list[str], truth: list[str]) -> None:
    """Precision/recall when linking at other thresholds (same trained model, re-clustered)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from closeloop.leads.linkage import pairwise_quality

    index = {x: i for i, x in enumerate(lead_ids)}
    left = np.array([index[x] for x in pairs.column("lead_id_l").to_pylist()])  # type: ignore[attr-defined]
    right = np.array([index[x] for x in pairs.column("lead_id_r").to_pylist()])  # type: ignore[attr-defined]
    prob = np.array(pairs.column("match_probability").to_pylist())  # type: ignore[attr-defined]
    n = len(lead_ids)
    for thr in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99):
        keep = prob >= thr
        graph = coo_matrix((np.ones(keep.sum()), (left[keep], right[keep])), shape=(n, n))
        labels = connected_components(graph, directed=False)[1]
        q = pairwise_quality(labels, np.array(truth))
        print(f"  at {thr:4.2f}: precision {q['precision']:.4f}  recall {q['recall']:.4f}")


def bench_scoring(n_history: int) -> None:
    from closeloop.leads.clean import CleanRules, clean_leads
    from closeloop.leads.dedupe import dedupe_leads
    from closeloop.leads.synthetic import synthetic_calls, synthetic_leads
    from closeloop.leads.train import train_and_score

    raw = synthetic_leads(n_history, seed=3)
    merged = dedupe_leads(clean_leads(raw, CleanRules(default_country="US"))).merged
    as_of = datetime(2025, 7, 15, tzinfo=UTC)
    calls = synthetic_calls(merged, as_of, seed=3)
    t = time.perf_counter()
    run = train_and_score(merged, calls, as_of)
    total = time.perf_counter() - t
    for r in run.reports:
        print(f"  held out: {r.name:20s} AUC {r.auc:.3f} [{r.auc_low:.3f}-{r.auc_high:.3f}]  ECE {r.ece:.3f}  "
              f"lift@10% {r.lift_top_decile:.2f}")
    if run.auc_gain:
        print(f"  AUC gain over source-only: {run.auc_gain[0]:+.3f} [{run.auc_gain[1]:+.3f}, {run.auc_gain[2]:+.3f}]")
    from closeloop.leads.train import History, lead_features

    live = lead_features(merged, History([None] * merged.num_rows, [None] * merged.num_rows,
                                         [0] * merged.num_rows), as_of)
    t = time.perf_counter()
    p = run.model.predict(live)
    run.model.tiers(p)
    scored = time.perf_counter() - t
    t = time.perf_counter()
    run.model.reasons({k: v[:20_000] for k, v in live.items()})
    explained = time.perf_counter() - t
    print(f"scoring: evaluate + train + score + explain {merged.num_rows:,} leads in {total:.1f} s; "
          f"probability + tier {merged.num_rows / scored:,.0f} leads/s; "
          f"reason codes {20_000 / explained:,.0f} leads/s")


def bench_attributes(n: int, n_attributes: int, threads: int) -> None:
    """Planted leads with typed attributes: closeloop's scorer beside a tuned HistGradientBoosting."""
    import resource

    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from closeloop.leads.attributes import type_attributes
    from closeloop.leads.features import attribute_features
    from closeloop.leads.planted import planted_leads
    from closeloop.leads.scoring import fit_encoding, take, time_split
    from closeloop.leads.train import fit_and_evaluate

    t = time.perf_counter()
    pl = planted_leads(n, n_attributes, seed=11)
    made = time.perf_counter() - t
    t = time.perf_counter()
    typed = type_attributes(pl.leads, {"lead_id", "created_at", "source"})
    created = [datetime.fromisoformat(c) for c in pl.leads.column("created_at").to_pylist()]
    cols, cat, notes = attribute_features(typed, pl.leads.column("lead_id").to_pylist(), created)
    typing = time.perf_counter() - t
    cols["source"] = np.asarray(pl.leads.column("source").to_pylist(), dtype=object)
    cat = ["source", *cat]
    print(f"attributes: {n:,} leads x {pl.leads.num_columns - 3} text columns generated in {made:.1f} s, "
          f"typed + featurised in {typing:.1f} s ({n * (pl.leads.num_columns - 3) / typing:,.0f} values/s); "
          f"{typed.rejects.num_rows:,} rejected values")
    t = time.perf_counter()
    fit = fit_and_evaluate(cols, pl.y, cat, seed=0, threads=threads)
    fitted = time.perf_counter() - t
    model = fit.model
    live = {k: cols[k] for k in model.encoding.names}
    t = time.perf_counter()
    p = model.predict(live)
    model.tiers(p)
    scored = time.perf_counter() - t
    k = min(n, 100_000)
    t = time.perf_counter()
    model.reasons({c: v[:k] for c, v in live.items()})
    explained = time.perf_counter() - t
    for r in fit.reports:
        print(f"  held out: {r.name:20s} AUC {r.auc:.4f} [{r.auc_low:.4f}-{r.auc_high:.4f}]  Brier {r.brier:.4f}  "
              f"ECE {r.ece:.4f}  lift@10% {r.lift_top_decile:.2f}")
    excluded = ", ".join(f"{x.feature} ({x.reason.split(':')[0]})" for x in notes + fit.notes)
    print(f"  features used {len(model.encoding.names)}; not used: {excluded}")
    print(f"  closeloop: evaluate + final fit {fitted:.1f} s ({threads} thread(s), {model.params}); "
          f"probability + tier {n / scored:,.0f} leads/s; reasons {k / explained:,.0f} leads/s")
    # The peer: HistGradientBoosting, given the columns closeloop used and the same time split.
    train, test = time_split(n, 0.3)
    enc = fit_encoding(take(live, train), [c for c in cat if c in live])
    x_train, x_test = enc.encode(take(live, train)), enc.encode(take(live, test))
    mask = np.array([c in enc.categorical for c in enc.names])
    from threadpoolctl import threadpool_limits

    t = time.perf_counter()
    with threadpool_limits(limits=threads, user_api="openmp"):  # the same threads as LightGBM gets
            hgb = HistGradientBoostingClassifier(max_iter=1000, learning_rate=0.1, max_leaf_nodes=31,
                                             l2_regularization=1.0,
                                             early_stopping=True, validation_fraction=0.2, n_iter_no_change=40,
                                             categorical_features=mask, random_state=0).fit(x_train, pl.y[train])
    hgb_s = time.perf_counter() - t
    hgb_auc = roc_auc_score(pl.y[test], hgb.predict_proba(x_test)[:, 1])
    ours = fit.reports[0].auc
    oracle = roc_auc_score(pl.y[test], pl.p_true[test])
    print(f"  peer HistGradientBoosting (same columns and split, early stopping, {hgb.n_iter_} iterations): "
          f"AUC {hgb_auc:.4f}, fit {hgb_s:.1f} s; closeloop - peer = {ours - hgb_auc:+.4f} (target >= -0.01); "
          f"oracle (true probabilities) {oracle:.4f}")
    # Head to head, one fit each with the same settings (31 leaves, rate 0.1, early stopping on the
    # newest 20% of the training leads): which library to use.
    import lightgbm as lgb

    cut = int(len(x_train) * 0.8)
    cat_idx = [j for j, c in enumerate(enc.names) if c in enc.categorical]
    params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.1, "lambda_l2": 1.0, "verbose": -1,
              "num_threads": threads, "seed": 0, "metric": "auc", "min_data_in_leaf": 20}
    t = time.perf_counter()
    ds = lgb.Dataset(x_train[:cut], pl.y[train][:cut], categorical_feature=cat_idx, params=params)
    vs = lgb.Dataset(x_train[cut:], pl.y[train][cut:], reference=ds, categorical_feature=cat_idx, params=params)
    booster = lgb.train(params, ds, 1000, valid_sets=[vs], callbacks=[lgb.early_stopping(40, verbose=False)])
    lgb_s = time.perf_counter() - t
    lgb_auc = roc_auc_score(pl.y[test], booster.predict(x_test))
    print(f"  head to head, same settings: LightGBM AUC {lgb_auc:.4f} in {lgb_s:.1f} s ({booster.best_iteration} "
          f"rounds) vs HistGradientBoosting AUC {hgb_auc:.4f} in {hgb_s:.1f} s; speed ratio {hgb_s / lgb_s:.2f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory (max RSS of this process) {peak:,.0f} MiB")


def _worker(url: str, campaign: str, name: str, count: int, ready: object, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from closeloop.ops import LeadQueue, OpsStore

    with OpsStore(url, pool_size=1) as store:
        queue = LeadQueue(store)
        queue.peek(campaign, limit=1)  # connect before the clock starts
        queue.claim(f"{campaign}-empty", name, at=T0, count=count)  # and prepare the claim on its connection
        backend = None
        if store.dialect == "postgresql":  # the server process serving this worker's claims (pool of one)
            pooled = store.statement_engine.raw_connection()
            backend = pooled.driver_connection.execute("SELECT pg_backend_pid()").fetchone()[0]
            pooled.close()
        out.put(backend)
        mine: list[str] = []
        ready.wait()  # type: ignore[attr-defined]
        cpu = time.process_time()
        while True:
            got = queue.claim(campaign, name, at=T0, count=count)
            if not got:
                break
            mine.extend(i["lead_id"] for i in got)
        cpu = time.process_time() - cpu
        ready.wait()  # type: ignore[attr-defined]  # everyone done; connections still open for the CPU reading
    out.put((mine, cpu))


def _backend_cpu(pids: list[int | None]) -> float | None:
    """CPU seconds (user + system) the PostgreSQL backends used so far; None if not all are local processes."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def bench_claims(url: str, label: str, n: int, workers: int, count: int) -> None:
    """8 processes claim until the queue is empty; every lead must have been taken exactly once.

    The clock runs from a barrier every worker has reached (imported, connected, claim prepared)
    to one every worker reaches after its last, empty claim. CPU per claim is measured apart:
    the workers' own process time, and (local server) the CPU of the backends serving them, so
    the figure can be read against what the machine had: here workers and server share its cores.
    """
    from closeloop.ops import LeadQueue, OpsStore

    campaign = f"bench-{uuid.uuid4().hex[:8]}"
    with OpsStore(url) as store:
        LeadQueue(store).enqueue(campaign, [
            {"lead_id": f"L{i:07d}", "created_at": T0 - timedelta(seconds=i), "score": (i % 997) / 997,
             "tier": "ABCD"[i % 4]} for i in range(n)], at=T0)
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    ready = ctx.Barrier(workers + 1)
    procs = [ctx.Process(target=_worker, args=(url, campaign, f"w{i}", count, ready, out)) for i in range(workers)]
    for p in procs:
        p.start()
    backends = [out.get() for _ in procs]
    load = os.getloadavg()[0]
    ready.wait()  # every worker imported, connected and prepared: start the clock
    start, server = time.perf_counter(), _backend_cpu(backends) if url.startswith("postgresql") else None
    ready.wait()  # every worker found the queue empty
    elapsed = time.perf_counter() - start
    if server is not None:
        after = _backend_cpu(backends)
        server = None if after is None else after - server
    taken = [out.get() for _ in procs]
    for p in procs:
        p.join()
    flat = [x for mine, _ in taken for x in mine]
    doubles = len(flat) - len(set(flat))
    claims = len(flat) / count
    cpu = f"client CPU {sum(c for _, c in taken) / claims * 1e3:.2f} ms/claim"
    if server is not None:
        cpu += f", server CPU {server / claims * 1e3:.2f} ms/claim"
    print(f"{label:10s} {workers} workers, {count:2d} per claim: {len(flat):,} leads in {elapsed:.1f} s = "
          f"{len(flat) / elapsed:,.0f} leads/s ({claims / elapsed:,.0f} claims/s); "
          f"double assignments {doubles}; missed {n - len(set(flat))}; {cpu}; load {load:.1f}")


def _pg_url() -> str | None:
    url = os.environ.get("CLOSELOOP_TEST_PG_URL")
    env = ROOT / ".ci" / "pg.env"
    if not url and env.is_file():
        for line in env.read_text().splitlines():
            if line.startswith("CLOSELOOP_TEST_PG_URL="):
                url = line.split("=", 1)[1].strip()
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--dup-rate", type=float, default=0.06)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--history", type=int, default=100_000, help="leads in the scoring history")
    ap.add_argument("--claims", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--pg-url", help="PostgreSQL URL for the claims (default: CLOSELOOP_TEST_PG_URL or .ci/pg.env), "
                    "e.g. over the Unix socket: postgresql+psycopg://closeloop@/closeloop_test?host=/tmp&port=54329")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--attr-leads", type=int, default=1_000_000, help="planted leads for the attributes benchmark")
    ap.add_argument("--attributes", type=int, default=40, help="extra columns per planted lead")
    ap.add_argument("--threads", type=int, default=1, help="threads for the boosted models")
    ap.add_argument("--only", choices=["intake", "scoring", "claims", "attributes"])
    args = ap.parse_args()
    print(f"closeloop leads benchmark on {os.cpu_count()} cores")
    if args.only in (None, "intake"):
        bench_intake(args.leads, args.dup_rate, args.jobs, args.threshold)
    if args.only in (None, "scoring"):
        bench_scoring(args.history)
    if args.only in (None, "attributes"):
        bench_attributes(args.attr_leads, args.attributes, args.threads)
    if args.only in (None, "claims"):
        url = args.pg_url or _pg_url()
        if url and not args.skip_pg:
            import sqlalchemy

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            engine = sqlalchemy.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
            try:
                pg = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
                bench_claims(pg, "postgresql", args.claims, args.workers, 1)
                bench_claims(pg, "postgresql", args.claims, args.workers, 10)
            finally:
                with engine.begin() as conn:
                    conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
                engine.dispose()
        else:
            print("postgresql: skipped (no CLOSELOOP_TEST_PG_URL / .ci/pg.env)")
        if not args.skip_sqlite:
            with tempfile.TemporaryDirectory() as tmp:
                sq = f"sqlite:///{tmp}/ops.sqlite"
                bench_claims(sq, "sqlite", args.claims, args.workers, 1)
                bench_claims(sq, "sqlite", args.claims, args.workers, 10)


if __name__ == "__main__":
    main()
