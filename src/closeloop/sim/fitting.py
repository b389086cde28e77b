"""Fitting duration distributions to observed calls: talk times, and patience under censoring.

**Talk and wrap-up times** are fully observed. Each parametric family (exponential, gamma,
lognormal, Weibull) is fitted by maximum likelihood (``scipy.stats``, location fixed at
0) and judged by the Kolmogorov–Smirnov distance ``D = max |F_fit − F_obs|`` (the share of
calls the fitted curve misplaces at worst) and by AIC. The family with the smallest ``D``
is used when ``D ≤ max_ks`` (default 0.05); otherwise the data's own quantiles are kept
(``empirical``) — with thousands of calls every family is "rejected" by a test, so the
threshold is on the size of the misfit, not on a p-value.

**Patience** is never seen for a served caller: its wait is only a lower bound (it would
have waited at least that long). Waits of served callers are therefore right-censored
observations, abandonments are events (those logged below the clock's one-second
resolution only known to be below it). The Kaplan–Meier estimator gives the survival
curve ``S(t) = P(patience > t)`` without a model; exponential, Weibull and lognormal are
fitted by censored maximum likelihood (``Σ log f(t)`` over abandonments + ``Σ log S(t)``
over served callers), the lowest AIC is used, and ``D`` is the largest gap between the
fitted survival and Kaplan–Meier while at least ``min_at_risk`` callers are still waiting
(Brown et al., JASA 2005, who used this bank's data, estimate patience the same way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as sps

from closeloop.errors import InputError
from closeloop.sim.dists import Dist, empirical

FAMILIES = ("exponential", "gamma", "lognormal", "weibull")
RESOLUTION_S = 1.0  # waits are logged in whole seconds: an abandonment below this is only known to be below it


@dataclass(frozen=True)
class Fit:
    """One fitted family: the distribution, its misfit ``ks`` (D) and its AIC."""

    dist: Dist
    ks: float
    aic: float
    n: int


def _family(kind: str, x: np.ndarray) -> tuple[Dist, int]:
    """Maximum-likelihood fit of one family to positive data; (distribution, parameter count)."""
    if kind == "exponential":
        return Dist("exponential", (("mean", float(x.mean())),)), 1
    if kind == "gamma":
        a, _, scale = sps.gamma.fit(x, floc=0)
        return Dist("gamma", (("mean", a * scale), ("sd", math.sqrt(a) * scale))), 2
    if kind == "lognormal":
        lx = np.log(x)
        mu, s2 = float(lx.mean()), float(lx.var())
        mean = math.exp(mu + s2 / 2)
        return Dist("lognormal", (("mean", mean), ("sd", mean * math.sqrt(math.expm1(s2))))), 2
    c, _, scale = sps.weibull_min.fit(x, floc=0)
    return Dist("weibull", (("shape", max(float(c), 0.1)), ("scale", float(scale)))), 2


def fit_durations(x: np.ndarray, max_ks: float = 0.05, families: tuple[str, ...] = FAMILIES
                  ) -> tuple[Dist, list[Fit]]:
    """The distribution to simulate ``x`` with, and every family's fit (best ``ks`` first)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) < 2:
        raise InputError(f"need at least 2 positive durations to fit a distribution, got {len(x)}")
    if np.ptp(x) <= 1e-9 * x.mean():  # all equal: nothing to fit
        d = Dist("fixed", (("value", float(x[0])),))
        return d, [Fit(d, 0.0, math.nan, len(x))]
    fits = []
    for kind in families:
        d, k = _family(kind, x)
        ll = float(np.sum(d.scipy().logpdf(x)))
        fits.append(Fit(d, float(sps.kstest(x, d.cdf).statistic), 2 * k - 2 * ll, len(x)))
    fits.sort(key=lambda f: f.ks)
    best = fits[0]
    return (best.dist if best.ks <= max_ks else empirical(x)), fits


def kaplan_meier(t: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan–Meier survival: distinct event times, S just after each, callers at risk at each."""
    t = np.asarray(t, dtype=float)
    event = np.asarray(event, dtype=bool)
    times = np.unique(t[event])
    order = np.sort(t)
    at_risk = len(t) - np.searchsorted(order, times, side="left")
    deaths = np.bincount(np.searchsorted(times, t[event]), minlength=len(times))
    surv = np.cumprod(1.0 - deaths / at_risk)
    return times, surv, at_risk


def _log_parts(kind: str, theta: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log density, log survival and log CDF of a family at ``t`` (parameters on the log scale)."""
    if kind == "exponential":
        rate = math.exp(-theta[0])
        z = rate * t
        return np.log(rate) - z, -z, np.log(-np.expm1(-z))
    if kind == "weibull":
        k, lam = np.exp(theta)
        z = (t / lam) ** k
        return np.log(k / lam) + (k - 1) * np.log(t / lam) - z, -z, np.log(-np.expm1(-z))
    mu, sigma = theta[0], math.exp(theta[1])
    z = (np.log(t) - mu) / sigma
    return sps.norm.logpdf(z) - np.log(sigma * t), sps.norm.logsf(z), sps.norm.logcdf(z)


def _censored_nll(kind: str, theta: np.ndarray, te: np.ndarray, n_early: int, tc: np.ndarray) -> float:
    """Negative log-likelihood: exact abandonments ``te``, ``n_early`` abandonments before the
    clock's resolution (only known to be below it), served callers ``tc`` (patience > wait)."""
    lf = _log_parts(kind, theta, te)[0]
    ls = _log_parts(kind, theta, tc)[1]
    early = _log_parts(kind, theta, np.array([RESOLUTION_S]))[2][0] * n_early if n_early else 0.0
    return -float(lf.sum() + ls.sum() + early)


def _patience_family(kind: str, te: np.ndarray, n_early: int, tc: np.ndarray) -> tuple[Dist, float]:
    """Censored MLE of one family; (distribution, negative log-likelihood)."""
    scale = float((te.sum() + tc.sum()) / max(len(te) + n_early, 1))
    start = {"exponential": np.array([math.log(scale)]), "weibull": np.array([0.0, math.log(scale)]),
             "lognormal": np.array([math.log(scale), 0.0])}[kind]
    res = optimize.minimize(lambda th: _censored_nll(kind, th, te, n_early, tc), start, method="Nelder-Mead",
                            options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 4000})
    if kind == "exponential":
        return Dist("exponential", (("mean", math.exp(float(res.x[0]))),)), float(res.fun)
    if kind == "weibull":
        k, lam = np.exp(res.x)
        return Dist("weibull", (("shape", max(float(k), 0.1)), ("scale", float(lam)))), float(res.fun)
    mu, s = float(res.x[0]), math.exp(float(res.x[1]))
    mean = math.exp(mu + s * s / 2)
    return Dist("lognormal", (("mean", mean), ("sd", mean * math.sqrt(math.expm1(s * s))))), float(res.fun)


def fit_patience(wait: np.ndarray, abandoned: np.ndarray, min_at_risk: int = 100,
                 families: tuple[str, ...] = ("exponential", "weibull", "lognormal")) -> tuple[Dist, list[Fit]]:
    """Patience from waits (abandoned = event, served = censored): the lowest-AIC family and all fits."""
    t = np.maximum(np.asarray(wait, dtype=float), 0.0)
    ev = np.asarray(abandoned, dtype=bool)
    if ev.sum() < 2:
        raise InputError(f"need at least 2 abandoned calls to estimate patience, got {int(ev.sum())}")
    early = ev & (t < RESOLUTION_S)
    te, tc = t[ev & ~early], np.maximum(t[~ev], RESOLUTION_S)  # a served caller answered at once says nothing
    times, surv, risk = kaplan_meier(t, ev)
    keep = risk >= min_at_risk
    fits = []
    for kind in families:
        d, nll = _patience_family(kind, te, int(early.sum()), tc)
        gap = float(np.max(np.abs(1 - d.cdf(times[keep]) - surv[keep]))) if keep.any() else math.nan
        fits.append(Fit(d, gap, 2 * len(d.p) + 2 * nll, len(t)))
    fits.sort(key=lambda f: f.aic)
    return fits[0].dist, fits
