"""The report section "What in the calls predicts lost sales", on the synthetic workspace."""

from __future__ import annotations

import pytest

from closeloop.conversations import default_playbook
from closeloop.conversations.summary import pick_examples
from closeloop.errors import EmptySelectionError
from closeloop.metrics import Conventions, Tables
from closeloop.report import SECTIONS, ReportContext
from closeloop.report.conversations import LostSalesPatterns
from closeloop.settings import Settings
from closeloop.warehouse import Warehouse, open_warehouse
from closeloop.warehouse.conversations import scan


def test_section_is_registered_after_drivers() -> None:
    keys = [s.key for s in SECTIONS]
    assert "conversations" in keys
    if "drivers" in keys:
        assert keys.index("conversations") == keys.index("drivers") + 1


def test_section_ranks_planted_patterns_with_moments(workspace: Settings) -> None:
    with open_warehouse(workspace) as wh:
        scan(wh, default_playbook())
        ctx = ReportContext(Tables.from_backend(wh.ibis()), Conventions())
        result = LostSalesPatterns().build(ctx)
    assert result is not None
    html = result.html
    for label in ("Customer confused", "Skipped: Value statement", "Competitor mentioned"):
        assert label in html
    assert html.index("Customer confused") < html.index("Customer asks to repeat")
    assert "<svg" in html and "by center" in html and "Example moments" in html
    assert "MNL" in html and "AUS" in html
    assert any("Customer confused" in line for line in result.summary)


def test_section_left_out_without_transcripts_and_explains_without_scan(tmp_path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    ctx = ReportContext(Tables.from_backend(wh.ibis()), Conventions())
    assert LostSalesPatterns().build(ctx) is None
    wh.con.execute("INSERT INTO transcripts VALUES ('C1', 0, 'agent', 0, 1, 'hello')")
    with pytest.raises(EmptySelectionError, match="closeloop patterns"):
        LostSalesPatterns().build(ctx)
    wh.close()


def test_pick_examples_prefers_lost_calls_one_per_call() -> None:
    events = [{"call_id": c, "kind": "confusion", "start_s": s} for c, s in
              (("B", 5.0), ("A", 9.0), ("A", 3.0), ("C", 1.0), ("D", 2.0))]
    got = pick_examples(events, lost_calls={"A", "B", "D"}, kinds=["confusion"], per_kind=2)
    assert [(e["call_id"], e["start_s"]) for e in got["confusion"]] == [("A", 3.0), ("B", 5.0)]
