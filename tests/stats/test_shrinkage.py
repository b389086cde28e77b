"""Beta-binomial empirical Bayes: known posterior values and recovery of a planted prior."""

import numpy as np
import pytest
from scipy.stats import beta as beta_dist

from closeloop.errors import InputError
from closeloop.stats import eb_shrinkage, fit_beta_prior


def test_known_prior_gives_textbook_posterior():
    # Beta(81, 219) prior (Robinson's batting-average example scale): 3/4 -> 84/304.
    s = eb_shrinkage([3, 300], [4, 1000], prior=(81.0, 219.0))
    assert s.estimate == pytest.approx([84 / 304, 381 / 1300])
    assert s.low[0] == pytest.approx(beta_dist.ppf(0.025, 84, 220))
    assert s.weight == pytest.approx([4 / 304, 1000 / 1300])
    assert s.prior_mean == pytest.approx(0.27)


def test_small_samples_move_more_than_large():
    s = eb_shrinkage([8, 450, 30], [9, 900, 100], prior=(20.0, 80.0))
    raw = np.array([8 / 9, 0.5, 0.3])
    moved = np.abs(s.estimate - raw)
    assert moved[0] > moved[1]
    # the 9-call star no longer outranks the 900-call agent
    assert s.estimate[0] < s.estimate[1]


def test_fitted_prior_recovers_planted_distribution():
    rng = np.random.default_rng(11)
    true_rates = rng.beta(30, 70, size=400)
    n = rng.integers(50, 400, size=400)
    x = rng.binomial(n, true_rates)
    a, b = fit_beta_prior(x, n)
    assert a / (a + b) == pytest.approx(0.30, abs=0.01)
    assert 60 < a + b < 170  # true strength 100
    shrunk = eb_shrinkage(x, n).estimate
    # shrinkage lowers the error against the truth
    assert np.mean((shrunk - true_rates) ** 2) < np.mean((x / n - true_rates) ** 2)


def test_no_extra_spread_shrinks_to_pooled_rate():
    n = np.full(50, 200)
    x = np.full(50, 60)  # every unit identical: no between-unit variance
    s = eb_shrinkage(x, n)
    assert s.prior_strength == pytest.approx(n.sum(), rel=1e-3)  # capped at the data it came from
    assert s.estimate == pytest.approx(0.3, abs=1e-3)


def test_invalid_input():
    with pytest.raises(InputError):
        eb_shrinkage([5], [3])
    with pytest.raises(InputError):
        fit_beta_prior([0], [0])


def _loglik(x, n, a, b):
    from scipy.special import betaln

    return float(np.sum(betaln(x + a, n - x + b) - betaln(a, b)))


def test_batched_fit_matches_a_general_optimiser():
    """The batched Newton fit reaches the maximum a plain BFGS search finds (or a higher one)."""
    from scipy.optimize import minimize

    from closeloop.stats import fit_beta_priors

    rng = np.random.default_rng(5)
    groups = []
    for k in range(60):
        size = int(rng.integers(2, 30))
        n = rng.integers(1, [5, 60, 400][k % 3], size=size)
        groups.append((rng.binomial(n, rng.beta(20, 60, size=size)), n))
    fitted = fit_beta_priors(groups)
    for (x, n), (a, b) in zip(groups, fitted, strict=True):
        cap = np.log(n.sum())

        def nll(t, x=x, n=n, cap=cap):
            mu, s = 1 / (1 + np.exp(-t[0])), np.exp(np.clip(t[1], -10, cap))
            return -_loglik(x, n, mu * s, (1 - mu) * s)

        p = np.clip(x.sum() / n.sum(), 1e-6, 1 - 1e-6)
        res = minimize(nll, [np.log(p / (1 - p)), np.log(10.0)], method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
        assert _loglik(x, n, a, b) >= -res.fun - 1e-7
        assert a + b <= n.sum() * (1 + 1e-9)  # strength capped at the trials it came from
        assert fit_beta_prior(x, n) == pytest.approx((a, b))


def test_per_unit_priors():
    s = eb_shrinkage([3, 3], [4, 4], prior=(np.array([1.0, 30.0]), np.array([1.0, 70.0])))
    assert s.estimate == pytest.approx([4 / 6, 33 / 104])
