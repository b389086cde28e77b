"""Logistic regression against scikit-learn's unpenalised fit and the Fisher information."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from closeloop.errors import InputError
from closeloop.stats import logistic_regression


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 3000
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, size=n).astype(float)
    eta = -0.5 + 0.8 * x1 - 1.2 * x2
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return np.column_stack([np.ones(n), x1, x2]), y


def test_coefficients_match_sklearn(data):
    X, y = data
    fit = logistic_regression(X, y, ["const", "x1", "x2"])
    ref = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=1000).fit(X, y)
    assert fit.converged
    assert fit.coef == pytest.approx(ref.coef_[0], abs=1e-4)
    # and recovers the planted effects within its own intervals
    assert np.all(fit.ci_low < [-0.5, 0.8, -1.2]) and np.all(fit.ci_high > [-0.5, 0.8, -1.2])


def test_standard_errors_are_inverse_fisher_information(data):
    X, y = data
    fit = logistic_regression(X, y)
    mu = 1 / (1 + np.exp(-X @ fit.coef))
    info = X.T @ (X * (mu * (1 - mu))[:, None])
    assert fit.se == pytest.approx(np.sqrt(np.diag(np.linalg.inv(info))), rel=1e-6)
    assert fit.pvalues[2] < 1e-6


def test_aggregated_cells_equal_individual_rows():
    # One binary covariate: 4 cells of (successes, trials) vs the expanded 0/1 rows.
    cells = np.array([[1, 0, 30, 100], [1, 1, 12, 80], [1, 0, 5, 20], [1, 1, 40, 90]], float)
    X, y, m = cells[:, :2], cells[:, 2], cells[:, 3]
    agg = logistic_regression(X, y, ["const", "b"], trials=m)
    rows = np.repeat(X, m.astype(int), axis=0)
    ys = np.concatenate([np.r_[np.ones(int(s)), np.zeros(int(t - s))] for s, t in zip(y, m, strict=True)])
    ind = logistic_regression(rows, ys, ["const", "b"])
    assert agg.coef == pytest.approx(ind.coef, abs=1e-8)
    assert agg.se == pytest.approx(ind.se, rel=1e-6)
    # saturated-in-b model: fitted probabilities equal the pooled rates per level
    assert agg.predict([[1, 0], [1, 1]]) == pytest.approx([35 / 120, 52 / 170])


def test_separation_reports_not_converged_and_ridge_keeps_it_finite():
    X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    y = np.array([0, 0, 0, 1, 1, 1], float)
    assert not logistic_regression(X, y, max_iter=25).converged
    ridged = logistic_regression(X, y, ridge=1e-2)
    assert ridged.converged and np.all(np.isfinite(ridged.coef))


def test_bad_shapes_raise_input_error():
    with pytest.raises(InputError):
        logistic_regression(np.ones((3, 2)), np.ones(4))
    with pytest.raises(InputError):
        logistic_regression(np.ones((3, 2)), np.ones(3), ["only_one"])
