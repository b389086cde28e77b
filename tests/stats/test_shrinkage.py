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
