"""Pattern → outcome: a hand-computed lift, and the planted effects recovered on synthetic calls."""

from __future__ import annotations

import math

import numpy as np
import pytest

from closeloop.conversations import Detector, batch_from_transcripts, default_playbook, feature_catalog
from closeloop.conversations.detect import Feature
from closeloop.conversations.outcomes import mean_effects, pattern_effects, prevalence_by_group
from closeloop.conversations.synthetic import PLANTED, SyntheticCalls

FEAT = [Feature("confusion", "Customer confused", "detector", "sales")]


def test_lift_matches_hand_computation() -> None:
    """40 calls with the pattern (8 sales), 60 without (24 sales).

    rate_with = 8/40 = 0.20, rate_without = 24/60 = 0.40, diff = -0.20.
    Wilson 95% for 8/40: centre (8 + 1.9208)/(40 + 3.8415) = 0.22629, half-width
    1.95996*sqrt(40*0.2*0.8 + 0.96037)/43.8415 = 0.12129 -> (0.10500, 0.34757).
    Pooled z: p = 32/100, se = sqrt(.32*.68*(1/40+1/60)) = 0.095219, z = -2.1004, p = 0.03569.
    With no covariates the logistic model is saturated: OR = (8/32)/(24/36) = 0.375, and the
    average marginal effect equals the raw difference, -0.20; cost = 0.20 * 0.40 * 1000 = 80.
    """
    f = np.array([True] * 40 + [False] * 60)
    y = np.array([True] * 8 + [False] * 32 + [True] * 24 + [False] * 36)
    (e,) = pattern_effects({"confusion": f}, y, FEAT, min_calls=10)
    assert (e.n_with, e.n_calls, e.prevalence) == (40, 100, 0.4)
    assert (e.rate_with, e.rate_without) == (0.2, 0.4)
    assert e.rate_with_ci == pytest.approx((0.10500, 0.34757), abs=1e-4)
    assert e.diff == pytest.approx(-0.2)
    assert e.pvalue == pytest.approx(0.03569, abs=2e-4)
    assert e.odds_ratio == pytest.approx(0.375, rel=1e-3)
    assert e.adjusted_diff == pytest.approx(-0.2, abs=1e-4)
    lo, hi = e.adjusted_diff_ci
    assert lo < -0.2 < hi < 0
    assert e.cost_per_1000 == pytest.approx(80.0, abs=0.05)
    assert e.diff_ci[0] < -0.2 < e.diff_ci[1] < 0  # Newcombe interval excludes 0, like the test
    assert e.significant


def test_adjustment_removes_a_confounded_effect() -> None:
    """The pattern is common only in a weak center and has no effect of its own there."""
    rng = np.random.default_rng(5)
    n = 4000
    center = rng.random(n) < 0.5
    f = rng.random(n) < np.where(center, 0.6, 0.1)
    y = rng.random(n) < np.where(center, 0.15, 0.45)
    (e,) = pattern_effects({"confusion": f}, y, FEAT, covariates={"center_id": np.where(center, "A", "B").tolist()})
    assert e.diff < -0.15 and e.qvalue < 1e-6  # raw: looks terrible
    assert e.adjusted_diff_ci[0] < 0 < e.adjusted_diff_ci[1]  # adjusted: no effect
    assert not e.significant


def test_small_samples_are_listed_last_and_never_significant() -> None:
    f = np.zeros(200, dtype=bool)
    f[:5] = True
    y = np.zeros(200, dtype=bool)
    y[5:100] = True
    big = np.arange(200) % 2 == 0
    cat = [*FEAT, Feature("big", "Big", "detector", "sales")]
    effects = pattern_effects({"confusion": f, "big": big}, y, cat)
    assert [e.feature for e in effects] == ["big", "confusion"]
    assert not effects[1].significant and "fewer than 30" in effects[1].note


def test_csat_and_prevalence_helpers() -> None:
    f = np.array([True, True, True, False, False, False])
    score = np.array([1, 2, 3, 4, 5, np.nan])
    (m,) = mean_effects({"confusion": f}, score, FEAT)
    assert (m.mean_with, m.mean_without, m.diff, m.n_without) == (2.0, 4.5, -2.5, 2)
    rows = prevalence_by_group({"confusion": f}, ["A", "A", "B", "B", "B", "B"], FEAT)
    assert [(r["group"], r["with"], r["calls"]) for r in rows] == [("A", 2, 2), ("B", 1, 4)]


@pytest.fixture(scope="module")
def effects(synthetic: SyntheticCalls) -> dict[str, object]:
    detector = Detector(default_playbook())
    found = detector.run(batch_from_transcripts(synthetic.transcripts))
    source = {lead["lead_id"]: lead["source"] for lead in synthetic.leads}
    covs = {"center_id": [c["center_id"] for c in synthetic.calls],
            "source": [source[c["lead_id"]] for c in synthetic.calls],
            "agent_id": [c["agent_id"] for c in synthetic.calls]}
    ranked = pattern_effects(found.features, synthetic.truth["sale"], feature_catalog(detector.playbook), covs)
    return {e.feature: e for e in ranked} | {"_order": [e.feature for e in ranked]}


def test_planted_effects_come_out_on_top_with_the_right_sign(effects: dict) -> None:
    planted = [k for k, beta in PLANTED.items() if beta < 0]
    top = effects["_order"][: len(planted) + 1]  # + price_objection itself, which carries the unanswered ones
    for name in ("confusion", "no_value_statement", "competitor"):
        assert name in top[:4], (name, top)
    for name in planted:
        e = effects[name]
        assert e.significant and e.adjusted_diff_ci[1] < 0 and e.odds_ratio < 1, name


@pytest.mark.parametrize("name", [k for k, beta in PLANTED.items() if beta == 0])
def test_null_patterns_are_not_significant(effects: dict, name: str) -> None:
    e = effects[name]
    assert e.n_with > 100  # present often enough that significance was possible
    assert not e.significant
    assert e.adjusted_diff_ci[0] < 0 < e.adjusted_diff_ci[1]


def test_adjusted_log_odds_near_planted_value(effects: dict) -> None:
    """The odds ratio of confusion estimates exp(-1.0) (detection is near-perfect on synthetic text)."""
    e = effects["confusion"]
    assert math.log(e.odds_ratio_ci[0]) < PLANTED["confusion"] < math.log(e.odds_ratio_ci[1])
