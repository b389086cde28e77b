"""Scenario files: every example loads and runs; each mistake is one message naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from closeloop.errors import ScenarioError
from closeloop.sim.scenario import validate
from closeloop.sim.scenario_file import parse_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

GOOD = """
[scenario]
name = "t"
start = 2026-03-02T00:00:00Z
days = 1

[policy]
name = "sticky_blend"
min_dwell_s = 600
[[policy.pulls]]
from = "care_in"
to = "sales_in"
start_waiting = 5
stop_waiting = 1

[[centers]]
id = "c1"
country = "PH"
timezone = "Asia/Manila"

[[queues]]
name = "sales_in"
type = "sales"
rate_per_hour = 30

[[queues]]
name = "care_in"
type = "care"
rate_per_hour = [10, 20]

[[agents]]
center = "c1"
count = 3
skills = "sales:7;care:3"
home_mode = "sales_in"
shift = { start = "08:00", hours = 9, days = "mon-fri" }

[[agents]]
center = "c1"
count = 2
skills = "care:7;sales:4"
home_mode = "care_in"
"""


def test_good_scenario_loads() -> None:
    s = parse_scenario(GOOD, "good.toml")
    validate(s)
    assert len(s.agents) == 5 and s.agents[0].agent_id == "c1-A001"
    assert s.queues[1].profile() == [10.0, 20.0]


@pytest.mark.parametrize(("old", "new", "key"), [
    ('rate_per_hour = 30', 'rate_per_hour = -3', "queues[0].rate_per_hour"),
    ('min_dwell_s = 600', 'min_dwell_s = -5', "policy.min_dwell_s"),
    ('to = "sales_in"', 'to = "sales_inn"', "policy.pulls[0].to"),
    ('stop_waiting = 1', 'stop_waiting = 9', "policy.pulls[0].stop_waiting"),
    ('skills = "care:7;sales:4"', 'skills = "care:7;slaes:4"', "agents.c1-A004.skills"),
    ('skills = "sales:7;care:3"', 'skills = "sales:7;care:30"', "agents[0].skills"),
    ('type = "care"', 'type = "service"', "queues.care_in.call_type"),
    ('center = "c1"\ncount = 3', 'center = "c9"\ncount = 3', "agents.c9-A001.center"),
    ('timezone = "Asia/Manila"', 'timezone = "Mars/Olympus"', "centers.c1.timezone"),
    ('hours = 9', 'hours = 30', "agents[0].shift.hours"),
    ('name = "sticky_blend"', 'name = "round_robin"', "policy"),
    ('days = 1', 'days = 1\nspeed = 3', "scenario.speed"),
    ('home_mode = "care_in"', 'home_mode = "care_in"\nmood = "happy"', "agents[1].mood"),
])
def test_each_mistake_names_file_key_and_problem(old: str, new: str, key: str) -> None:
    assert old in GOOD
    with pytest.raises(ScenarioError) as err:
        validate(parse_scenario(GOOD.replace(old, new, 1), "bad.toml"))
    assert err.value.path == "bad.toml"
    assert err.value.key == key, str(err.value)
    assert str(err.value).startswith(f"bad.toml: {key}: ")


def test_queue_with_traffic_but_no_skilled_agent() -> None:
    text = GOOD.replace('skills = "sales:7;care:3"', 'skills = "care:3"').replace(
        'skills = "care:7;sales:4"', 'skills = "care:7"').replace('[policy]\nname = "sticky_blend"',
                                                                  '[policy]\nname = "global_order"')
    text = text.split("min_dwell_s")[0] + text.split("stop_waiting = 1\n")[1]
    with pytest.raises(ScenarioError) as err:
        validate(parse_scenario(text, "f.toml"))
    assert err.value.key == "queues.sales_in.skill" and "no agent has skill 'sales'" in err.value.problem


def test_not_toml() -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario("[scenario\nname=", "x.toml")
    assert err.value.path == "x.toml"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_examples_load_and_validate(path: Path) -> None:
    s = parse_scenario(path.read_text(encoding="utf-8"), str(path))
    validate(s)
