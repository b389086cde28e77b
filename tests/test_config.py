"""One configuration mechanism for every file: key paths, the closest valid name, a JSON Schema each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from closeloop.config import SCHEMAS, json_schema
from closeloop.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_is_a_json_schema_with_its_tables(name: str) -> None:
    schema = json_schema(name)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["properties"], name
    assert schema.get("additionalProperties") is False  # unknown top-level keys are refused


def test_the_four_files_have_schemas() -> None:
    assert {"settings", "playbook", "contracts", "scenario"} <= set(SCHEMAS)


def test_schema_command_prints_json(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "closeloop", "schema", "scenario"], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert r.returncode == 0 and "queues" in json.loads(r.stdout)["properties"]


def _typo(text: str, good: str, bad: str) -> str:
    """The first assignment ``good = ...`` at the start of a line renamed ``bad`` (comments untouched)."""
    import re

    out, n = re.subn(rf"(?m)^(\s*){good}(\s*=)", rf"\g<1>{bad}\g<2>", text, count=1)
    assert n == 1, good
    return out


@pytest.mark.parametrize(("kind", "good", "bad", "key", "suggest"), [
    ("scenario", "handle_mean_s", "handle_mean", "queues[0].handle_mean", "handle_mean_s"),
    ("contracts", "direction", "directon", "directon", "direction"),
    ("playbook", "phrases", "phrase", "phrase", "phrases"),
])
def test_a_misspelt_key_is_answered_with_the_closest_name(kind: str, good: str, bad: str, key: str,
                                                          suggest: str) -> None:
    from closeloop.contracts import parse_contracts
    from closeloop.conversations import default_playbook_text, parse_playbook
    from closeloop.sim.scenario_file import parse_scenario

    source = {"scenario": (ROOT / "examples/scenarios/mmc.toml").read_text(encoding="utf-8"),
              "contracts": (ROOT / "examples/contracts/contracts.toml").read_text(encoding="utf-8"),
              "playbook": default_playbook_text()}[kind]
    parse = {"scenario": parse_scenario, "contracts": parse_contracts, "playbook": parse_playbook}[kind]
    parse(source, "f.toml")  # the original is valid
    with pytest.raises(ScenarioError) as err:
        parse(_typo(source, good, bad), "f.toml")
    assert key in err.value.key and f"did you mean '{suggest}'" in err.value.problem


def test_every_example_scenario_passes_the_shape_check() -> None:
    from closeloop.sim.scenario_file import parse_scenario

    for path in sorted((ROOT / "examples/scenarios").glob("*.toml")):
        parse_scenario(path.read_text(encoding="utf-8"), str(path))
