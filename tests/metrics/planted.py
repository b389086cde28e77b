"""Seeded synthetic operations with a planted effect, written straight into a warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from closeloop.model import AGENTS, CALLS, CENTERS, LEADS
from closeloop.warehouse import Warehouse
from tests.metrics.fixtures import load

SOURCE_RATE = {"web": 0.30, "partner": 0.20, "list": 0.06}


def planted_warehouse(
    seed: int, mix: dict[str, dict[str, float]], skill: dict[str, float], calls_per_center: int = 3000,
    agents_per_center: int = 8,
) -> Warehouse:
    """Two or more centers whose close rate = SOURCE_RATE[source] x skill[center].

    ``mix[center]`` gives each lead source's share of that center's sales calls. With
    equal ``skill`` any raw gap is pure mix; with unequal skill it is (partly) genuine.
    """
    rng = np.random.default_rng(seed)
    wh = Warehouse()
    centers = [{"center_id": c, "vendor": f"v-{c}", "country": "PH", "timezone": "UTC", "name": c} for c in mix]
    load(wh, "centers", centers, CENTERS.arrow_schema())
    agents, leads, calls = [], [], []
    t0 = datetime(2024, 5, 6, 8, tzinfo=UTC)
    for c, shares in mix.items():
        ids = [f"{c}-a{i}" for i in range(agents_per_center)]
        agents += [{"agent_id": a, "center_id": c, "skills": "sales:5", "team": f"{c}-team"} for a in ids]
        sources = rng.choice(list(shares), size=calls_per_center, p=list(shares.values()))
        for i, src in enumerate(sources):
            lead, start = f"{c}-L{i}", t0 + timedelta(seconds=int(rng.integers(0, 14 * 86400)))
            sold = rng.random() < SOURCE_RATE[src] * skill[c]
            leads.append({"lead_id": lead, "created_at": t0, "source": str(src), "product": "p"})
            calls.append({
                "call_id": f"{c}-{i}", "center_id": c, "queue": "sales", "direction": "outbound",
                "call_type": "sales", "offered_at": start, "answered_at": start + timedelta(seconds=5),
                "ended_at": start + timedelta(seconds=300), "agent_id": str(rng.choice(ids)), "lead_id": lead,
                "hold_s": 0.0, "wrap_s": 30.0, "outcome": "sale" if sold else "no_sale",
                "order_value": 100.0 if sold else None, "csat": None,
            })
    load(wh, "agents", agents, AGENTS.arrow_schema())
    load(wh, "leads", leads, LEADS.arrow_schema())
    load(wh, "calls", calls, CALLS.arrow_schema())
    return wh
