"""Generate the demo quarter: two simulator passes, leads, transcripts, contracts — records only.

Pure: returns Arrow tables and text; :mod:`closeloop.demo.build` writes and ingests them.
The contact fields of the leads do not affect any outcome, so they are drawn in a second
process while the simulator runs (the machine has more than one core, the simulator uses
one).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.demo import followups, leads, operation
from closeloop.demo.contracts import contracts_toml
from closeloop.demo.params import DemoParams
from closeloop.demo.transcripts import EVENTS, transcript_lines
from closeloop.sim.records import agents_table, centers_table
from closeloop.sim.runner import RunResult, run_once
from closeloop.sim.traffic import SERVED

Step = Callable[[str], None]


@dataclass
class DemoData:
    """The demo's records, in canonical schemas (leads carry ``true_person``), and what was planted."""

    centers: pa.Table
    agents: pa.Table
    leads: pa.Table
    calls: pa.Table
    transcripts: list[str]
    contracts: str
    facts: dict[str, object] = field(default_factory=dict)


def _noop(_: str) -> None:
    return None


def generate(p: DemoParams, step: Step = _noop, parallel: bool = True) -> DemoData:
    """Simulate the quarter and assemble every record (``step`` is told as each stage starts)."""
    step("simulating the quarter")
    s = operation.scenario(p)
    plan = leads.plan_leads(s, p)
    leads.attach(s, plan)
    pool = ProcessPoolExecutor(max_workers=1) if parallel else None
    try:
        contacts_f: Future[pa.Table] | None = pool.submit(leads.contact_fields, len(plan), p.seed) if pool else None
        first = run_once(s)
        calls1 = first.calls()
        step("simulating follow-ups")
        s2 = operation.followup_scenario(p)
        rng = np.random.default_rng(np.random.SeedSequence([p.seed, 0xF0]))
        s2.queues[0].leads = followups.followup_leads(
            calls1, int(s.start.timestamp() * 1_000_000), s.horizon_s, plan.quality_of(),
            p.effects.followup_decay_per_day, rng)
        second = run_once(s2)
        calls2 = second.calls()
        step("writing transcripts")
        calls = pa.concat_tables([calls1, calls2])
        calls = calls.take(pc.sort_indices(calls, [("offered_at", "ascending"), ("call_id", "ascending")]))
        lines, n_answered = _transcripts(p, calls, [first, second])
        contacts = contacts_f.result() if contacts_f else leads.contact_fields(len(plan), p.seed)
    finally:
        if pool:
            pool.shutdown()
    agents = pa.concat_tables([agents_table(first.world), agents_table(second.world)])
    facts = {"calls": calls.num_rows, "leads": len(plan), "agents": agents.num_rows,
             "answered_sales_calls": n_answered, "transcripts": len(lines),
             "followups_scheduled": len(s2.queues[0].leads or [])}
    return DemoData(centers_table(first.world), agents, leads.leads_table(s, plan, contacts, p.seed), calls, lines,
                    contracts_toml(), facts)


def _events_by_call(run: RunResult) -> dict[str, tuple[bool, ...]]:
    """Conversation events of each answered sales call of a run, by call id."""
    jobs, out = run.jobs, run.outcomes
    if not out.events:
        return {}
    served = np.flatnonzero(jobs.array("status") == SERVED)
    q, root, att = jobs.array("q")[served], jobs.array("root")[served], jobs.array("att")[served]
    sales = np.array([sq.call_type == "sales" for sq in run.world.scenario.queues])[q]
    keep = served[sales]
    names = [sq.name for sq in run.world.scenario.queues]
    flags = np.stack([out.events[e][keep] for e in EVENTS], axis=1).tolist()
    ids = [f"{names[a]}-{r:07d}" + (f"-r{k}" if k else "") for a, r, k in zip(q[sales].tolist(), root[sales].tolist(),
                                                                               att[sales].tolist(), strict=True)]
    return {cid: tuple(f) for cid, f in zip(ids, flags, strict=True)}


def _transcripts(p: DemoParams, calls: pa.Table, runs: list[RunResult]) -> tuple[list[str], int]:
    """JSON lines for all answered sales calls (small) or a seeded sample of them."""
    answered = calls.filter(pc.and_(pc.equal(calls["call_type"], "sales"), pc.is_valid(calls["answered_at"])))
    n = answered.num_rows
    rng = np.random.default_rng(np.random.SeedSequence([p.seed, 0x7A1C]))
    k = p.scale.transcripts
    if k and k < n:
        answered = answered.take(pa.array(np.sort(rng.choice(n, size=k, replace=False))))
    events: dict[str, tuple[bool, ...]] = {}
    for r in runs:
        events.update(_events_by_call(r))
    ids = answered["call_id"].to_pylist()
    none = (False,) * len(EVENTS)
    flags = np.array([events.get(c, none) for c in ids], dtype=bool).reshape(len(ids), len(EVENTS))
    talk = (pc.cast(answered["ended_at"], pa.int64()).to_numpy() - pc.cast(answered["answered_at"], pa.int64())
            .to_numpy()) / 1e6
    lines = transcript_lines(ids, answered["outcome"].to_pylist(), answered["direction"].to_pylist(),
                             answered["agent_id"].to_pylist(), talk,
                             {e: flags[:, j] for j, e in enumerate(EVENTS)}, rng)
    return lines, n


__all__ = ["DemoData", "generate"]
