"""Playbook parsing: the default is valid and rich; every mistake is refused with key and problem."""

from __future__ import annotations

import tomllib

import pytest

from closeloop.conversations import default_playbook, default_playbook_text, normalize, parse_playbook
from closeloop.errors import ScenarioError

MINIMAL = """
[detectors.confusion]
phrases = ["i'm confused"]
"""


def test_default_playbook_is_valid_and_complete() -> None:
    pb = default_playbook()
    names = {c.name for c in pb.detectors}
    assert {"confusion", "repeat_request", "price_objection", "competitor", "gives_up", "hold"} <= names
    assert [s.name for s in pb.steps] == ["greeting", "needs_discovery", "value_statement", "price", "close_attempt",
                                          "order_capture"]
    assert "price_objection" in pb.answers
    assert all(len(c.phrases) >= 10 for c in pb.detectors)  # rich enough for a demo generator to reuse
    assert "vantel" in pb.cue("competitor").phrases  # competitor names are phrases too
    assert pb.digest == parse_playbook(default_playbook_text()).digest


def test_phrases_are_normalised() -> None:
    pb = parse_playbook('[detectors.x]\nphrases = ["That\u2019s  Too Expensive "]\n')
    assert pb.cue("x").phrases == ("that's  too expensive",)
    assert normalize("Don\u2019t\nGo") == "don't go"


@pytest.mark.parametrize(("text", "key", "problem"), [
    ("[detectors.confusion]\nphrases = ['x']\nspeker = 'agent'\n", "detectors.confusion.speker", "unknown key"),
    ("[detectors.confusion]\nphrases = ['x']\nspeaker = 'robot'\n", "detectors.confusion.speaker", "not one of"),
    ("[detectors.confusion]\nphrases = 'x'\n", "detectors.confusion.phrases", "must be a list"),
    ("[detectors.confusion]\nphrases = ['x', ' ']\n", "detectors.confusion.phrases[1]", "is empty"),
    ("[detectors.confusion]\nlabel = 'C'\n", "detectors.confusion", "at least one phrase"),
    ("[detectors.confusion]\npatterns = ['(unclosed']\n", "detectors.confusion.patterns[0]", "bad regular expression"),
    ("[detectors.Confusion]\nphrases = ['x']\n", "detectors.Confusion", "lower_snake_case"),
    (MINIMAL + "[settings]\ndead_air_s = -1\n", "settings.dead_air_s", "must not be negative"),
    (MINIMAL + "[settings]\nsemantic_threshold = 1.5\n", "settings.semantic_threshold", "must be < 1"),
    (MINIMAL + "[settings]\nanswer_within_turns = 1.5\n", "settings.answer_within_turns", "must be an integer"),
    (MINIMAL + "[settings]\ndeadair = 3\n", "settings.deadair", "unknown key"),
    (MINIMAL + "[script]\nsteps = ['greeting']\n", "script.greeting", "has no table"),
    (MINIMAL + "[script]\nsteps = []\n[script.greeting]\nphrases = ['hi']\n", "script.greeting", "not listed"),
    (MINIMAL + "[script]\nsteps = ['a', 'a']\n[script.a]\nphrases = ['hi']\n", "script.steps", "twice"),
    (MINIMAL + "[script]\nsteps = ['confusion']\n[script.confusion]\nphrases = ['hi']\n", "script.confusion",
     "same name"),
    (MINIMAL + "[script]\nsteps = ['g']\n[script.g]\nphrases = ['hi']\nfirst_turns = 0\n", "script.g.first_turns",
     "must be ≥ 1"),
    ("[detectors.x]\nphrases = ['a']\n[detectors.x.answer]\nphrases = ['b']\nlabel = 'no'\n",
     "detectors.x.answer.label", "unknown key"),
    ("[detectorz.x]\nphrases = ['a']\n", "detectorz", "unknown key"),
    ("[settings]\n", "detectors", "at least one detector"),
    ("[detectors.x\n", "(file)", "not valid TOML"),
])
def test_mistakes_are_refused_with_key_and_problem(text: str, key: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_playbook(text, source="company.toml")
    assert err.value.path == "company.toml"
    assert err.value.key == key
    assert problem in err.value.problem
    assert str(err.value).startswith(f"company.toml: {key}: ")


def test_default_toml_keys_are_all_understood() -> None:
    """Every table of the shipped file parses, so editing a copy starts from something valid."""
    data = tomllib.loads(default_playbook_text())
    assert set(data) == {"settings", "detectors", "script"}
