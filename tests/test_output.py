"""Command output for scripts is strict: JSON never carries NaN/Infinity; tables say yes/no."""

from __future__ import annotations

import json
import math

import pytest

from closeloop.cli.common import OutputFormat, _cell, emit_rows


def test_json_output_is_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    emit_rows([{"asa_s": math.inf, "ci": [math.nan, 0.5], "nested": {"x": -math.inf}, "ok": True}], OutputFormat.json)
    text = capsys.readouterr().out
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}")) == [
        {"asa_s": None, "ci": [None, 0.5], "nested": {"x": None}, "ok": True}
    ]


def test_table_cells_for_people() -> None:
    assert _cell(True) == "yes" and _cell(False) == "no"
    assert _cell(math.inf) == "∞" and _cell(None) == "" and _cell(1234) == "1,234"
