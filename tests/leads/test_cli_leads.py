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
from closeloop.report.leads import LeadModelSection, LeadsSection
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
        ctx = ReportContext(Tables.from_backend(wh.ibis()), Conventions())
        assert LeadsSection().build(ctx) is None and LeadModelSection().build(ctx) is None
    with pytest.raises(EmptySelectionError, match="leads clean"):
        runner.invoke(leads_app, ["dedupe", "--workspace", str(settings.root)], catch_exceptions=False)
    with pytest.raises(EmptySelectionError, match="no lead ready"):
        runner.invoke(leads_app, ["next", "-c", "x", "-a", "y", "--workspace", str(settings.root)],
                      catch_exceptions=False)


def test_attributes_listed_stored_and_used_by_the_score(workspace: Path, tmp_path: Path) -> None:
    ws = ["--workspace", str(workspace)]
    with Warehouse(workspace / "warehouse.duckdb") as wh:
        wh.add_extra_columns("leads", ["time_on_site", "opt_in", "lead_status", "fax"])
        wh.con.execute("""UPDATE leads SET time_on_site = CAST(hash(lead_id) % 30 AS VARCHAR),
            opt_in = CASE WHEN hash(lead_id) % 2 = 0 THEN 'yes' ELSE 'no' END,
            lead_status = CASE WHEN hash(lead_id) % 3 = 0 THEN 'open' ELSE 'closed' END""")
        wh.con.execute("UPDATE leads SET time_on_site = 'lots' WHERE lead_id = (SELECT min(lead_id) FROM leads)")
    rows = {r["name"]: r for r in call("attributes", *ws)}
    assert rows["time_on_site"]["type"] == "number" and rows["time_on_site"]["rejected"] == 1
    assert rows["opt_in"]["type"] == "boolean" and rows["opt_in"]["distinct"] == 2
    assert rows["fax"]["fill_rate"] == 0.0 and rows["true_person"]["type"] == "text"
    with Warehouse(workspace / "warehouse.duckdb", read_only=True) as wh:
        rejects = wh.con.execute("SELECT field, reason FROM rejects WHERE record = 'lead_attributes'").fetchall()
        typed = wh.con.execute("SELECT typeof(time_on_site), typeof(opt_in) FROM lead_attribute_values "
                               "LIMIT 1").fetchone()
    assert rejects == [("time_on_site", "not a number: kept the lead, left time_on_site empty")]
    assert typed == ("DOUBLE", "BOOLEAN")
    call("clean", *ws)
    call("dedupe", *ws)
    card = tmp_path / "card.html"
    result = runner.invoke(leads_app, ["score", *ws, "--as-of", "2025-07-01T00:00:00+00:00", "--report", str(card),
                                       "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "lead_status: leak" in result.stderr  # the warning names the column
    html = card.read_text(encoding="utf-8")
    assert "Columns not used, and why" in html and "lead_status" in html and "<svg" in html
    assert "logistic regression" in html and "source only" in html
    # ... and the report gets the same card as a section
    with Warehouse(workspace / "warehouse.duckdb", read_only=True) as wh:
        section = LeadModelSection().build(ReportContext(Tables.from_backend(wh.ibis()), Conventions()))
    assert section is not None and "Columns not used, and why" in section.html
    assert section.summary[0].startswith("held-out AUC model (gbm)")
