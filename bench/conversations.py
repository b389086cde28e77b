"""Benchmark: lexical conversation detection throughput (target ≥ 5,000 transcripts/s on 2 cores).

Builds N synthetic transcripts of ~60 turns (a seeded pool of distinct calls, tiled with new
call ids), runs the full default playbook (every detector, script step, objection answer,
timing detector and per-call feature) over them in chunks, single-process and on all
cores, and compares with a naive loop that runs ``re.search`` for every phrase on every
turn (measured on a subset and reported as a rate). With the ``semantic`` extra
installed it also reports the semantic matcher's CPU throughput and which paraphrases it
catches that the phrases miss.

    python bench/conversations.py                 # 100,000 transcripts
    python bench/conversations.py --n 20000       # quicker, while developing
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import re
import time

import numpy as np

from closeloop.conversations import Detector, TurnBatch, batch_from_transcripts, default_playbook
from closeloop.conversations.synthetic import synthetic_sales_calls

CHUNK = 2000
_BATCH: TurnBatch | None = None  # shared with forked workers


def build_batch(n: int, pool: int, seed: int) -> TurnBatch:
    """``n`` calls: a pool of distinct synthetic calls repeated with fresh call ids."""
    base = batch_from_transcripts(synthetic_sales_calls(pool, np.random.default_rng(seed)).transcripts)
    reps = -(-n // pool)
    sizes = np.diff(base.bounds)
    all_sizes = np.tile(sizes, reps)[:n]
    n_turns = int(all_sizes.sum())
    bounds = np.concatenate([[0], np.cumsum(all_sizes)]).astype(np.int64)
    return TurnBatch(
        call_ids=[f"B{i:07d}" for i in range(n)],
        bounds=bounds,
        speakers=(base.speakers * reps)[:n_turns],
        start=np.tile(base.start, reps)[:n_turns],
        end=np.tile(base.end, reps)[:n_turns],
        texts=(base.texts * reps)[:n_turns],
        call_types=(base.call_types * reps)[:n],
        turn_numbers=np.tile(base.turn_numbers, reps)[:n_turns],
    )


def _run_range(bounds: tuple[int, int]) -> int:
    detector = Detector(default_playbook())
    assert _BATCH is not None
    events = 0
    for lo in range(bounds[0], bounds[1], CHUNK):
        events += detector.run(_BATCH.slice(lo, min(lo + CHUNK, bounds[1]))).n_events
    return events


def lexical(batch: TurnBatch, workers: int) -> tuple[float, int]:
    """Seconds to detect over the whole batch with ``workers`` processes, and events found."""
    global _BATCH
    _BATCH = batch
    t0 = time.perf_counter()
    if workers == 1:
        events = _run_range((0, batch.n_calls))
    else:
        edges = np.linspace(0, batch.n_calls, workers + 1).astype(int)
        with mp.get_context("fork").Pool(workers) as pool:
            events = sum(pool.map(_run_range, list(itertools.pairwise(edges.tolist()))))
    return time.perf_counter() - t0, events


def naive(batch: TurnBatch, n_calls: int) -> float:
    """Transcripts/s of a per-phrase ``re.search`` loop over every turn (phrase detection only)."""
    pb = default_playbook()
    phrases = [p for c in (*pb.detectors, *pb.steps) for p in c.phrases]
    regexes = [re.compile(r"\b" + re.escape(p) + r"\b", re.IGNORECASE) for p in phrases]
    t0 = time.perf_counter()
    found = 0
    for i in range(n_calls):
        for k in range(int(batch.bounds[i]), int(batch.bounds[i + 1])):
            text = batch.texts[k]
            for rx in regexes:
                if rx.search(text):
                    found += 1
    return n_calls / (time.perf_counter() - t0)


PARAPHRASES = [
    ("price_objection", "Honestly, that's way over what we budgeted for."),
    ("price_objection", "Hmm, I was hoping to pay a lot less than that."),
    ("confusion", "Hang on, I really can't follow what you're describing."),
    ("gives_up", "Let's just drop it, I don't have the energy for this today."),
    ("competitor", "The other company down the road is offering me the same thing for less."),
    ("none", "Yes, the address is 14 Elm Street."),
    ("none", "We mostly stream films in the evening."),
]


def semantic(batch: TurnBatch, n_calls: int) -> None:
    """Semantic matching throughput on CPU and a paraphrase check (needs closeloop[semantic])."""
    try:
        from closeloop.conversations.semantic import SemanticMatcher, load_encoder

        t0 = time.perf_counter()
        encode = load_encoder()
        load_s = time.perf_counter() - t0
    except Exception as exc:  # report whatever stops the optional path
        print(f"semantic: not available here ({exc})")
        return
    pb = default_playbook()
    detector = Detector(pb, semantic=SemanticMatcher(encode, pb.settings.semantic_threshold))
    import torch

    print(f"semantic: model loaded in {load_s:.1f} s (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    sub = batch.slice(0, n_calls)
    detector.run(sub.slice(0, 5))  # warm up
    t0 = time.perf_counter()
    found = detector.run(sub)
    dt = time.perf_counter() - t0
    sem_rows = [(k, e) for k, e, m in zip(found.events["kind"], found.events["evidence"], found.events["method"],
                                         strict=True) if m == "semantic"]
    print(f"semantic: {n_calls / dt:,.1f} transcripts/s on CPU with this pool's repeated lines embedded once "
          f"({sub.n_turns / dt:,.0f} turns/s; {len(sem_rows)} extra semantic moments in {n_calls} calls: "
          f"{sorted(set(sem_rows))[:6]})")
    distinct = [f"{text} Reference {i}." for i, text in enumerate(batch.texts[:2000])]
    t0 = time.perf_counter()
    encode(distinct)
    rate = len(distinct) / (time.perf_counter() - t0)
    eligible = sum(len(t.split()) >= 3 for t in sub.texts) / n_calls
    print(f"semantic: encoder {rate:,.0f} distinct sentences/s on CPU -> about {rate / eligible:,.1f} transcripts/s "
          f"when every turn is distinct ({eligible:.0f} turns of 3+ words per transcript)")
    from closeloop.conversations import Transcript, Turn

    calls = [Transcript(f"P{i}", (Turn("agent", 0, 1, "The price is forty dollars per month."),
                                  Turn("customer", 1, 2, text)), "sales") for i, (_, text) in enumerate(PARAPHRASES)]
    lex = Detector(pb).run(batch_from_transcripts(calls))
    sem = detector.run(batch_from_transcripts(calls))
    for i, (want, text) in enumerate(PARAPHRASES):
        def kinds(d, i=i):
            return sorted({k for c, k, cat in zip(d.events["call_id"], d.events["kind"], d.events["category"],
                                                  strict=True) if c == f"P{i}" and cat == "detector"
                           and not k.startswith("unanswered")})
        print(f"  {want:16s} lexical={kinds(lex)!s:22s} semantic={kinds(sem)!s:34s} {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="transcripts to scan")
    parser.add_argument("--pool", type=int, default=2_000, help="distinct synthetic calls to tile")
    parser.add_argument("--naive-n", type=int, default=200, help="transcripts for the naive baseline")
    parser.add_argument("--semantic-n", type=int, default=100, help="transcripts for the semantic path")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    t0 = time.perf_counter()
    batch = build_batch(args.n, args.pool, args.seed)
    print(f"built {batch.n_calls:,} transcripts, {batch.n_turns:,} turns "
          f"({batch.n_turns / batch.n_calls:.0f} turns each) in {time.perf_counter() - t0:.1f} s")
    cores = os.cpu_count() or 1
    one_s, events = lexical(batch, 1)
    rate1 = batch.n_calls / one_s
    print(f"lexical, 1 process : {rate1:,.0f} transcripts/s ({batch.n_turns / one_s:,.0f} turns/s, {events:,} moments)")
    rate = rate1
    if cores > 1:
        all_s, events_all = lexical(batch, cores)
        rate = batch.n_calls / all_s
        assert events_all == events
        print(f"lexical, {cores} processes: {rate:,.0f} transcripts/s")
    naive_rate = naive(batch, args.naive_n)
    print(f"naive re.search per phrase per turn (1 process, {args.naive_n} transcripts): "
          f"{naive_rate:,.1f} transcripts/s")
    print(f"ratio lexical/naive: {rate1 / naive_rate:,.0f}x single-process, {rate / naive_rate:,.0f}x all cores")
    best = max(rate1, rate)
    print(f"target >= 5,000 transcripts/s: {'met' if best >= 5000 else 'NOT met'} (best {best:,.0f})")
    semantic(batch, args.semantic_n)


if __name__ == "__main__":
    main()
