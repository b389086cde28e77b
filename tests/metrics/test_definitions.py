"""Every metric against a hand count on the 9-call fixture (tests/metrics/fixtures.py).

Hand counts: inbound c1 c2 c3 c4 c7 c8 c9 (7 offered); c3 abandons after 3 s (short), c4
after 60 s; answered waits 10, 30, 5, 25, 15 s; sales calls handled c1 c2 c5 c9 with sales
on c1 c5 c9 (350 of orders); care c7 resolved, c8 unresolved two days later (same lead, a
repeat); sales leads L1 (complete), L2 (no e-mail), L3 (complete).
"""

import pytest

from closeloop.errors import EmptySelectionError, InputError
from closeloop.metrics import METRICS, Conventions, ScorecardRequest, Selection, Tables, parse_filter, scorecard
from closeloop.metrics.cost import COST_METRICS
from tests.metrics.fixtures import small_warehouse


@pytest.fixture(scope="module")
def tables():
    wh = small_warehouse()
    yield Tables.from_backend(wh.ibis())
    wh.close()


def one(tables, conv=None, **req):
    rows = scorecard(tables, conv or Conventions(), ScorecardRequest(**req)).rows
    return rows[0] if len(rows) == 1 else rows


EXPECTED = {
    "offered": 7, "dialled": 2, "handled": 6, "abandoned": 2, "short_abandons": 1, "sales": 3,
    "abandon_rate": 1 / 6,  # c4 / (7 offered - 1 short)
    "service_level": 3 / 6,  # c1 c7 c9 within 20 s / (7 - 1 short)
    "asa_s": (10 + 30 + 5 + 25 + 15) / 5,
    "aht_s": (330 + 300 + 600 + 200 + 130 + 600) / 6,  # (ended - answered) + wrap; hold is inside
    "close_rate": 3 / 4,
    "first_call_close": 2 / 3,  # L1 yes (c1), L2 no (c2 first), L3 yes (c9)
    "conversion_per_lead": 3 / 3,
    "revenue_per_call": 350 / 4,
    "csat": (5 + 3 + 4 + 2) / 4,
    "csat_top2": 2 / 4,
    "resolution_rate": 1 / 2,
    "repeat_rate": 1 / 2,  # c7 followed by c8 within 7 days; c8 not followed
    "data_capture": 2 / 3,  # c5's lead L2 has no e-mail
    "contacts_per_sale": 7 / 3,  # c1-c6 and c9
    "leads_per_sale": 3 / 3,
    "talk_s_per_sale": (280 + 240 + 540 + 600) / 3,  # talk excludes hold
}


def test_every_metric_has_a_hand_count():
    # cost metrics need prices: their hand counts are in tests/metrics/test_cost.py
    assert set(EXPECTED) | set(COST_METRICS) == set(METRICS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metric_matches_hand_count(tables, name):
    row = one(tables, metrics=(name,))
    assert row[name] == pytest.approx(EXPECTED[name])
    if METRICS[name].is_rate:
        low, high = row[f"{name}_ci"]
        assert low <= row[name] <= high


@pytest.mark.parametrize(
    ("convention", "expected"),
    [("exclude_short", 3 / 6), ("include_all", 3 / 7), ("exclude_all", 3 / 5)],
)
def test_service_level_conventions(tables, convention, expected):
    conv = Conventions(service_level_abandons=convention)
    assert one(tables, conv, metrics=("service_level",))["service_level"] == pytest.approx(expected)


def test_thresholds_are_parameters(tables):
    conv = Conventions(service_level_threshold_s=30, short_abandon_s=0, repeat_contact_days=1)
    row = one(tables, conv, metrics=("service_level", "abandon_rate", "repeat_rate", "short_abandons"))
    assert row["service_level"] == pytest.approx(5 / 7)  # c2 (30 s) and c8 (25 s) now in
    assert row["abandon_rate"] == pytest.approx(2 / 7)
    assert row["short_abandons"] == 0
    assert row["repeat_rate"] == pytest.approx(0.0)  # c8 came 2 days later


def test_by_center_and_local_week(tables):
    rows = one(tables, selection=Selection(by=("center_id",)), grain="week", metrics=("close_rate", "offered"))
    # c6 was dialled on Sunday 3 March UTC but Monday 4 March in Manila: one local week only
    assert {str(r["period"]) for r in rows} == {"2024-03-04"}
    by = {r["center_id"]: r for r in rows}
    assert by["C1"]["close_rate"] == pytest.approx(2 / 3)
    assert by["C2"]["close_rate"] == pytest.approx(1.0)
    assert by["C1"]["offered"] == 4


def test_hour_of_day_is_local(tables):
    rows = one(tables, selection=Selection(by=("center_id", "hour")), metrics=("offered",))
    hours = {(r["center_id"], r["hour"]) for r in rows if r["offered"]}
    assert ("C1", 20) in hours  # 12:00 UTC in Manila
    assert ("C2", 9) in hours  # 14:00 UTC in New York (EST)


def test_joined_dimensions(tables):
    rows = one(tables, selection=Selection(by=("vendor", "source")), metrics=("sales",))
    sales = {(r["vendor"], r["source"]): r["sales"] for r in rows}
    assert sales[("acme", "web")] == 1 and sales[("acme", "list")] == 1 and sales[("in-house", "web")] == 1
    teams = one(tables, selection=Selection(by=("team",)), metrics=("handled",))
    # agents without a team are grouped by their center; unanswered calls by the offering center
    assert {r["team"]: r["handled"] for r in teams} == {"T1": 3, "C2": 3, "C1": 0}


def test_filters_and_dates(tables):
    row = one(tables, selection=Selection(filters=(parse_filter("call_type=care"),)), metrics=("handled",))
    assert row["handled"] == 2
    row = one(tables, selection=Selection(filters=(parse_filter("vendor!=acme"),)), metrics=("offered",))
    assert row["offered"] == 3
    from datetime import date

    row = one(tables, selection=Selection(start=date(2024, 3, 5)), metrics=("offered",))
    assert row["offered"] == 1  # only c8 (6 March)


def test_unknown_names_list_valid_ones(tables):
    with pytest.raises(InputError, match="close_rate"):
        one(tables, metrics=("closerate",))
    with pytest.raises(InputError, match="vendor"):
        one(tables, selection=Selection(by=("vendr",)))
    with pytest.raises(InputError, match="center_id"):
        one(tables, selection=Selection(filters=(parse_filter("centre=C1"),)))
    with pytest.raises(InputError, match="COLUMN=VALUE"):
        parse_filter("vendor~acme")


def test_empty_selection_says_so(tables):
    with pytest.raises(EmptySelectionError, match="vendor=nobody"):
        one(tables, selection=Selection(filters=(parse_filter("vendor=nobody"),)))
