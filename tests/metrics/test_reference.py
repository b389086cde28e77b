"""The optimised scorecard equals a plain, independent Python computation on a seeded operation.

The scorecard computes metrics in a few SQL passes (filtered counts, a per-lead aggregation,
one window for repeats, local time by DST-offset arithmetic). Here every metric's numerator
and denominator is recomputed call by call with ``zoneinfo`` local time, dicts and sorted
lists — the formulas of docs/metrics.md written the obvious way — over a seeded operation
with three time zones (two with a DST change inside the range), sub-second timestamps,
calls without leads, unsurveyed calls and leads missing capture fields. Counts must match
exactly; means and ratios to floating-point rounding (durations, taken from epoch seconds held
as doubles, to a millionth).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from closeloop.metrics import DEFAULT_METRICS, Conventions, ScorecardRequest, Selection, Tables, scorecard
from closeloop.model import AGENTS, CALLS, CENTERS, LEADS
from closeloop.warehouse import Warehouse
from tests.metrics.fixtures import load

ZONES = {"C1": "Asia/Manila", "C2": "America/New_York", "C3": "Europe/Lisbon"}
START = datetime(2026, 3, 2, tzinfo=UTC)  # both DST changes (US 8 March, EU 29 March) fall inside
DAYS = 42
TIMED = ("asa_s", "aht_s", "talk_s_per_sale")


def _operation(seed: int = 7, n_calls: int = 2500) -> dict[str, list[dict]]:
    """Centers, agents, leads and calls drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    centers = [{"center_id": c, "vendor": f"v{i % 2}", "country": "XX", "timezone": z, "name": c}
               for i, (c, z) in enumerate(ZONES.items())]
    agents = [{"agent_id": f"A{i}", "center_id": f"C{1 + i % 3}", "skills": "sales:5", "name": None,
               "team": None if i % 7 == 0 else f"T{i % 4}", "hired_at": None} for i in range(24)]
    leads = [{"lead_id": f"L{i}", "created_at": START, "source": ["web", "list", "partner"][i % 3],
              "name": "n", "phone": None if i % 9 == 0 else "p", "email": "" if i % 11 == 0 else "e",
              "company": None, "product": ["gold", "basic"][i % 2], "country": None} for i in range(400)]
    calls = []
    for i in range(n_calls):
        agent = int(rng.integers(24))
        center = f"C{1 + agent % 3}"
        sales = rng.random() < 0.6
        inbound = rng.random() < 0.7
        answered = rng.random() < 0.85
        offered = START + timedelta(seconds=float(rng.uniform(0, DAYS * 86400)))
        wait = float(rng.choice([rng.uniform(0, 6), rng.uniform(0, 90)]))
        talk = float(rng.uniform(30, 900))
        if not answered:
            outcome = "abandoned" if inbound else "no_answer"
        elif sales:
            outcome = str(rng.choice(["sale", "no_sale", "callback"], p=[0.3, 0.5, 0.2]))
        else:
            outcome = str(rng.choice(["resolved", "unresolved", "escalated"], p=[0.6, 0.3, 0.1]))
        calls.append({
            "call_id": f"K{i}", "center_id": center, "queue": "s" if sales else "c",
            "direction": "inbound" if inbound else "outbound", "call_type": "sales" if sales else "care",
            "offered_at": offered, "answered_at": offered + timedelta(seconds=wait) if answered else None,
            "ended_at": offered + timedelta(seconds=wait + (talk if answered else 0.0)),
            "agent_id": f"A{agent}" if answered else None,
            "lead_id": None if rng.random() < 0.1 else f"L{int(rng.integers(400))}",
            "hold_s": float(rng.uniform(0, 60)) if answered and rng.random() < 0.8 else None,
            "wrap_s": float(rng.uniform(0, 120)) if answered and rng.random() < 0.9 else None,
            "outcome": outcome,
            "order_value": float(rng.uniform(10, 500)) if outcome == "sale" and rng.random() < 0.9 else None,
            "csat": int(rng.integers(1, 6)) if answered and rng.random() < 0.4 else None,
        })
    return {"centers": centers, "agents": agents, "leads": leads, "calls": calls}


@pytest.fixture(scope="module")
def operation():
    data = _operation()
    wh = Warehouse(":memory:")
    for name, schema in (("centers", CENTERS), ("agents", AGENTS), ("leads", LEADS), ("calls", CALLS)):
        load(wh, name, data[name], schema.arrow_schema())
    yield wh, data
    wh.close()


def _secs(a: datetime, b: datetime) -> float:
    return (a - b).total_seconds()


def _key(call: dict, dim: str, grain: str | None) -> tuple:
    local = call["offered_at"].astimezone(ZoneInfo(ZONES[call["center_id"]])).date()
    period = [local - timedelta(days=local.weekday())] if grain == "week" else []
    return (*period, call[dim])


def reference(data: dict, dim: str, grain: str | None, conv: Conventions) -> dict[tuple, dict[str, list[float]]]:
    """``{group key: {metric: [num, den]}}`` computed call by call."""
    leads = {lead["lead_id"]: lead for lead in data["leads"]}
    out: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    per_lead: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for c in data["calls"]:
        g, m = _key(c, dim, grain), out[_key(c, dim, grain)]
        inbound, answered, sale = c["direction"] == "inbound", c["answered_at"] is not None, c["outcome"] == "sale"
        wait = _secs(c["answered_at"] or c["ended_at"], c["offered_at"])
        short = inbound and not answered and wait < conv.short_abandon_s
        hsales, hcare = answered and c["call_type"] == "sales", answered and c["call_type"] == "care"
        counts = {"offered": inbound, "handled": answered, "sales": sale}
        for name, flag in counts.items():
            m[name][0] += flag
        rates = {
            "abandon_rate": (inbound and not answered and not short, inbound and not short),
            "service_level": (inbound and answered and wait <= conv.service_level_threshold_s, inbound and not short),
            "close_rate": (sale and hsales, hsales),
            "csat_top2": (c["csat"] is not None and c["csat"] >= 4, c["csat"] is not None),
            "resolution_rate": (hcare and c["outcome"] == "resolved", hcare),
            "contacts_per_sale": (c["call_type"] == "sales", sale),
        }
        if sale:
            lead = leads.get(c["lead_id"]) or {}
            rates["data_capture"] = (all((lead.get(f) or "").strip() for f in conv.capture_fields), True)
        for name, (num, den) in rates.items():
            m[name][0] += num
            m[name][1] += den
        if inbound and answered:
            m["asa_s"][0] += wait
            m["asa_s"][1] += 1
        if answered:
            conn = _secs(c["ended_at"], c["answered_at"])
            m["aht_s"][0] += conn + (c["wrap_s"] or 0.0)
            m["aht_s"][1] += 1
            if c["csat"] is not None:
                m["csat"][0] += c["csat"]
                m["csat"][1] += 1
        if hsales:
            m["revenue_per_call"][1] += 1
            m["talk_s_per_sale"][0] += max(_secs(c["ended_at"], c["answered_at"]) - (c["hold_s"] or 0.0), 0.0)
        if sale:
            m["revenue_per_call"][0] += c["order_value"] or 0.0
            m["talk_s_per_sale"][1] += 1
        if c["lead_id"] is not None and c["call_type"] == "sales":
            per_lead[g]["touched"].add(c["lead_id"])
            for flag, name in ((sale, "sold"), (hsales, "handled")):
                if flag:
                    per_lead[g][name].add(c["lead_id"])
            if sale:
                per_lead[g]["sales"].add(c["call_id"])
    for g, sets in per_lead.items():
        out[g]["conversion_per_lead"] = [len(sets["sold"]), len(sets["handled"])]
        out[g]["leads_per_sale"] = [len(sets["touched"]), len(sets["sales"])]
    first: dict[str, dict] = {}
    for c in data["calls"]:
        lead = c["lead_id"]
        if lead is None or c["answered_at"] is None or c["call_type"] != "sales":
            continue
        if lead not in first or c["answered_at"] < first[lead]["answered_at"]:
            first[lead] = c
    for c in first.values():
        out[_key(c, dim, grain)]["first_call_close"][0] += c["outcome"] == "sale"
        out[_key(c, dim, grain)]["first_call_close"][1] += 1
    by_customer: dict[str, list[dict]] = defaultdict(list)
    for c in data["calls"]:
        if c["lead_id"] is not None:
            by_customer[c["lead_id"]].append(c)
    for calls in by_customer.values():
        calls.sort(key=lambda c: c["offered_at"])
        for c, nxt in zip(calls, [*calls[1:], None], strict=True):
            if c["answered_at"] is not None and c["call_type"] == "care":
                rep = out[_key(c, dim, grain)]["repeat_rate"]
                rep[1] += 1
                window = conv.repeat_contact_days * 86400
                rep[0] += nxt is not None and _secs(nxt["offered_at"], c["ended_at"]) <= window
    return out


@pytest.mark.parametrize(("dim", "grain"), [("center_id", "week"), ("agent_id", None)])
def test_scorecard_equals_reference(operation, dim, grain):
    wh, data = operation
    conv = Conventions()
    card = scorecard(Tables.from_backend(wh.ibis()), conv,
                     ScorecardRequest(Selection(by=(dim,)), grain=grain, metrics=DEFAULT_METRICS))
    expected = reference(data, dim, grain, conv)
    assert {tuple(r[k] for k in card.keys) for r in card.rows} == set(expected)
    checked = 0
    for r in card.rows:
        want = expected[tuple(r[k] for k in card.keys)]
        for name in DEFAULT_METRICS:
            num, den = want[name]
            if name in ("offered", "handled", "sales"):
                assert r[name] == num, (name, r)
                continue
            assert r[f"{name}_n"] == den, (name, r)  # every denominator exactly
            if den == 0:
                assert r[name] is None
            else:
                # durations come from epoch seconds as doubles (~2e-7 s resolution at today's epoch)
                rel = 1e-6 if name in TIMED else 1e-12
                assert r[name] == pytest.approx(num / den, rel=rel, abs=1e-12), (name, r)
            checked += 1
    assert checked > 300
