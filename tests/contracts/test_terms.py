"""Contract files: the example parses; each kind of mistake names file, key and problem."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.contracts import Term, parse_contracts
from closeloop.errors import ScenarioError

EXAMPLE = Path(__file__).parents[2] / "examples" / "contracts" / "contracts.toml"

GOOD = """
[[contract]]
name = "X"
scope = { vendor = "acme" }
[[contract.term]]
metric = "close_rate"
target = 0.2
direction = "at_least"
"""


def test_example_file_parses():
    contracts = parse_contracts(EXAMPLE.read_text(), str(EXAMPLE))
    assert [c.name for c in contracts] == ["Acme offshore telesales", "In-house care"]
    acme = contracts[0]
    assert {str(f) for f in acme.filters} == {"vendor=acme", "call_type=sales"}
    periods = {t.metric: t.period for t in acme.terms}
    assert periods["close_rate"] == "week" and periods["data_capture"] == "month"
    assert contracts[1].judge == "ci"


def test_defaults():
    (c,) = parse_contracts(GOOD)
    (t,) = c.terms
    assert (t.period, t.min_volume, t.weight, t.penalty, c.judge) == ("month", 0, 1.0, 0.0, "point")


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (('metric = "close_rate"', 'metric = "closerate"'), "metric", "service_level"),
        (('direction = "at_least"', 'direction = "above"'), "direction", "at_least, at_most"),
        (("target = 0.2", "target = 20"), "target", "0-1"),
        (("target = 0.2", 'target = "high"'), "target", "number"),
        (('scope = { vendor = "acme" }', ""), "scope", "calls it covers"),
        (('name = "X"', 'name = "X"\nperiod = "year"'), "period", "week, month"),
        (('name = "X"', 'name = "X"\nwhere = ["vendor~1"]'), "where", "COLUMN=VALUE"),
        (("target = 0.2", "target = 0.2\npenalty = -5"), "penalty", "negative"),
        (("target = 0.2", "target = 0.2\ntreshold = 1"), "treshold", "unknown key"),
        (("[[contract.term]]", "[[contract.terms]]"), "terms", "unknown key"),
        (("[[contract]]", "[contract"), "(file)", "not valid TOML"),
    ],
)
def test_mistakes_name_file_key_and_problem(change, key, problem):
    text = GOOD.replace(*change)
    with pytest.raises(ScenarioError) as err:
        parse_contracts(text, "my.toml")
    assert err.value.path == "my.toml"
    assert key in err.value.key
    assert problem in err.value.problem


def test_duplicate_names_and_empty_file():
    with pytest.raises(ScenarioError, match="duplicate"):
        parse_contracts(GOOD + GOOD)
    with pytest.raises(ScenarioError, match="no \\[\\[contract\\]\\]"):
        parse_contracts("")


@given(st.floats(0, 1), st.floats(0, 1), st.sampled_from(["at_least", "at_most"]))
def test_margin_sign_agrees_with_meets(target, value, direction):
    t = Term("close_rate", target, direction, "week")
    assert t.meets(value) == (t.margin(value) >= 0)
