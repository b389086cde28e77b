"""docs/metrics.md documents every metric and every scorecard dimension."""

from pathlib import Path

from closeloop.metrics import METRICS
from closeloop.metrics.frame import BASE_DIMENSIONS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")


def test_every_metric_has_a_row_in_the_definitions_table():
    for name in METRICS:
        assert f"| `{name}` |" in DOC, f"{name} is not documented in docs/metrics.md"


def test_every_dimension_is_listed():
    for dim in BASE_DIMENSIONS:
        assert dim in DOC
