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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaincinv, betaln, digamma, polygamma

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
    if not np.any(m > 0):
        raise InputError("no units with any trials to fit a prior on")
    (a, b), = fit_beta_priors([(x, m)])
    return float(a), float(b)


def fit_beta_priors(groups: Sequence[tuple[ArrayLike, ArrayLike]], tol: float = 1e-9,
                    max_iter: int = 200) -> np.ndarray:
    """:func:`fit_beta_prior` for many groups at once: a ``(len(groups), 2)`` array of (alpha, beta).

    Why batched: an agent scorecard fits one prior per team and rate (hundreds of tiny
    problems); solving them together with a vectorised, safeguarded Newton iteration in
    (logit mean, log strength) costs a few array operations per step instead of an
    optimiser call per team. Groups are padded with zero-trial units, which add nothing
    to the likelihood or its derivatives. Each group must have a unit with trials.
    """
    checked = [_check(x, m) for x, m in groups]
    out = np.zeros((len(checked), 2))
    # groups of similar size are solved together, so a big group does not pad every small one
    sizes = np.array([int((m > 0).sum()) for _, m in checked])
    bucket = np.ceil(np.log2(np.maximum(sizes, 1))).astype(int)
    for b in np.unique(bucket):
        which = np.flatnonzero(bucket == b)
        out[which] = _fit_padded([checked[i] for i in which], tol, max_iter)
    return out


def _fit_padded(checked: list[tuple[np.ndarray, np.ndarray]], tol: float, max_iter: int) -> np.ndarray:
    """The batched Newton fit of groups padded to one width with zero-trial units."""
    width = max(int((m > 0).sum()) for _, m in checked)
    x = np.zeros((len(checked), width))
    m = np.zeros((len(checked), width))
    for g, (xg, mg) in enumerate(checked):
        keep = mg > 0
        x[g, : keep.sum()], m[g, : keep.sum()] = xg[keep], mg[keep]
    units = (m > 0).sum(axis=1)
    if np.any(units == 0):
        raise InputError("no units with any trials to fit a prior on")
    pooled = np.clip(x.sum(axis=1) / m.sum(axis=1), 1e-6, 1 - 1e-6)
    cap = np.log(m.sum(axis=1))
    u = np.log(pooled / (1 - pooled))
    v = np.minimum(np.log(10.0), cap)
    active = np.flatnonzero(units > 1)
    for _ in range(max_iter):
        if not len(active):
            break
        xa, ma, ua, va, ca = x[active], m[active], u[active], v[active], cap[active]
        value, gu, gv, huu, huv, hvv = _derivatives(xa, ma, ua, va)
        at_cap = (va >= ca) & (gv > 0)
        gv = np.where(at_cap, 0.0, gv)
        du, dv = _newton_step(gu, gv, huu, huv, hvv, at_cap)
        done = (np.maximum(np.abs(gu), np.abs(gv)) <= tol) | (np.maximum(np.abs(du), np.abs(dv)) <= 1e-12)
        u[active], v[active] = _backtrack(xa, ma, ua, va, du, dv, value, ca)
        active = active[~done]
    mu = 1.0 / (1.0 + np.exp(-np.clip(u, -30.0, 30.0)))
    s = np.exp(np.clip(v, -10.0, cap))
    out = np.column_stack([mu * s, (1 - mu) * s])
    single = units == 1
    out[single] = np.column_stack([pooled[single] * 2.0, (1 - pooled[single]) * 2.0])
    return out


def _ab(u: np.ndarray, v: np.ndarray, cap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu = 1.0 / (1.0 + np.exp(-np.clip(u, -30.0, 30.0)))
    s = np.exp(np.clip(v, -10.0, cap if cap is not None else np.inf))
    return mu, mu * s, (1 - mu) * s


def _loglik(x: np.ndarray, m: np.ndarray, u: np.ndarray, v: np.ndarray, cap: np.ndarray) -> np.ndarray:
    _, a, b = _ab(u, v, cap)
    a, b = a[:, None], b[:, None]
    array: np.ndarray = np.sum(betaln(x + a, m - x + b) - betaln(a, b), axis=1)
    return array


def _derivatives(x: np.ndarray, m: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    """Log-likelihood, gradient and Hessian in (u = logit mean, v = log strength) per group."""
    mu, a, b = _ab(u, v)
    s = a + b
    A, B = a[:, None], b[:, None]
    pad = m > 0  # padded units contribute exactly zero; masking avoids polygamma work on them
    value = np.sum(np.where(pad, betaln(x + A, m - x + B) - betaln(A, B), 0.0), axis=1)
    common = np.sum(np.where(pad, digamma(A + B) - digamma(m + A + B), 0.0), axis=1)
    la = np.sum(np.where(pad, digamma(x + A) - digamma(A), 0.0), axis=1) + common
    lb = np.sum(np.where(pad, digamma(m - x + B) - digamma(B), 0.0), axis=1) + common
    common1 = np.sum(np.where(pad, polygamma(1, A + B) - polygamma(1, m + A + B), 0.0), axis=1)
    laa = np.sum(np.where(pad, polygamma(1, x + A) - polygamma(1, A), 0.0), axis=1) + common1
    lbb = np.sum(np.where(pad, polygamma(1, m - x + B) - polygamma(1, B), 0.0), axis=1) + common1
    lab = common1
    q = mu * (1 - mu)
    gu = s * q * (la - lb)
    gv = la * a + lb * b
    huu = (s * q) ** 2 * (laa - 2 * lab + lbb) + s * q * (1 - 2 * mu) * (la - lb)
    huv = s * q * (a * laa + (b - a) * lab - b * lbb) + s * q * (la - lb)
    hvv = a * a * laa + 2 * a * b * lab + b * b * lbb + la * a + lb * b
    return value, gu, gv, huu, huv, hvv


def _newton_step(gu: np.ndarray, gv: np.ndarray, huu: np.ndarray, huv: np.ndarray, hvv: np.ndarray,
                 at_cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton ascent step, with the Hessian shifted to be negative definite where it is not.

    At the strength cap only the mean moves (a one-dimensional Newton step).
    """
    huv = np.where(at_cap, 0.0, huv)
    hvv = np.where(at_cap, -1.0, hvv)
    # largest eigenvalue of the symmetric 2x2 Hessian; shift it below zero (Levenberg-Marquardt)
    radius = np.sqrt(((huu - hvv) / 2) ** 2 + huv * huv)
    top, low = (huu + hvv) / 2 + radius, (huu + hvv) / 2 - radius
    tiny = 1e-8 * np.maximum(np.abs(low), 1.0)
    shift = np.where(top > -tiny, top + np.maximum(np.abs(top), tiny), 0.0)
    huu, hvv = huu - shift, hvv - shift
    det = huu * hvv - huv * huv
    du = -(hvv * gu - huv * gv) / det
    dv = np.where(at_cap, 0.0, -(huu * gv - huv * gu) / det)
    # never step more than 5 units (logit/log scale), keeping the direction: keeps exp() finite
    scale = np.minimum(1.0, 5.0 / np.maximum(np.maximum(np.abs(du), np.abs(dv)), 1e-300))
    return du * scale, dv * scale


def _backtrack(x: np.ndarray, m: np.ndarray, u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray,
               value: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Halve each group's step until the likelihood does not fall (the step is kept tiny otherwise)."""
    t = np.ones_like(u)
    pending = np.ones(len(u), bool)
    new_u, new_v = u.copy(), v.copy()
    for _ in range(40):
        cu, cv = u + t * du, np.clip(v + t * dv, -10.0, cap)
        ok = _loglik(x, m, cu, cv, cap) >= value - 1e-12 * np.abs(value)
        take = pending & ok
        new_u[take], new_v[take] = cu[take], cv[take]
        pending &= ~ok
        if not pending.any():
            break
        t = np.where(pending, t / 2, t)
    return new_u, new_v


def eb_shrinkage(
    successes: ArrayLike,
    n: ArrayLike,
    prior: tuple[float, float] | None = None,
    conf: float = 0.95,
) -> Shrinkage:
    """Shrink each unit's rate towards the group's, with posterior intervals.

    ``prior`` = (alpha, beta) to use a known prior; by default it is fitted to these units
    with :func:`fit_beta_prior`. alpha and beta may also be arrays, one prior per unit
    (e.g. each agent's team prior); ``alpha``/``beta`` of the result are then their means.

    >>> s = eb_shrinkage([3, 90], [4, 300], prior=(30.0, 70.0))
    >>> [round(v, 4) for v in s.estimate]
    [0.3173, 0.3]
    """
    x, m = _check(successes, n)
    a, b = prior if prior is not None else fit_beta_prior(x, m)
    if np.any(np.asarray(a) <= 0) or np.any(np.asarray(b) <= 0):
        raise InputError(f"beta prior parameters must be positive, got ({a}, {b})")
    post_a, post_b = x + a, m - x + b
    tail = (1 - conf) / 2
    return Shrinkage(
        estimate=post_a / (post_a + post_b),
        # betaincinv is what scipy.stats.beta.ppf computes (the same bits), without
        # importing scipy.stats (~1 s, a fifth of an agent scorecard on 10M calls).
        low=betaincinv(post_a, post_b, tail),
        high=betaincinv(post_a, post_b, 1 - tail),
        alpha=float(np.mean(a)),
        beta=float(np.mean(b)),
        weight=m / (m + a + b),
    )


def _check(successes: ArrayLike, n: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.atleast_1d(np.asarray(successes, dtype=float))
    m = np.atleast_1d(np.asarray(n, dtype=float))
    if x.shape != m.shape or np.any(m < 0) or np.any(x < 0) or np.any(x > m):
        raise InputError("need one 0 <= successes <= n pair per unit")
    return x, m
