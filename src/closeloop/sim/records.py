"""A run as canonical records: calls (and centers, agents, leads) in the ingestion schemas.

The tables have exactly the Arrow schemas of :mod:`closeloop.model`, so a simulated run
loads into a workspace with ``ingest_arrow`` and is analysed by the same scorecards as
real traffic. Call ids are ``{queue}-{caller:07d}`` (``-r{k}`` for the k-th retry), the
same whatever engine or order produced them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from closeloop.model import AGENTS, CALLS, CENTERS, LEADS, format_skills
from closeloop.sim.outcomes import OUTCOME_NAMES, Outcomes
from closeloop.sim.traffic import NO_ANSWER, OVERFLOWED, SERVED, WAITING, Jobs
from closeloop.sim.world import World


def _ts(world: World, seconds: np.ndarray) -> pa.Array:
    base = int(world.scenario.start.timestamp() * 1_000_000)
    us = base + np.rint(np.nan_to_num(seconds) * 1e6).astype(np.int64)
    return pa.array(us, type=pa.int64(), mask=np.isnan(seconds)).cast(pa.timestamp("us", tz="UTC"))


def calls_table(world: World, jobs: Jobs, out: Outcomes) -> pa.Table:
    """One row per finished attempt (calls still waiting at the end are not calls yet; a caller
    who overflowed is one call, in the queue it moved to, offered when it moved)."""
    s = world.scenario
    status = jobs.array("status")
    keep = np.flatnonzero((status != WAITING) & (status != OVERFLOWED))
    q = jobs.array("q")[keep]
    root, att = jobs.array("root")[keep], jobs.array("att")[keep]
    agent = jobs.array("agent")[keep]
    st = status[keep]
    outbound = np.array(world.outbound)[q]
    start, answer = jobs.array("start")[keep], jobs.array("answer")[keep]
    offered = np.where(outbound, start, jobs.array("arrive")[keep])
    served = st == SERVED
    answer = np.where(served, answer, np.nan)
    qnames = [qq.name for qq in s.queues]
    default_center = [qq.center or s.centers[0].center_id for qq in s.queues]
    agent_ids = [a.agent_id for a in s.agents]
    agent_center = [a.center_id for a in s.agents]
    call_id = [f"{qnames[a]}-{r:07d}" + (f"-r{k}" if k else "") for a, r, k in zip(q.tolist(), root.tolist(),
                                                                                     att.tolist(), strict=True)]
    code = out.code[keep]
    unanswered = np.where(st == NO_ANSWER, "no_answer", np.where(outbound, "no_answer", "abandoned"))
    names = np.array(OUTCOME_NAMES)
    outcome = np.where(code >= 0, names[np.maximum(code, 0)], unanswered)
    lead = jobs.root_lead[root]
    lead_ids = np.array([*jobs.leads.lead_id, ""], dtype=object)[np.where(lead >= 0, lead, len(jobs.leads.lead_id))]
    value = out.value[keep]
    csat = out.csat[keep]
    cols = {
        "call_id": pa.array(call_id, pa.string()),
        "center_id": pa.array([agent_center[a] if a >= 0 else default_center[qi]
                               for a, qi in zip(agent.tolist(), q.tolist(), strict=True)], pa.string()),
        "queue": pa.array(np.array(qnames, dtype=object)[q], pa.string()),
        "direction": pa.array(np.where(outbound, "outbound", "inbound"), pa.string()),
        "call_type": pa.array(np.array([qq.call_type for qq in s.queues], dtype=object)[q], pa.string()),
        "offered_at": _ts(world, offered),
        "answered_at": _ts(world, answer),
        "ended_at": _ts(world, jobs.array("end")[keep]),
        "agent_id": pa.array([agent_ids[a] if a >= 0 and ok else None
                              for a, ok in zip(agent.tolist(), served.tolist(), strict=True)], pa.string()),
        "lead_id": pa.array(np.where(lead >= 0, lead_ids, None), pa.string()),  # type: ignore[call-overload]  # stubs reject None
        "hold_s": pa.array(np.where(served, 0.0, np.nan), pa.float64(), from_pandas=True),
        "wrap_s": pa.array(np.where(served, jobs.array("wrap")[keep], np.nan), pa.float64(), from_pandas=True),
        "outcome": pa.array(outcome.astype(object), pa.string()),
        "order_value": pa.array(np.where(code == 0, value, np.nan), pa.float64(), from_pandas=True),
        "csat": pa.array(csat, pa.int64(), mask=csat == 0),
    }
    table = pa.table(cols, schema=CALLS.arrow_schema())
    order = np.lexsort((np.array(call_id, dtype=object), offered))
    return table.take(pa.array(order))


def centers_table(world: World) -> pa.Table:
    """The scenario's centers in the canonical CENTERS schema."""
    cs = world.scenario.centers
    return pa.table({
        "center_id": [c.center_id for c in cs], "vendor": [c.vendor for c in cs],
        "country": [c.country for c in cs], "timezone": [c.timezone for c in cs],
        "name": [c.center_id for c in cs],
    }, schema=CENTERS.arrow_schema())


def agents_table(world: World) -> pa.Table:
    """The scenario's agents in the canonical AGENTS schema."""
    ag = world.scenario.agents
    return pa.table({
        "agent_id": [a.agent_id for a in ag], "center_id": [a.center_id for a in ag],
        "skills": [format_skills(a.skills) for a in ag], "name": [None] * len(ag),
        "team": [a.home_mode for a in ag], "hired_at": pa.nulls(len(ag), pa.timestamp("us", tz="UTC")),
    }, schema=AGENTS.arrow_schema())


def leads_table(world: World, jobs: Jobs) -> pa.Table:
    """Leads of the run in the canonical LEADS schema (empty when no queue used leads)."""
    ld = jobs.leads
    n = len(ld.lead_id)
    cols: dict[str, pa.Array] = {f.name: pa.nulls(n, t.type) for f, t in zip(LEADS.fields, LEADS.arrow_schema(),
                                                                               strict=True)}
    cols["lead_id"] = pa.array(ld.lead_id, pa.string())
    cols["created_at"] = _ts(world, np.asarray(ld.created_s, dtype=float))
    cols["source"] = pa.array(ld.source, pa.string())
    return pa.table(cols, schema=LEADS.arrow_schema())
