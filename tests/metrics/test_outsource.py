"""`explain outsource` on a planted operation whose answer is known.

Close rates are planted in logit space, exactly the mix model's form: logit P(sale) =
source effect + party effect. The in-house "soho" queue gets mostly web leads (hard); the
partner "good" closes better than in-house on every kind of call; "mixy" closes worse on
every kind, but gets mostly referrals (easy), so its raw close rate beats in-house soho's.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.special import expit, logit

from closeloop.contracts import parse_contracts
from closeloop.contracts.pricing import Volume
from closeloop.errors import InputError
from closeloop.metrics import Conventions, Tables
from closeloop.metrics.outsource import estimate_outsource
from closeloop.model import AGENTS, CALLS, CENTERS, LEADS
from closeloop.warehouse import Warehouse
from tests.metrics.fixtures import load

SOURCE = {"web": logit(0.2), "referral": logit(0.6)}
PARTY = {"in-house": 0.0, "good": 0.7, "mixy": -0.8, "tiny": 0.0}
#: (center, vendor, queue, calls, share of web leads)
BLOCKS = [("ih", "in-house", "soho", 4000, 0.9), ("ih", "in-house", "enterprise", 1500, 0.2),
          ("gd", "good", "resale", 3000, 0.5), ("mx", "mixy", "resale", 3000, 0.05), ("tn", "tiny", "resale", 60, 0.5)]
SOHO_WEB = 0.9
ORDER = 200.0

CONTRACTS = """
[[contract]]
name = "own"
scope = { vendor = "in-house" }
[contract.price]
loaded_cost_per_agent_hour = 36
occupancy = 0.8

[[contract]]
name = "good partner"
scope = { vendor = "good" }
[contract.price]
commission = 0.10
[[contract.term]]
metric = "service_level"
target = 0.9
direction = "at_least"

[[contract]]
name = "mixy"
scope = { vendor = "mixy" }
[contract.price]
per_handled_minute = 0.5
"""


def truth(party: str) -> float:
    """The close rate ``party`` would reach on the soho mix (the known answer)."""
    b = PARTY[party]
    return SOHO_WEB * expit(SOURCE["web"] + b) + (1 - SOHO_WEB) * expit(SOURCE["referral"] + b)


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(20)
    wh = Warehouse()
    centers = {c: v for c, v, *_ in BLOCKS}
    load(wh, "centers", [{"center_id": c, "vendor": v, "country": "US", "timezone": "UTC"} for c, v in centers.items()],
         CENTERS.arrow_schema())
    load(wh, "agents", [{"agent_id": f"{c}-a", "center_id": c, "skills": "sales:5"} for c in centers],
         AGENTS.arrow_schema())
    leads, calls = [], []
    t0 = datetime(2024, 5, 6, tzinfo=UTC)
    for center, vendor, queue, n, web in BLOCKS:
        for i in range(n):
            src = "web" if rng.random() < web else "referral"
            sold = rng.random() < expit(SOURCE[src] + PARTY[vendor])
            lead, start = f"{queue}-{center}-{i}", t0 + timedelta(days=int(rng.integers(0, 14)),
                                                                  seconds=int(rng.integers(9 * 3600, 17 * 3600)))
            leads.append({"lead_id": lead, "created_at": t0, "source": src, "product": "p"})
            calls.append({
                "call_id": lead, "center_id": center, "queue": queue, "direction": "inbound", "call_type": "sales",
                "offered_at": start, "answered_at": start + timedelta(seconds=10),
                "ended_at": start + timedelta(seconds=310), "agent_id": f"{center}-a", "lead_id": lead,
                "hold_s": 0.0, "wrap_s": 60.0, "outcome": "sale" if sold else "no_sale",
                "order_value": ORDER if sold else None, "csat": None,
            })
    load(wh, "leads", leads, LEADS.arrow_schema())
    load(wh, "calls", calls, CALLS.arrow_schema())
    yield Tables.from_backend(wh.ibis(), facts=False)
    wh.close()


@pytest.fixture(scope="module")
def estimate(tables):
    return estimate_outsource(tables, Conventions(), parse_contracts(CONTRACTS), "queue = 'soho'",
                              ["mixy", "good", "tiny", "ghost"], adjust_for=("source",))


def test_today_is_the_in_house_soho_queue(estimate):
    t = estimate.today
    assert t.parties == {"in-house": 4000} and t.handled_sales == 4000
    lo, hi = t.close_rate_ci
    assert lo <= truth("in-house") <= hi


def test_mixed_up_partner_looks_better_raw_but_is_estimated_worse(tables, estimate):
    raw = tables.calls.filter(tables.calls.center_id == "mx")
    raw_rate = raw.filter(raw.outcome == "sale").count().execute() / raw.count().execute()
    assert raw_rate > estimate.today.close_rate  # looks better on its own (easy) calls
    c = {c.party: c for c in estimate.candidates}
    mixy, good = c["mixy"], c["good"]
    assert mixy.close_rate_ci[0] <= truth("mixy") <= mixy.close_rate_ci[1]
    assert good.close_rate_ci[0] <= truth("good") <= good.close_rate_ci[1]
    assert mixy.sales_delta_ci[1] < 0 < good.sales_delta_ci[0]  # both beyond noise, opposite signs
    assert good.flag is None and mixy.flag is None


def test_candidates_ranked_by_net_gain_and_unknowns_flagged(estimate):
    order = [c.party for c in estimate.candidates]
    assert order[0] == "good" and order.index("mixy") < order.index("ghost")
    c = {c.party: c for c in estimate.candidates}
    assert "too little comparable history" in c["tiny"].flag
    assert c["ghost"].close_rate is None and "cannot be estimated" in c["ghost"].flag


def test_money_follows_each_contract(estimate):
    t = estimate.today
    assert t.cost == pytest.approx(t.handle_s / 3600 / 0.8 * 36)
    good = {c.party: c for c in estimate.candidates}["good"]
    sales = t.sales + good.sales_delta
    assert good.cost_after == pytest.approx(0.10 * sales * ORDER)
    assert good.revenue_delta == pytest.approx(good.sales_delta * ORDER)
    assert good.net_gain == pytest.approx(sales * ORDER * 0.9 - (t.revenue - t.cost))
    lo, hi = good.net_gain_ci
    assert lo <= good.net_gain <= hi
    mixy = {c.party: c for c in estimate.candidates}["mixy"]
    assert mixy.cost_after == pytest.approx(Volume(t.handled, t.handle_s).handle_s / 60 * 0.5)


def test_staffing_uses_the_partners_service_level(estimate):
    c = {c.party: c for c in estimate.candidates}
    assert c["good"].service_level_target == 0.9 and c["mixy"].service_level_target == 0.8
    assert c["good"].agents_alone >= c["mixy"].agents_alone > 0
    assert 0 < c["good"].agents_extra <= c["good"].agents_alone
    assert any("Erlang C" in a for a in estimate.assumptions)


@pytest.mark.parametrize("segment", ["queue = 'soho'; DROP TABLE calls", "lower(queue) = 'soho'", "nope = 1"])
def test_unsafe_or_unknown_segments_are_refused(tables, segment):
    with pytest.raises(InputError, match="--segment"):
        estimate_outsource(tables, Conventions(), [], segment, ["good"])


def test_a_priced_party_without_history_is_costed_at_todays_rate_and_ranked_last(tables):
    text = CONTRACTS + '\n[[contract]]\nname = "new"\nscope = { vendor = "newco" }\n' \
        '[contract.price]\ncommission = 0.2\n'
    est = estimate_outsource(tables, Conventions(), parse_contracts(text), "queue = 'soho'", ["newco", "mixy"],
                             adjust_for=("source",))
    assert [c.party for c in est.candidates] == ["mixy", "newco"]  # mixy loses money, but is an estimate
    new = est.candidates[1]
    assert new.close_rate is None and "today's close rate" in new.flag
    assert new.cost_after == pytest.approx(0.2 * est.today.revenue)
    assert new.net_gain == pytest.approx(est.today.cost - new.cost_after)


def test_staffing_pools_with_the_partners_traffic_at_the_same_utc_hour():
    """The segment peaks at 14:00 UTC; the partner, in New York, is busy then (09:00-10:00 its time)."""
    wh = Warehouse()
    centers = [("ih", "in-house", "UTC"), ("pt", "partner", "America/New_York")]
    load(wh, "centers", [{"center_id": c, "vendor": v, "country": "US", "timezone": z} for c, v, z in centers],
         CENTERS.arrow_schema())
    load(wh, "agents", [{"agent_id": f"{c}-a", "center_id": c, "skills": "sales:5"} for c, _, _ in centers],
         AGENTS.arrow_schema())
    calls, leads = [], []
    for c, _, _ in centers:
        for day in range(10):
            for i in range(40):
                start = datetime(2024, 1, 8 + day, 14, tzinfo=UTC) + timedelta(seconds=90 * i)
                cid = f"{c}-{day}-{i}"
                leads.append({"lead_id": cid, "created_at": start, "source": "web", "product": "p"})
                calls.append({"call_id": cid, "center_id": c, "queue": f"q-{c}", "direction": "inbound",
                              "call_type": "sales", "offered_at": start, "answered_at": start + timedelta(seconds=5),
                              "ended_at": start + timedelta(seconds=305), "agent_id": f"{c}-a", "lead_id": cid,
                              "hold_s": 0.0, "wrap_s": 0.0, "outcome": "sale" if i % 4 == 0 else "no_sale",
                              "order_value": 100.0 if i % 4 == 0 else None, "csat": None})
    load(wh, "leads", leads, LEADS.arrow_schema())
    load(wh, "calls", calls, CALLS.arrow_schema())
    est = estimate_outsource(Tables.from_backend(wh.ibis(), facts=False), Conventions(), [], "queue = 'q-ih'",
                             ["partner"], adjust_for=("source",))
    wh.close()
    (c,) = est.candidates
    assert est.today.peak_hour == 14 and est.today.peak_calls_per_hour == 40
    assert 0 < c.agents_extra < c.agents_alone  # pooled with its own 40 calls an hour, not added alone
