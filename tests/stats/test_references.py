"""closeloop's statistics against independent references: statsmodels and published values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from closeloop.stats.logistic import logistic_regression


def _statsmodels():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own deprecation notices are not ours to fail on
        import statsmodels.api as sm
    return sm


def test_logistic_regression_equals_statsmodels_on_individual_rows() -> None:
    sm = _statsmodels()
    rng = np.random.default_rng(3)
    n = 2000
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n), rng.uniform(-1, 1, n)])
    y = rng.random(n) < 1 / (1 + np.exp(-(X @ np.array([-0.5, 0.8, -0.4, 0.3]))))
    ours = logistic_regression(X, y.astype(float))
    ref = sm.GLM(y.astype(float), X, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(ours.coef, ref.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.se, ref.bse, rtol=1e-6)
    np.testing.assert_allclose(ours.pvalues, ref.pvalues, rtol=1e-5, atol=1e-12)
    assert ours.loglik == pytest.approx(ref.llf, rel=1e-9)
    low, high = ref.conf_int(alpha=0.05).T
    np.testing.assert_allclose(ours.ci_low, low, rtol=1e-6)
    np.testing.assert_allclose(ours.ci_high, high, rtol=1e-6)


def test_logistic_regression_equals_statsmodels_on_grouped_trials() -> None:
    sm = _statsmodels()
    # cells: successes of trials per (group, source), as the mix adjustment fits them
    X = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [1, 0, 0], [1, 1, 1]], float)
    successes = np.array([12, 30, 7, 21, 9, 40], float)
    trials = np.array([100, 120, 80, 90, 70, 150], float)
    ours = logistic_regression(X, successes, trials=trials)
    ref = sm.GLM(np.column_stack([successes, trials - successes]), X, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(ours.coef, ref.params, rtol=1e-8)
    np.testing.assert_allclose(ours.se, ref.bse, rtol=1e-6)


def test_hanley_mcneil_interval_matches_the_papers_example() -> None:
    """Hanley & McNeil (1982), Radiology 143:29-36: 51 abnormal and 58 normal CT images, A = 0.893, SE 0.032."""
    from closeloop.leads.evaluate import auc_interval

    low, high = auc_interval(0.893, 51, 58)
    se = (high - low) / 2 / 1.959964
    assert se == pytest.approx(0.032, abs=0.0006)
    assert (low + high) / 2 == pytest.approx(0.893, abs=1e-9)
