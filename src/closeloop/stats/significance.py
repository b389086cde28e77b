"""Is a difference more than noise? Tests for proportions and multiple-comparison control.

A scorecard compares many groups at once; at 5 % per test, 20 agents compared with their
team give one "significant" difference by chance alone. So every family of comparisons
is corrected with :func:`adjust_pvalues` (Holm controls the family-wise error rate; the
Benjamini-Hochberg step-up controls the false discovery rate and is less conservative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import chdtrc, ndtr

from closeloop.errors import InputError


@dataclass(frozen=True)
class TestResult:
    """A test statistic, its p-value, and (for chi-square) degrees of freedom.

    ``min_expected`` is the smallest expected cell count: below about 5 the chi-square
    approximation is rough and a reader should be told so.
    """

    statistic: float
    pvalue: float
    dof: int = 1
    min_expected: float = float("nan")


def two_proportion_test(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-sided z test of ``p1 == p2``; returns ``(z, pvalue)`` (broadcast over arrays).

    The pooled z test is the 2x2 chi-square test without continuity correction
    (``z**2 == chi2``). Where the pooled rate is 0 or 1 the groups cannot differ and the
    p-value is 1; where a group has no trials it is NaN.
    """
    a1, m1 = np.asarray(x1, float), np.asarray(n1, float)
    a2, m2 = np.asarray(x2, float), np.asarray(n2, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (a1 + a2) / (m1 + m2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / m1 + 1 / m2))
        z = np.where(se > 0, (a1 / m1 - a2 / m2) / se, 0.0)
        p = np.where(se > 0, 2 * ndtr(-np.abs(z)), 1.0)  # = 2 * norm.sf(|z|), without scipy.stats
        empty = (m1 <= 0) | (m2 <= 0)
        z = np.where(empty, np.nan, z)
        p = np.where(empty, np.nan, p)
    return z, p


def chi_square_test(successes: ArrayLike, n: ArrayLike) -> TestResult:
    """Pearson chi-square test that k groups share one success rate (2 x k table).

    Groups with no trials are left out. Fewer than two groups with trials, or a pooled
    rate of exactly 0 or 1, give statistic 0 and p-value 1: nothing can differ.
    """
    x, m = np.asarray(successes, float), np.asarray(n, float)
    if x.shape != m.shape:
        raise InputError("successes and n must have the same length")
    keep = m > 0
    x, m = x[keep], m[keep]
    if len(m) < 2:
        return TestResult(0.0, 1.0, 0)
    pooled = x.sum() / m.sum()
    if pooled in (0.0, 1.0):
        return TestResult(0.0, 1.0, len(m) - 1)
    observed = np.stack([x, m - x])
    expected = np.stack([m * pooled, m * (1 - pooled)])
    stat = float(((observed - expected) ** 2 / expected).sum())
    dof = len(m) - 1
    return TestResult(stat, float(chdtrc(dof, stat)), dof, float(expected.min()))  # chdtrc = chi2.sf


def adjust_pvalues(pvalues: ArrayLike, method: str = "holm") -> np.ndarray:
    """Adjust a family of p-values for multiple comparisons.

    ``method``: ``"holm"`` (Holm 1979 step-down; family-wise error), ``"bh"``
    (Benjamini-Hochberg 1995 step-up; false discovery rate) or ``"none"``. NaN p-values are
    left NaN and do not count towards the family size. Compare the result with alpha as
    usual.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    vals = p[ok]
    m = len(vals)
    if method == "none" or m == 0:
        out[ok] = vals
        return out
    if np.any((vals < 0) | (vals > 1)):
        raise InputError("p-values must lie in [0, 1]")
    order = np.argsort(vals, kind="stable")
    ranked = vals[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    else:
        raise InputError(f"unknown p-value adjustment {method!r}; use one of holm, bh, none")
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
