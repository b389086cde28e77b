"""Money in contracts: prices validated, breaches and bonuses priced, and both shown by the CLI."""

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.contracts import FAIL, PASS, check_contracts, parse_contracts, summarise
from closeloop.contracts.pricing import AMOUNT_KEYS, Price, Volume
from closeloop.errors import ScenarioError
from closeloop.metrics import Conventions, Tables
from closeloop.settings import init_workspace
from tests.contracts.test_check import run
from tests.metrics.fixtures import small_warehouse

HEAD = '[[contract]]\nname = "acme"\nscope = { vendor = "acme" }\nperiod = "week"\n'
#: acme (C1) in the week of 2024-03-04: close rate 2/3, service level 1/3 (docs in test_check).
TERMS = """
[[contract.term]]
metric = "close_rate"
target = 0.8
direction = "at_least"
penalty = 100.0
penalty_per_point = 10.0
bonus = 999.0

[[contract.term]]
metric = "sales"
target = 1
direction = "at_least"
penalty = 50.0
bonus = 25.0
"""


@pytest.fixture(scope="module")
def tables():
    wh = small_warehouse()
    yield Tables.from_backend(wh.ibis())
    wh.close()


def test_breach_costs_penalty_plus_points_short_and_a_met_term_earns_its_bonus(tables):
    res = {r.metric: r for r in check_contracts(tables, Conventions(), parse_contracts(HEAD + TERMS))}
    close, sales = res["close_rate"], res["sales"]
    assert close.status == FAIL and sales.status == PASS
    assert close.money == pytest.approx(-(100.0 + 10.0 * (0.8 - 2 / 3) / 0.01))
    assert close.row()["penalty"] == pytest.approx(-close.money) and close.row()["bonus"] == 0.0
    assert sales.money == 25.0 and sales.row()["bonus"] == 25.0 and sales.row()["penalty"] == 0.0
    (summary,) = summarise(list(res.values()))
    assert summary["penalty"] == pytest.approx(-close.money) and summary["bonus"] == 25.0


def test_points_of_a_non_rate_are_its_units():
    (c,) = parse_contracts(HEAD + '[[contract.term]]\nmetric = "asa_s"\ntarget = 30\ndirection = "at_most"\n'
                           "penalty_per_point = 2.0\n")
    assert c.terms[0].money(False, 45.0) == pytest.approx(-30.0)
    assert c.terms[0].money(True, 20.0) == 0.0


def test_price_parses_and_a_priced_contract_needs_no_terms():
    (c,) = parse_contracts(HEAD + '[contract.price]\ncurrency = "eur"\nper_handled_minute = 0.4\nmonthly_fixed = 100\n')
    assert c.price == Price(currency="EUR", per_handled_minute=0.4, monthly_fixed=100.0) and c.terms == ()


@pytest.mark.parametrize(
    ("price", "key", "problem"),
    [
        ("per_call = -1", "per_call", "negative"),
        ("commission = 8", "commission", "must be ≤ 1"),
        ('per_sale = "ten"', "per_sale", "number"),
        ("per_minute = 1", "per_minute", "unknown key"),
        ("per_call = 1\noccupancy = 0", "occupancy", "must be > 0"),
        ("per_productive_hour = 9\nloaded_cost_per_agent_hour = 30", "loaded_cost_per_agent_hour", "not both"),
        ('currency = "USD"', "price", "at least one amount"),
    ],
)
def test_price_mistakes_name_key_and_problem(price, key, problem):
    with pytest.raises(ScenarioError) as exc:
        parse_contracts(HEAD + "[contract.price]\n" + price + "\n", "c.toml")
    assert (f"price.{key}" if key != "price" else "'acme'.price") in str(exc.value)
    assert problem in str(exc.value) and "c.toml" in str(exc.value)


def test_cost_terms_need_a_price_and_a_contract_needs_terms_or_a_price():
    with pytest.raises(ScenarioError, match=r"cost_per_sale needs the contract's \[contract.price\]"):
        parse_contracts(HEAD + '[[contract.term]]\nmetric = "cost_per_sale"\ntarget = 50\ndirection = "at_most"\n')
    with pytest.raises(ScenarioError, match="at least one"):
        parse_contracts(HEAD)


@given(st.dictionaries(st.sampled_from(AMOUNT_KEYS), st.floats(0, 1, allow_nan=False), min_size=1))
def test_any_valid_amounts_parse_to_the_same_price(amounts):
    amounts.pop("loaded_cost_per_agent_hour", None) if amounts.get("per_productive_hour") else None
    body = "\n".join(f"{k} = {v!r}" for k, v in amounts.items())
    text = HEAD + "[contract.price]\n" + body + "\n"
    if not any(amounts.values()):
        with pytest.raises(ScenarioError):
            parse_contracts(text)
        return
    (c,) = parse_contracts(text)
    assert all(math.isclose(getattr(c.price, k), v) for k, v in amounts.items())


@given(st.dictionaries(st.sampled_from([*AMOUNT_KEYS, "occupancy", "currency", "other"]),
                       st.sampled_from([-1, 0, 0.5, 1, 2, 1e9, -0.0, "x", "", True]), max_size=4))
def test_any_price_table_parses_or_raises_scenario_error(raw):
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in raw.items())
    try:
        (c,) = parse_contracts(HEAD + "[contract.price]\n" + body + "\n")
    except ScenarioError as exc:
        assert "price" in str(exc)
    else:
        assert c.price is not None
        assert c.price.variable_cost(Volume(handled=3, handle_s=600, sales=1, order_value=50)) >= 0


def workspace(tmp_path: Path, text: str) -> Path:
    settings = init_workspace(tmp_path)
    small_warehouse(str(settings.warehouse_path())).close()
    (tmp_path / "contracts.toml").write_text(text)
    return tmp_path


def test_sla_check_reports_the_money_of_each_breach(tmp_path):
    root = workspace(tmp_path, HEAD + TERMS)
    out = run("sla", "check", "--format", "json", cwd=root)
    assert out.returncode == 1, out.stderr
    rows = {r["metric"]: r for r in json.loads(out.stdout)}
    assert rows["close_rate"]["penalty"] == pytest.approx(100.0 + 10.0 * (0.8 - 2 / 3) / 0.01)
    assert rows["sales"]["bonus"] == 25.0
    table = run("sla", "check", cwd=root)
    said = " ".join(table.stderr.split())  # the terminal wraps long lines
    assert "breaches cost 233.33" in said and "bonuses earned 25.00" in said
    csv = run("sla", "check", "--format", "csv", "--summary", cwd=root)
    assert csv.stdout.splitlines()[0].endswith("penalty,bonus")


def test_sla_check_csv_has_every_column_when_a_term_has_no_interval(tmp_path):
    text = HEAD + '[[contract.term]]\nmetric = "sales"\ntarget = 1\ndirection = "at_least"\n' \
        '[[contract.term]]\nmetric = "close_rate"\ntarget = 0.1\ndirection = "at_least"\n'
    out = run("sla", "check", "--format", "csv", cwd=workspace(tmp_path, text))
    assert out.returncode == 0, out.stderr
    header, *lines = out.stdout.splitlines()
    assert ",low,high," in header and header.endswith("penalty,bonus") and len(lines) == 2


def test_sla_show_lists_prices(tmp_path):
    text = HEAD + TERMS + '[contract.price]\nper_handled_minute = 0.5\ncommission = 0.1\n'
    root = workspace(tmp_path, text)
    out = run("sla", "show", "--format", "json", cwd=root)
    assert out.returncode == 0, out.stderr
    terms = json.loads(out.stdout)
    assert {t["metric"] for t in terms} == {"close_rate", "sales"} and terms[0]["penalty_per_point"] == 10.0
    out = run("sla", "show", "--prices", "--format", "json", cwd=root)
    (price,) = json.loads(out.stdout)  # every declared column, in every row
    assert price["contract"] == "acme" and price["per_handled_minute"] == 0.5 and price["commission"] == 0.1
    assert price["monthly_fixed"] == 0.0 and price["currency"] == "USD"
    assert "prices" in run("sla", "show", cwd=root).stdout


def test_a_cost_metric_can_be_a_term_of_a_priced_contract(tables):
    text = HEAD + '[contract.price]\nper_call = 40.0\n[[contract.term]]\nmetric = "cost_per_sale"\ntarget = 50\n' \
        'direction = "at_most"\npenalty_per_point = 1.0\n'
    (r,) = check_contracts(tables, Conventions(), parse_contracts(text))
    # acme, week of 2024-03-04: 3 handled calls x 40 over 2 sales = 60 per sale, 10 over target
    assert r.value == pytest.approx(60.0) and r.status == FAIL and r.money == pytest.approx(-10.0)
