"""Empirical-Bayes shrinkage of many small-sample rates (beta-binomial).

An agent who closed 3 of 4 calls is not a 75 % closer. The beta-binomial model treats
each agent's true rate as drawn from a Beta(alpha, beta) prior fitted to all agents of
the group (by maximum marginal likelihood), and reports the posterior mean
``(x + alpha) / (n + alpha + beta)``: agents with few calls are pulled strongly towards
the group's rate, agents with many calls hardly move. Rankings on shrunk rates do not
put a 9-call agent above a 900-call one by luck (Efron & Morris 1975; Robinson,
*Introduction to Empirical Bayes*, 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import betaln, digamma
from scipy.stats import beta as beta_dist

from closeloop.errors import InputError


@dataclass(frozen=True)
class Shrinkage:
    """Shrunk rates with the prior they were shrunk towards.

    ``estimate`` is the posterior mean per unit; ``low``/``high`` the equal-tailed
    posterior credible interval; ``prior_mean`` = alpha / (alpha + beta) and
    ``prior_strength`` = alpha + beta (how many calls' worth of weight the group rate
    has). ``weight`` is the share of each estimate that comes from the unit's own data,
    n / (n + alpha + beta).
    """

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    alpha: float
    beta: float
    weight: np.ndarray

    @property
    def prior_mean(self) -> float:
        """The rate every unit is shrunk towards."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def prior_strength(self) -> float:
        """alpha + beta: the prior's weight in pseudo-trials."""
        return self.alpha + self.beta


def fit_beta_prior(successes: ArrayLike, n: ArrayLike) -> tuple[float, float]:
    """Maximum marginal-likelihood Beta(alpha, beta) prior for beta-binomial counts.

    Units with ``n == 0`` carry no information and are ignored. When the units show no
    more spread than binomial noise the likelihood keeps rising with alpha + beta; the
    strength is then capped at the total number of trials: a prior fitted on N trials
    cannot carry more than N trials' worth of information, so posterior intervals stay
    honest about the uncertainty of the group rate itself.
    """
    x, m = _check(successes, n)
    keep = m > 0
    x, m = x[keep], m[keep]
    if len(m) == 0:
        raise InputError("no units with any trials to fit a prior on")
    pooled = float(np.clip(x.sum() / m.sum(), 1e-6, 1 - 1e-6))
    if len(m) == 1:
        return pooled * 2.0, (1 - pooled) * 2.0

    cap = float(np.log(m.sum()))

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mu = 1.0 / (1.0 + np.exp(-np.clip(theta[0], -30.0, 30.0)))
        capped = not -10.0 < theta[1] < cap
        s = float(np.exp(np.clip(theta[1], -10.0, cap)))
        a, b = mu * s, (1 - mu) * s
        value = -float(np.sum(betaln(x + a, m - x + b) - betaln(a, b)))
        # d/da and d/db of the log-likelihood, then the chain rule to (logit mu, log s)
        common = np.sum(digamma(a + b) - digamma(m + a + b))
        da = float(np.sum(digamma(x + a) - digamma(a)) + common)
        db = float(np.sum(digamma(m - x + b) - digamma(b)) + common)
        dmu, dlogs = s * (da - db) * mu * (1 - mu), 0.0 if capped else a * da + b * db
        return value, -np.array([dmu, dlogs])

    start = np.array([np.log(pooled / (1 - pooled)), min(np.log(10.0), cap)])
    res = minimize(nll, start, jac=True, method="BFGS", options={"gtol": 1e-6})
    mu = 1.0 / (1.0 + np.exp(-np.clip(res.x[0], -30.0, 30.0)))
    s = float(np.exp(np.clip(res.x[1], -10.0, cap)))
    return float(mu * s), float((1 - mu) * s)


def eb_shrinkage(
    successes: ArrayLike,
    n: ArrayLike,
    prior: tuple[float, float] | None = None,
    conf: float = 0.95,
) -> Shrinkage:
    """Shrink each unit's rate towards the group's, with posterior intervals.

    ``prior`` = (alpha, beta) to use a known prior; by default it is fitted to these units
    with :func:`fit_beta_prior`.

    >>> s = eb_shrinkage([3, 90], [4, 300], prior=(30.0, 70.0))
    >>> [round(v, 4) for v in s.estimate]
    [0.3173, 0.3]
    """
    x, m = _check(successes, n)
    a, b = prior if prior is not None else fit_beta_prior(x, m)
    if a <= 0 or b <= 0:
        raise InputError(f"beta prior parameters must be positive, got ({a}, {b})")
    post_a, post_b = x + a, m - x + b
    tail = (1 - conf) / 2
    return Shrinkage(
        estimate=post_a / (post_a + post_b),
        low=beta_dist.ppf(tail, post_a, post_b),
        high=beta_dist.ppf(1 - tail, post_a, post_b),
        alpha=float(a),
        beta=float(b),
        weight=m / (m + a + b),
    )


def _check(successes: ArrayLike, n: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.atleast_1d(np.asarray(successes, dtype=float))
    m = np.atleast_1d(np.asarray(n, dtype=float))
    if x.shape != m.shape or np.any(m < 0) or np.any(x < 0) or np.any(x > m):
        raise InputError("need one 0 <= successes <= n pair per unit")
    return x, m
