"""Cost metrics against hand computations on the 9-call fixture (tests/metrics/fixtures.py).

Hand volumes: acme (C1) handled c1 c2 c5 = 330 + 300 + 600 = 1230 handle seconds, sales c1
c5 (order value 100 + 200), three handled sales calls, leads L1 L2 L3 worked by a sales
call; in-house (C2) handled c7 c8 c9 = 200 + 130 + 600 s, one sale (c9, 50) out of one
handled sales call, lead L3. Every call is in March 2024 (local), in the week of 4 March.
"""

import pytest

from closeloop.contracts import parse_contracts
from closeloop.contracts.pricing import DAYS_PER_MONTH, Price, Volume
from closeloop.errors import InputError
from closeloop.metrics import Conventions, ScorecardRequest, Selection, Tables, scorecard
from closeloop.metrics.cost import COST_METRICS
from closeloop.stats import wilson_interval
from tests.metrics.fixtures import small_warehouse

PRICES = """
[[contract]]
name = "acme"
scope = { vendor = "acme" }
[contract.price]
per_handled_minute = 0.5
per_sale = 10
commission = 0.1
monthly_fixed = 300

[[contract]]
name = "own"
scope = { vendor = "in-house" }
[contract.price]
loaded_cost_per_agent_hour = 36
occupancy = 0.8
per_call = 1
"""
ACME = 1230 / 60 * 0.5 + 2 * 10 + 0.1 * 300 + 300
OWN = 930 / 3600 / 0.8 * 36 + 3 * 1
EXPECTED = {
    "acme": {"cost": ACME, "cost_per_call": ACME / 3, "cost_per_sale": ACME / 2, "cost_per_lead": ACME / 3,
             "margin": 300 - ACME},
    "in-house": {"cost": OWN, "cost_per_call": OWN / 3, "cost_per_sale": OWN / 1, "cost_per_lead": OWN / 1,
                 "margin": 50 - OWN},
}


@pytest.fixture(scope="module")
def tables():
    wh = small_warehouse()
    yield Tables.from_backend(wh.ibis())
    wh.close()


def card(tables, contracts=PRICES, **req):
    return scorecard(tables, Conventions(), ScorecardRequest(metrics=COST_METRICS,
                                                            contracts=tuple(parse_contracts(contracts)), **req))


def test_every_cost_metric_has_a_hand_computation():
    assert set(EXPECTED["acme"]) == set(COST_METRICS)


@pytest.mark.parametrize("name", COST_METRICS)
def test_cost_metric_by_vendor_matches_hand_computation(tables, name):
    rows = {r["vendor"]: r for r in card(tables, selection=Selection(by=("vendor",))).rows}
    for vendor, expected in EXPECTED.items():
        assert rows[vendor][name] == pytest.approx(expected[name])


def test_all_calls_cost_the_sum_of_both_contracts(tables):
    (row,) = card(tables).rows
    assert row["cost"] == pytest.approx(ACME + OWN)
    assert row["cost_per_sale"] == pytest.approx((ACME + OWN) / 3)
    assert row["margin"] == pytest.approx(350 - ACME - OWN)


def test_weekly_grain_charges_a_week_of_the_monthly_fee(tables):
    rows = {r["vendor"]: r for r in card(tables, selection=Selection(by=("vendor",)), grain="week").rows}
    assert rows["acme"]["cost"] == pytest.approx(ACME - 300 + 300 * 7 / DAYS_PER_MONTH)
    assert rows["in-house"]["cost"] == pytest.approx(OWN)


def test_fee_is_shared_by_handled_calls_within_a_contract(tables):
    rows = {r["queue"]: r for r in card(tables, selection=Selection(by=("queue",), filters=())).rows}
    # acme handled c1 c2 c5, all sales-q: the whole fee lands on sales-q; care-q is in-house only
    care = 330 / 3600 / 0.8 * 36 + 2
    assert rows["care-q"]["cost"] == pytest.approx(care)
    assert rows["sales-q"]["cost"] == pytest.approx(ACME + OWN - care)


def test_cost_per_sale_interval_is_cost_over_wilson_sales(tables):
    rows = {r["vendor"]: r for r in card(tables, selection=Selection(by=("vendor",))).rows}
    low, high = wilson_interval(2, 3)
    lo, hi = rows["acme"]["cost_per_sale_ci"]
    assert lo == pytest.approx(ACME / (3 * high)) and hi == pytest.approx(ACME / (3 * low))
    assert lo <= rows["acme"]["cost_per_sale"] <= hi


def test_calls_without_a_price_are_left_out_with_a_note(tables):
    only_acme = PRICES.split("[[contract]]\nname = \"own\"")[0]
    c = card(tables, contracts=only_acme)
    assert c.rows[0]["cost"] == pytest.approx(ACME)
    assert any("no priced contract" in n for n in c.notes)


def test_cost_without_prices_says_how_to_add_them(tables):
    text = '[[contract]]\nname = "x"\nscope = { vendor = "acme" }\n[[contract.term]]\nmetric = "sales"\n' \
           'target = 1\ndirection = "at_least"\n'
    with pytest.raises(InputError, match=r"\[contract.price\]"):
        card(tables, contracts=text)


def test_price_arithmetic():
    p = Price(per_handled_minute=0.6, per_productive_hour=12.0, occupancy=0.75, per_call=0.2, per_sale=5.0,
              commission=0.05, monthly_fixed=3044.0)
    v = Volume(handled=10, handle_s=5400, sales=2, order_value=400)
    assert p.agent_hours(v) == pytest.approx(2.0)
    assert p.variable_cost(v) == pytest.approx(90 * 0.6 + 2 * 12 + 10 * 0.2 + 2 * 5 + 400 * 0.05)
    assert p.fixed_cost("month") == 3044.0
    assert p.fixed_cost("week") == pytest.approx(3044 * 7 / DAYS_PER_MONTH)
    assert (v + v).handle_s == 10800


def test_a_selection_covering_part_of_a_month_pays_that_part_of_the_fee(tables):
    from datetime import date

    sel = Selection(by=("vendor",), start=date(2024, 3, 4), end=date(2024, 3, 10))
    rows = {r["vendor"]: r for r in card(tables, selection=sel).rows}
    assert rows["acme"]["cost"] == pytest.approx(ACME - 300 + 300 * 7 / 31)


def test_a_call_under_two_priced_contracts_is_costed_under_the_first(tables):
    overlap = PRICES.replace('name = "own"\nscope = { vendor = "in-house" }',
                             'name = "sales"\nscope = { call_type = "sales" }')
    (row,) = card(tables, contracts=overlap).rows
    # acme's calls stay under "acme"; of in-house's, only c9 (a sales call, 600 s) is under "sales"
    assert row["cost"] == pytest.approx(ACME + 600 / 3600 / 0.8 * 36 + 1)
