"""Activity events as features: only what happened before the call counts, and it helps the ranking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from closeloop.ingest import ingest_file
from closeloop.leads.activity import activity_features, event_kinds
from closeloop.leads.attributes import type_attributes
from closeloop.leads.clean import CleanRules, clean_leads
from closeloop.leads.dedupe import dedupe_leads
from closeloop.leads.synthetic import synthetic_calls, synthetic_leads
from closeloop.leads.train import call_history, train_and_score
from closeloop.warehouse import Warehouse

T = datetime(2025, 3, 1, tzinfo=UTC)
AS_OF = datetime(2025, 7, 1, tzinfo=UTC)


def events(rows: list[tuple[str, datetime, str, float | None]]) -> pa.Table:
    lead, at, kind, value = zip(*rows, strict=True)
    return pa.table({"lead_id": list(lead), "at": pa.array(at, pa.timestamp("us", "UTC")), "kind": list(kind),
                     "value": pa.array(value, pa.float64())})


def test_only_events_before_the_cutoff_count() -> None:
    ev = events([("a1", T - timedelta(hours=5), "page_visit", 30.0), ("a2", T - timedelta(hours=1), "page_visit", 10.0),
                 ("a1", T + timedelta(hours=1), "page_visit", 99.0), ("b", T - timedelta(hours=2), "webinar", None),
                 ("zz", T, "webinar", None)])
    got = activity_features(ev, ["a1,a2", "b", "c"], [T, T, T])
    assert got["events_n"].tolist() == [2, 1, 0]  # a1's event after the cut-off is not seen; a2 is a1's duplicate
    assert got["page_visit_n"].tolist() == [2, 0, 0] and got["page_visit_value"].tolist() == [40, 0, 0]
    assert got["page_visit_last_h"][0] == pytest.approx(1.0) and np.isnan(got["page_visit_last_h"][2])
    assert got["webinar_last_h"][1] == pytest.approx(2.0) and "webinar_value" not in got
    assert event_kinds(ev) == {"page_visit": True, "webinar": False}


def test_activity_improves_the_ranking_without_leaking_what_came_after() -> None:
    merged = dedupe_leads(clean_leads(synthetic_leads(4000, seed=8), CleanRules(default_country="US"))).merged
    calls = synthetic_calls(merged, AS_OF, seed=8)
    history = call_history(merged, calls)
    rng = np.random.default_rng(0)
    rows = []
    for lead_id, created, sold, first in zip(merged.column("lead_id").to_pylist(),
                                             merged.column("created_at").to_pylist(), history.sold,
                                             history.first_call, strict=True):
        end = first or AS_OF
        for _ in range(rng.poisson(3.0 if sold else 0.5)):  # interest before the call
            rows.append((lead_id, created + (end - created) * rng.random(), "webinar", None))
        if sold:  # onboarding happens after the sale: must not become a feature of the history
            rows.append((lead_id, end + timedelta(days=1), "onboarding", 1.0))
    ev = events(rows)
    plain = train_and_score(merged, calls, AS_OF)
    active = train_and_score(merged, calls, AS_OF, events=ev)
    assert active.reports[0].auc > plain.reports[0].auc + 0.05
    assert "webinar_n" in active.features
    assert "onboarding_n" not in active.features  # zero for every called lead before its call: dropped as constant


def test_lead_events_load_through_validated_ingest(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_id,lead_id,at,kind,value\nE1,L1,2025-01-01T10:00:00Z,page_visit,30\n"
                    "E2,L2,yesterday,webinar,\nE3,L1,2025-01-02T10:00:00Z,webinar,\n", encoding="utf-8")
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        result = ingest_file(wh, "lead_events", path)
        loaded = wh.query("SELECT event_id, kind, value FROM lead_events ORDER BY event_id").to_pylist()
        rejects = wh.con.execute("SELECT line, field FROM rejects WHERE record = 'lead_events'").fetchall()
    assert result.loaded == 2 and result.rejected == 1
    assert [r["event_id"] for r in loaded] == ["E1", "E3"] and loaded[0]["value"] == 30
    assert rejects == [(3, "at")]


def test_a_time_updated_after_the_call_is_excluded() -> None:
    merged = dedupe_leads(clean_leads(synthetic_leads(3000, seed=9), CleanRules(default_country="US"))).merged
    calls = synthetic_calls(merged, AS_OF, seed=9)
    history = call_history(merged, calls)
    created = merged.column("created_at").to_pylist()
    table = pa.table({
        "lead_id": merged.column("lead_id"),
        "visited_at": [(c - timedelta(hours=1 + i % 50)).isoformat() for i, c in enumerate(created)],  # before: fine
        "closed_at": [None if f is None else (f + timedelta(days=1)).isoformat() for f in history.first_call],
    })
    typed = type_attributes(table, {"lead_id"})
    run = train_and_score(merged, calls, AS_OF, attributes=typed)
    reasons = {n.feature: n.reason for n in run.notes}
    assert "after the lead's first call" in reasons["closed_at"]
    assert "closed_at" not in run.features and "visited_at" in run.features
