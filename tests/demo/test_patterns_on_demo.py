"""Conversation analytics on the demo operation finds the planted effects and not the absent ones.

The demo's outcome model lowers the odds of a sale when the customer is confused, the
agent skips the value statement, a competitor comes up, or a price objection goes
unanswered. ``closeloop patterns`` must rank those on top, significant, with the right sign.
Raising a price objection is not itself planted (only leaving it unanswered is), so the
objection detector must not come out significant after adjustment.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from closeloop.cli.app import app

PLANTED = {"confusion", "no_value_statement", "competitor", "unanswered_price_objection"}


def test_planted_patterns_rank_on_top_with_the_right_sign(small_demo: tuple[Path, str]) -> None:
    root, _ = small_demo
    result = CliRunner().invoke(app, ["patterns", "-w", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["feature"]: r for r in json.loads(result.output[result.output.index("["):])}
    for feature in PLANTED:
        r = rows[feature]
        assert r["significant"], feature
        assert r["adj_diff_high"] < 0 and r["diff_high"] < 0, feature
    ranked = [r["feature"] for r in sorted(rows.values(), key=lambda r: -(r["cost_per_1000"] or 0))
              if r["significant"]]
    assert set(ranked[:4]) == PLANTED
    assert not rows["price_objection"]["significant"]
