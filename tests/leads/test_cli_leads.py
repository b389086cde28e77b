"""``closeloop leads ...`` end to end on a workspace filled with synthetic leads and calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from closeloop.cli.leads import leads_app
from closeloop.errors import EmptySelectionError
from closeloop.leads.clean import CleanRules, clean_leads
from closeloop.leads.dedupe import dedupe_leads
from closeloop.leads.synthetic import synthetic_calls, synthetic_leads
from closeloop.metrics import Conventions, Tables
from closeloop.report import ReportContext
from closeloop.report.leads import LeadsSection
from closeloop.settings import init_workspace
from closeloop.warehouse import Warehouse

runner = CliRunner()


def call(*args: str) -> list[dict[str, object]]:
    result = runner.invoke(leads_app, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    settings = init_workspace(tmp_path / "ws")
    raw = synthetic_leads(1500, seed=2, start=datetime(2025, 1, 1, tzinfo=UTC))
    merged = dedupe_leads(clean_leads(raw, CleanRules(default_country="US"))).merged
    # history for the first half of the year; leads after it are new and uncalled
    calls = synthetic_calls(merged, datetime(2025, 5, 1, tzinfo=UTC), seed=2)
    with Warehouse(settings.warehouse_path()) as wh:
        for name, table in (("leads", raw), ("calls", calls)):
            if name == "leads":
                wh.add_extra_columns("leads", ["true_person"])
            wh.con.register("t", table)
            wh.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM t")
            wh.con.unregister("t")
        wh.con.execute("INSERT INTO centers VALUES ('C1', 'in-house', 'US', 'America/New_York', 'HQ')")
    return settings.root


def test_clean_dedupe_score_queue_next_outcome_followups(workspace: Path) -> None:
    ws = ["--workspace", str(workspace)]
    summary = {(r["what"], r["value"]): r["count"] for r in call("clean", *ws)}
    assert summary[("leads", "all")] == 1500 and summary[("status", "enrichment")] > 0
    stats = {r["what"]: r["value"] for r in call("dedupe", *ws)}
    assert 0 < stats["duplicates_merged"] < 1500 * 0.1
    quality = call("score", *ws, "--as-of", "2025-07-01T00:00:00+00:00")
    assert quality[0]["name"].startswith("model")
    shown = call("queue", *ws, "--campaign", "spring", "--limit", "5")
    assert len(shown) == 5 and all(r["reasons"] for r in shown)
    first = call("next", *ws, "--campaign", "spring", "--agent", "ann")[0]
    assert first["lead_id"] == shown[0]["lead_id"] or shown[0]["escalated"] is not first["escalated"]
    decision = call("outcome", str(first["item"]), "callback", *ws)[0]
    assert decision["action"] == "schedule" and decision["next_attempt"] == 2
    pending = call("followups", *ws, "--campaign", "spring", "--pending")
    assert [p["lead_id"] for p in pending] == [first["lead_id"]]
    again = runner.invoke(leads_app, ["outcome", str(first["item"]), "sale", *ws])
    assert again.exit_code != 0  # already recorded: not claimed any more
    assert runner.invoke(leads_app, ["dnc", "212 555 0100", "--country", "US", *ws]).exit_code == 0
    # the report's leads section reads what the commands stored
    with Warehouse(workspace / "warehouse.duckdb", read_only=True) as wh:
        result = LeadsSection().build(ReportContext(Tables.from_backend(wh.ibis()), Conventions()))
    assert result is not None and "Funnel by score tier" in result.html and "Speed-to-lead" in result.html
    assert any("speed-to-lead" in line for line in result.summary)


def test_commands_say_what_to_run_first(tmp_path: Path) -> None:
    settings = init_workspace(tmp_path / "empty")
    with Warehouse(settings.warehouse_path()) as wh:
        assert LeadsSection().build(ReportContext(Tables.from_backend(wh.ibis()), Conventions())) is None
    with pytest.raises(EmptySelectionError, match="leads clean"):
        runner.invoke(leads_app, ["dedupe", "--workspace", str(settings.root)], catch_exceptions=False)
    with pytest.raises(EmptySelectionError, match="no lead ready"):
        runner.invoke(leads_app, ["next", "-c", "x", "-a", "y", "--workspace", str(settings.root)],
                      catch_exceptions=False)
