"""Binomial logistic regression by iteratively reweighted least squares (IRLS).

Written with numpy/scipy rather than pulling in statsmodels: the model is small (a few
dozen dummy columns) and is fitted on *aggregated cells* — one row per combination of
group and covariate levels with its successes and trials — so a 100-million-call
warehouse becomes a few thousand rows before it reaches Python. Individual 0/1 data is
the special case ``trials = 1``.

Standard errors come from the inverse Fisher information at the estimate (the usual
Wald errors, as statsmodels' ``GLM(..., family=Binomial())`` reports them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, ndtr

from closeloop.errors import InputError
from closeloop.stats.intervals import z_value


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic model: one entry per coefficient in ``names`` order.

    ``ci_low``/``ci_high`` are Wald intervals on the log-odds scale; exponentiate for odds
    ratios. ``converged`` is False when IRLS hit ``max_iter`` (typically complete
    separation: some level always or never succeeds) — its estimates are then not to be
    trusted and callers should say so.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pvalues: np.ndarray
    cov: np.ndarray
    loglik: float
    n_iter: int
    converged: bool
    conf: float

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Success probability for each row of design matrix ``X``."""
        array: np.ndarray = expit(np.asarray(X, float) @ self.coef)
        return array

    def table(self) -> list[dict[str, float | str]]:
        """Coefficients as rows (name, coef, se, ci_low, ci_high, pvalue, odds_ratio)."""
        return [
            {
                "name": n, "coef": float(c), "se": float(s), "ci_low": float(lo), "ci_high": float(hi),
                "pvalue": float(p), "odds_ratio": float(np.exp(c)),
            }
            for n, c, s, lo, hi, p in zip(
                self.names, self.coef, self.se, self.ci_low, self.ci_high, self.pvalues, strict=True
            )
        ]


def logistic_regression(
    X: ArrayLike,
    y: ArrayLike,
    feature_names: Sequence[str] | None = None,
    trials: ArrayLike | None = None,
    conf: float = 0.95,
    max_iter: int = 50,
    tol: float = 1e-10,
    ridge: float = 0.0,
) -> LogisticFit:
    """Fit ``logit P(success) = X @ beta`` by IRLS.

    ``X`` is the full design matrix (include a column of ones for an intercept). ``y`` is
    the number of successes per row (0/1 for individual data); ``trials`` the number of
    trials per row (default 1). ``ridge`` adds ``ridge * ||beta||^2 / 2`` to the negative
    log-likelihood: 0 gives the plain maximum-likelihood fit; a small value (1e-6) keeps
    separated data finite.
    """
    Xa = np.asarray(X, dtype=float)
    ya = np.asarray(y, dtype=float)
    if Xa.ndim != 2 or ya.ndim != 1 or Xa.shape[0] != ya.shape[0]:
        raise InputError("X must be 2-D with one row per entry of y")
    m = np.ones_like(ya) if trials is None else np.asarray(trials, dtype=float)
    if m.shape != ya.shape or np.any(m < 0) or np.any(ya < 0) or np.any(ya > m):
        raise InputError("need 0 <= y <= trials, one value per row")
    names = tuple(feature_names) if feature_names is not None else tuple(f"x{i}" for i in range(Xa.shape[1]))
    if len(names) != Xa.shape[1]:
        raise InputError(f"{len(names)} feature names for {Xa.shape[1]} columns")
    beta, info, n_iter, converged = _irls(Xa, ya, m, max_iter, tol, ridge)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(info)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    z = z_value(conf)
    with np.errstate(divide="ignore", invalid="ignore"):
        pvalues = 2 * ndtr(-np.abs(beta / se))  # = 2 * norm.sf(|z|)
    return LogisticFit(
        names=names, coef=beta, se=se, ci_low=beta - z * se, ci_high=beta + z * se, pvalues=pvalues, cov=cov,
        loglik=_loglik(Xa @ beta, ya, m), n_iter=n_iter, converged=converged, conf=conf,
    )


def _irls(
    X: np.ndarray, y: np.ndarray, m: np.ndarray, max_iter: int, tol: float, ridge: float
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Newton-Raphson on the binomial log-likelihood (= IRLS for the canonical link)."""
    p = X.shape[1]
    beta = np.zeros(p)
    penalty = ridge * np.eye(p)
    prev = -np.inf
    for it in range(1, max_iter + 1):
        eta = X @ beta
        mu = expit(eta)
        w = m * mu * (1 - mu)
        info = X.T @ (X * w[:, None]) + penalty
        grad = X.T @ (y - m * mu) - ridge * beta
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        beta = beta + step
        ll = _loglik(X @ beta, y, m) - ridge * float(beta @ beta) / 2
        if abs(ll - prev) < tol * (abs(ll) + 1.0) and np.max(np.abs(step)) < 1e-6:
            mu = expit(X @ beta)
            info = X.T @ (X * (m * mu * (1 - mu))[:, None]) + penalty
            return beta, info, it, True
        prev = ll
    mu = expit(X @ beta)
    info = X.T @ (X * (m * mu * (1 - mu))[:, None]) + penalty
    return beta, info, max_iter, False


def _loglik(eta: np.ndarray, y: np.ndarray, m: np.ndarray) -> float:
    """Binomial log-likelihood without the constant binomial coefficients."""
    # y*eta - m*log(1+exp(eta)), computed stably.
    return float(np.sum(y * eta - m * np.logaddexp(0.0, eta)))
