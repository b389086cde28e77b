"""The scorer on typed attributes: leaks excluded, useless columns dropped, reasons add up, calibrated."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from closeloop.leads.attributes import type_attributes
from closeloop.leads.features import attribute_features, drop_uninformative
from closeloop.leads.leakage import find_leaks, post_call_name
from closeloop.leads.planted import LEAKS, planted_leads
from closeloop.leads.scoring import assign_tiers, capacity_cuts, time_split
from closeloop.leads.train import Fitted, fit_and_evaluate

UCI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "uci-bank-marketing" / "bank-additional.csv"


def planted_features(n: int, seed: int) -> tuple[dict[str, Any], list[str], np.ndarray, np.ndarray, list[str]]:
    pl = planted_leads(n, 30, seed=seed)
    typed = type_attributes(pl.leads, {"lead_id", "created_at", "source"})
    created = [datetime.fromisoformat(s) for s in pl.leads.column("created_at").to_pylist()]
    cols, cat, notes = attribute_features(typed, pl.leads.column("lead_id").to_pylist(), created)
    cols["source"] = np.asarray(pl.leads.column("source").to_pylist(), dtype=object)
    return cols, ["source", *cat], pl.y, pl.p_true, [n.feature for n in notes]


@pytest.fixture(scope="module")
def planted() -> tuple[Fitted, dict[str, Any], np.ndarray, np.ndarray, list[str]]:
    cols, cat, y, p_true, noted = planted_features(12_000, seed=4)
    return fit_and_evaluate(cols, y, cat, seed=0), cols, y, p_true, noted


def test_planted_leaks_are_excluded_with_a_warning_naming_them(planted: Any) -> None:
    fit, _, _, _, _ = planted
    reasons = {n.feature: n.reason for n in fit.notes}
    for leak in LEAKS:
        assert leak not in fit.model.encoding.names
        assert reasons[leak].startswith("leak:")
    assert "filled only on converted" in reasons["tags"]
    assert "AUC" in reasons["engagement_final"]
    assert {"time_on_site_min", "lead_origin", "last_activity_at"} <= set(fit.model.encoding.names)


def test_empty_constant_and_text_columns_are_noted_not_fatal(planted: Any) -> None:
    fit, _, _, _, noted = planted
    reasons = {n.feature: n.reason for n in fit.notes}
    assert reasons["market"] == "the same value for every lead"
    assert {"fax", "notes"} <= set(noted)  # empty for every lead; free text
    cols = {"source": np.array(["a", "b"] * 200, dtype=object), "empty": np.full(400, np.nan),
            "empty_cat": np.array([None] * 400, dtype=object), "x": np.arange(400.0)}
    keep, notes = drop_uninformative(cols, ["source", "empty_cat"])
    assert keep == ["source", "x"] and {n.feature for n in notes} == {"empty", "empty_cat"}


def test_reasons_sum_to_the_scores_log_odds(planted: Any) -> None:
    fit, cols, _, _, _ = planted
    model = fit.model
    rows = {k: v[:500] for k, v in cols.items() if k in model.encoding.names}
    contrib, base = model.contributions(rows)
    p = model.predict(rows)
    assert np.allclose(contrib.sum(axis=1) + base, np.log(p / (1 - p)), atol=1e-6)
    words = model.reasons(rows)
    assert all(r and "log-odds" in r[0] for r in words[:50])


def test_calibrated_probabilities_match_the_planted_truth(planted: Any) -> None:
    fit, _cols, y, p_true, _ = planted
    test = slice(int(fit.split["train"]), len(y))
    held = fit.reports[0]
    assert held.ece < 0.03  # observed vs predicted on the newest leads
    tiers = {t["tier"]: t for t in fit.tiers}
    assert tiers["A"]["observed"] > tiers["B"]["observed"] > tiers["C"]["observed"] > tiers["D"]["observed"]
    for t in fit.tiers:  # each tier's stated chance inside (or within 3 pts of) its observed interval
        assert t["observed_low"] - 0.03 <= t["stated"] <= t["observed_high"] + 0.03
    oracle = roc_auc_score(y[test], p_true[test])
    assert held.auc > oracle - 0.03  # close to the best any model could do
    names = [r.name for r in fit.reports]
    assert names == ["model (gbm)", "logistic regression", "source only"]
    assert fit.auc_gain is not None and fit.auc_gain[1] > 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=2, max_size=300), st.floats(0.05, 0.95))
def test_time_split_never_trains_on_a_lead_newer_than_a_test_lead(minutes: list[int], share: float) -> None:
    created = np.sort(np.array([datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=m) for m in minutes]))
    train, test = time_split(len(created), share)
    if len(created[train]) and len(created[test]):
        assert max(created[train]) <= min(created[test])
    assert len(created[train]) + len(created[test]) == len(created)


def test_capacity_tiers() -> None:
    p = np.linspace(0, 1, 101)
    tiers = assign_tiers(p, capacity_cuts(p, 10))
    assert (tiers == "A").sum() == 10 and (tiers == "B").sum() == 20 and (tiers == "C").sum() == 30
    assert set(tiers[p > 0.9]) == {"A"}


def test_a_declared_column_is_not_excluded_by_its_name() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.3).astype(int)
    cols = {"lead_status": rng.normal(size=2000), "marital_status": rng.normal(size=2000)}
    assert [n.feature for n in find_leaks(cols, [], y)] == ["lead_status"]
    assert find_leaks(cols, [], y, declared_safe=frozenset({"lead_status"})) == []
    assert post_call_name("duration") and post_call_name("call_duration_s") and not post_call_name("age")


def test_uci_duration_is_detected_as_a_leak() -> None:
    with UCI.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    table = pa.table({"lead_id": [str(i) for i in range(len(rows))],
                      **{k: pa.array([r[k] for r in rows]) for k in rows[0] if k != "y"}})
    typed = type_attributes(table, {"lead_id"})
    assert typed.get("duration").type.value == "number" and typed.get("job").type.value == "category"
    start = datetime(2008, 5, 1, tzinfo=UTC)
    created = [start + timedelta(hours=i) for i in range(len(rows))]
    cols, cat, _ = attribute_features(typed, table.column("lead_id").to_pylist(), created)
    y = np.array([r["y"] == "yes" for r in rows], dtype=int)
    cols["source"] = cols["contact"]
    fit = fit_and_evaluate(cols, y, [*cat, "source"], seed=0)
    assert "duration" not in fit.model.encoding.names
    assert fit.reports[0].auc > 0.75 and fit.auc_gain is not None and fit.auc_gain[1] > 0.05
