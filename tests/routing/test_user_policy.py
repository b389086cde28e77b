"""A scenario can name a user's own Policy subclass by dotted path; it runs through the same checks."""

from __future__ import annotations

from pathlib import Path

import pytest

import closeloop
from closeloop.errors import ScenarioError
from closeloop.routing import PolicyParamError, make_policy, policy_class
from tests.routing.user_policy import NewestFirstFree

MMC = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "mmc.toml"


def test_dotted_path_and_colon_forms_load_the_class() -> None:
    assert policy_class("tests.routing.user_policy:NewestFirstFree") is NewestFirstFree
    assert policy_class("tests.routing.user_policy.NewestFirstFree") is NewestFirstFree
    assert make_policy("tests.routing.user_policy:NewestFirstFree", unused=2).p["unused"] == 2.0


def test_bad_names_are_refused_with_what_to_write() -> None:
    with pytest.raises(PolicyParamError, match=r"not a closeloop\.routing\.Policy subclass"):
        policy_class("tests.routing.user_policy:NotAPolicy")
    with pytest.raises(PolicyParamError, match="cannot load policy"):
        policy_class("tests.routing.nowhere:X")
    with pytest.raises(PolicyParamError, match=r"package\.module:Class"):
        policy_class("fastest")
    with pytest.raises(PolicyParamError, match="unused"):
        make_policy("tests.routing.user_policy:NewestFirstFree", unused=-1)  # its Param is checked


def test_a_scenario_runs_a_users_policy(tmp_path: Path) -> None:
    text = MMC.read_text(encoding="utf-8").replace('name = "longest_idle"',
                                                   'name = "tests.routing.user_policy:NewestFirstFree"')
    scenario = tmp_path / "mine.toml"
    scenario.write_text(text, encoding="utf-8")
    mine = closeloop.simulate(scenario, replications=2, workers=1, engine="event")
    base = closeloop.simulate(MMC, replications=2, workers=1, engine="event")
    val = {(r["queue"], r["metric"]): r["value"] for r in mine.rows()}
    ref = {(r["queue"], r["metric"]): r["value"] for r in base.rows()}
    assert val[("care_in", "offered")] == ref[("care_in", "offered")]  # same traffic
    # serving the newest first leaves the oldest waiting: the same mean wait, a wider spread —
    # but it must still answer calls within the same capacity
    assert val[("care_in", "occupancy")] == pytest.approx(ref[("care_in", "occupancy")], rel=0.05)
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("NewestFirstFree", "NotAPolicy"), encoding="utf-8")
    with pytest.raises(ScenarioError, match="policy"):
        closeloop.simulate(bad, replications=1, workers=1)
