"""Confidence intervals for proportions and their differences.

Wilson's score interval is closeloop's default for every rate: unlike the textbook
"p ± 1.96·se" (Wald) interval it never leaves [0, 1], is not degenerate at 0 or n
successes, and keeps close to its nominal coverage for the small samples an agent
scorecard is full of (Newcombe 1998, *Statistics in Medicine* 17:857-872; Brown, Cai &
DasGupta 2001). Differences use Newcombe's hybrid score interval built from two Wilson
intervals, for the same reasons.

Every function accepts scalars or numpy arrays and broadcasts, so a whole scorecard's
intervals are one call.
"""

from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from closeloop.errors import InputError


def z_value(conf: float) -> float:
    """Two-sided normal quantile for confidence level ``conf`` (0.95 -> 1.95996...)."""
    if not 0.0 < conf < 1.0:
        raise InputError(f"confidence level must be between 0 and 1 (exclusive), got {conf!r}")
    # ndtri is what scipy.stats.norm.ppf computes (same bits), without importing scipy.stats (~0.5 s)
    return float(ndtri(0.5 + conf / 2.0))


def _counts(successes: ArrayLike, n: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(m < 0) or np.any(x < 0) or np.any(x > m):
        raise InputError("proportion counts must satisfy 0 <= successes <= n")
    return x, m


# Overloads: scalars give floats; an array (1-d or more, as every caller passes) gives arrays.
@overload
def wilson_interval(successes: float, n: float, conf: float = 0.95) -> tuple[float, float]: ...
@overload
def wilson_interval(successes: np.ndarray, n: ArrayLike, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def wilson_interval(
    successes: ArrayLike, n: ArrayLike, conf: float = 0.95
) -> tuple[np.ndarray | float, np.ndarray | float]: ...
def wilson_interval(
    successes: ArrayLike, n: ArrayLike, conf: float = 0.95
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Wilson score interval ``(low, high)`` for ``successes`` out of ``n``.

    Scalars in, floats out; arrays in, arrays out (broadcast). Where ``n`` is 0 there is
    no information and both bounds are NaN (shown as empty, never as a fake [0, 1]).

    >>> [round(v, 4) for v in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    """
    x, m = _counts(successes, n)
    z = z_value(conf)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / m
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2.0 * m)) / denom
        half = z * np.sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * m)) / denom
        low = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # Exact end points at 0 and n successes (rounding can leave 1e-17 instead of 0).
    low = np.where((x == 0) & (m > 0), 0.0, low)
    high = np.where((x == m) & (m > 0), 1.0, high)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def diff_interval(
    successes1: ArrayLike, n1: ArrayLike, successes2: ArrayLike, n2: ArrayLike, conf: float = 0.95
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Newcombe's hybrid score interval for ``p1 - p2`` (his method 10).

    Built from the two Wilson intervals (l1, u1), (l2, u2)::

        low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    NaN where either group has no trials.

    >>> [round(v, 4) for v in diff_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    """
    x1, m1 = _counts(successes1, n1)
    x2, m2 = _counts(successes2, n2)
    l1, u1 = wilson_interval(x1, m1, conf)
    l2, u2 = wilson_interval(x2, m2, conf)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / m1, x2 / m2
        d = p1 - p2
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    if np.ndim(low) == 0:
        return float(low), float(high)
    return np.asarray(low), np.asarray(high)
