"""Pinebrook's leads: who calls in or is dialled, from which source, and how likely to buy.

The *plan* (id, source, quality, when created and when ready to be called, which queue)
is drawn here, vectorised, before the simulation, because lead quality enters the sale
model. The contact fields (name, phone, e-mail, company, country, with their defects and
planted duplicates of the same person) come from :func:`closeloop.leads.synthetic.synthetic_leads`
— they do not affect outcomes, so the demo draws them while the simulator runs.

Mix (effect 1): inbound pre-sales callers come from every source alike, whichever site
the call lands on; the in-house outbound campaign works warm leads (trade shows, partner
referrals, web forms) and the offshore one purchased lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from closeloop.demo.operation import SALES_DAYS, SALES_SHAPE
from closeloop.demo.params import DemoParams
from closeloop.sim.scenario import Lead, QueueSpec, Scenario
from closeloop.sim.traffic import poisson_times, rate_grid

SOURCES = ("web_form", "trade_show", "partner_referral", "purchased_list")
INBOUND_MIX = (0.50, 0.15, 0.20, 0.15)
OUTBOUND_MIX = {"outbound_us": (0.35, 0.45, 0.20, 0.0), "outbound_ph": (0.15, 0.0, 0.0, 0.85)}
OUTBOUND_PEAK = {"outbound_us": 24.0, "outbound_ph": 40.0}  # new leads per hour at the daily peak, full scale
# Mean days from a lead's creation to its call (inbound callers) or to being ready to dial (outbound).
LEAD_AGE_DAYS = (0.3, 8.0, 3.0, 20.0)
QUALITY_SD = 0.4
PRODUCTS = ("laser printer", "office router", "desk phone system", "network storage", "managed print plan")
PRODUCT_MIX = (0.3, 0.25, 0.2, 0.15, 0.1)


@dataclass
class LeadPlan:
    """Every lead of the quarter, column-wise (seconds are from the scenario start)."""

    lead_id: np.ndarray
    source: np.ndarray  # index into SOURCES
    quality: np.ndarray
    created_s: np.ndarray
    ready_s: np.ndarray
    queue: np.ndarray  # queue name it is called on
    product: np.ndarray  # index into PRODUCTS

    def __len__(self) -> int:
        return len(self.lead_id)

    def quality_of(self) -> dict[str, float]:
        """Lead id -> quality (for the follow-up pass)."""
        return dict(zip(self.lead_id.tolist(), self.quality.tolist(), strict=True))


def _times(s: Scenario, peak: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times on the sales daily profile, via the simulator's own traffic functions."""
    q = QueueSpec("tmp", rate_per_hour=[peak * x for x in SALES_SHAPE], day_factors=list(SALES_DAYS), busyness_sd=0.1)
    return poisson_times(rate_grid(s, q, rng), s.horizon_s, rng)


def plan_leads(s: Scenario, p: DemoParams) -> LeadPlan:
    """Draw the leads of every pre-sales queue (callers) and outbound campaign (dial list)."""
    rng = np.random.default_rng(np.random.SeedSequence([p.seed, 0x1EAD]))
    size = p.scale.size
    quality_by_source = np.array([p.effects.source_quality[src] for src in SOURCES])
    parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []  # queue, ready, created, source
    for q in s.queues:
        if q.direction == "inbound" and q.call_type == "sales":
            ready = poisson_times(rate_grid(s, q, rng), s.horizon_s, rng)
            src = rng.choice(len(SOURCES), size=len(ready), p=INBOUND_MIX)
            created = ready - rng.exponential(np.array(LEAD_AGE_DAYS)[src] * 86400.0)
        elif q.name in OUTBOUND_MIX:
            created = _times(s, OUTBOUND_PEAK[q.name] * size, rng)
            src = rng.choice(len(SOURCES), size=len(created), p=OUTBOUND_MIX[q.name])
            ready = created + rng.exponential(1800.0, len(created))
            # purchased lists are bought in batches: the record is older than the day it is worked
            created = np.where(src == 3, created - rng.uniform(0, 30 * 86400.0, len(created)), created)
        else:
            continue
        parts.append((q.name, ready, created, src))
    queue = np.concatenate([np.full(len(r), name, dtype=object) for name, r, _, _ in parts])
    ready = np.concatenate([r for _, r, _, _ in parts])
    created = np.concatenate([c for _, _, c, _ in parts])
    source = np.concatenate([x for _, _, _, x in parts]).astype(np.int64)
    s2 = math.log1p(QUALITY_SD**2)
    product = rng.choice(len(PRODUCTS), len(source), p=PRODUCT_MIX)
    product_quality = np.array([p.effects.product_quality[name] for name in PRODUCTS])
    age_weeks = np.maximum(ready - created, 0.0) / (7 * 86400.0)
    quality = (quality_by_source[source] * product_quality[product] * p.effects.age_decay_per_week**age_weeks
               * rng.lognormal(-s2 / 2, math.sqrt(s2), len(source)))
    order = np.lexsort((ready, created))
    n = len(order)
    ids = np.array([f"L{i:07d}" for i in range(n)], dtype=object)
    return LeadPlan(ids, source[order], quality[order], created[order], ready[order], queue[order], product[order])


def attach(s: Scenario, plan: LeadPlan) -> None:
    """Give each pre-sales queue and outbound campaign its leads (``Lead`` objects)."""
    by_queue: dict[str, list[Lead]] = {}
    for lid, ready, quality, src, q in zip(plan.lead_id.tolist(), plan.ready_s.tolist(), plan.quality.tolist(),
                                           plan.source.tolist(), plan.queue.tolist(), strict=True):
        by_queue.setdefault(q, []).append(Lead(lid, ready, quality, SOURCES[src]))
    for q in s.queues:
        if q.name in by_queue:
            q.leads = by_queue[q.name]


def contact_fields(n: int, seed: int) -> pa.Table:
    """Names, phones, e-mails, companies and countries of ``n`` leads, with defects and planted duplicates.

    Rows come from :func:`closeloop.leads.synthetic.synthetic_leads`; ``true_person`` names
    the person behind each row, so deduplication can be scored on the demo.
    """
    from closeloop.leads.synthetic import synthetic_leads

    t = synthetic_leads(n, dup_rate=0.06, seed=seed)
    return t.select(["name", "phone", "email", "company", "country", "true_person"])


def leads_table(s: Scenario, plan: LeadPlan, contacts: pa.Table, seed: int) -> pa.Table:
    """Canonical leads (plus ``true_person``): the plan's ids, times and sources, the contact fields."""
    base = int(s.start.timestamp() * 1_000_000)
    created = pa.array(base + np.rint(plan.created_s * 1e6).astype(np.int64), pa.int64()).cast(
        pa.timestamp("us", tz="UTC"))
    product = np.array(PRODUCTS, dtype=object)[plan.product]
    cols = {
        "lead_id": pa.array(plan.lead_id, pa.string()),
        "created_at": created,
        "source": pa.array(np.array(SOURCES, dtype=object)[plan.source], pa.string()),
        "name": contacts["name"], "phone": contacts["phone"], "email": contacts["email"],
        "company": contacts["company"], "product": pa.array(product, pa.string()), "country": contacts["country"],
        "true_person": contacts["true_person"],
    }
    return pa.table(cols)


__all__ = ["SOURCES", "LeadPlan", "attach", "contact_fields", "leads_table", "plan_leads"]
