"""Mix adjustment: is a group worse, or does it get worse calls?

Two centers' raw close rates differ for two reasons: they received a different *mix* of
calls (lead sources, products, hours, directions) and, on the same kind of call, they
*perform* differently. This module separates the two with one logistic model on
aggregated cells::

    logit P(sale | cell) = intercept + group effect + covariate effects   (main effects)

* **Adjusted rate** of group g (marginal standardisation, a.k.a. g-computation): the
  close rate the model predicts if g had handled *every* group's calls, i.e. the mean of
  ``f(g, x)`` over all calls. All groups are put on the same (overall) mix, so adjusted
  rates compare performance only. The CI is the delta method on the logit scale.
* **Gap decomposition** of ``p_A - p_B``: *performance* is the mean of
  ``f(A, x) - f(B, x)`` over the calls of A and of B (averaged, so the result does not
  depend on which group is the reference); *mix* is the rest of the raw gap. Because
  the model has a dummy per group, its predictions reproduce each group's observed total
  exactly, so ``mix + performance`` is the raw gap (Kitagawa 1955 / Oaxaca-Blinder
  decomposition for a non-linear model; Fairlie 2005).

Assumption stated in docs/metrics.md: the group effect is the same on the log-odds scale
for every kind of call (no group x covariate interaction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, logit, ndtr

from closeloop.errors import InputError
from closeloop.stats.intervals import diff_interval, wilson_interval, z_value
from closeloop.stats.logistic import LogisticFit, logistic_regression


@dataclass(frozen=True)
class Gap:
    """``p_a - p_b`` split into mix and performance, each with a (delta-method) CI.

    ``performance_pvalue`` tests whether the performance part is zero — the answer to
    "is A really worse on the same calls?".
    """

    a: str
    b: str
    rate_a: float
    rate_b: float
    gap: float
    gap_ci: tuple[float, float]
    mix: float
    mix_ci: tuple[float, float]
    performance: float
    performance_ci: tuple[float, float]
    performance_pvalue: float


@dataclass(frozen=True)
class MixAdjustment:
    """Raw and mix-adjusted rates per group, and the model behind them."""

    groups: tuple[str, ...]
    successes: np.ndarray
    trials: np.ndarray
    raw: np.ndarray
    raw_low: np.ndarray
    raw_high: np.ndarray
    adjusted: np.ndarray
    adjusted_low: np.ndarray
    adjusted_high: np.ndarray
    fit: LogisticFit
    covariates: tuple[str, ...]
    conf: float
    _X: np.ndarray
    _cell_trials: np.ndarray
    _cell_group: np.ndarray
    _group_cols: tuple[int | None, ...]

    def index(self, group: str) -> int:
        """Position of ``group`` in :attr:`groups`; InputError naming the valid ones."""
        try:
            return self.groups.index(group)
        except ValueError:
            raise InputError(f"unknown group {group!r}; groups: {', '.join(self.groups)}") from None

    def decompose(self, a: str, b: str) -> Gap:
        """Split the raw gap between groups ``a`` and ``b`` into mix and performance."""
        ia, ib = self.index(a), self.index(b)
        in_a, in_b = self._cell_group == ia, self._cell_group == ib
        perf_a, g_pa = self._mean_diff(in_a, ia, ib)
        perf_b, g_pb = self._mean_diff(in_b, ia, ib)
        perf, grad_perf = (perf_a + perf_b) / 2, (g_pa + g_pb) / 2
        # mix = mean_A f(.) - mean_B f(.) at each group's own performance, averaged
        mix_aa, g1 = self._mean_pred(in_a, ia)
        mix_ba, g2 = self._mean_pred(in_b, ia)
        mix_ab, g3 = self._mean_pred(in_a, ib)
        mix_bb, g4 = self._mean_pred(in_b, ib)
        mix = ((mix_aa - mix_ba) + (mix_ab - mix_bb)) / 2
        grad_mix = ((g1 - g2) + (g3 - g4)) / 2
        z = z_value(self.conf)
        se_perf = float(np.sqrt(grad_perf @ self.fit.cov @ grad_perf))
        se_mix = float(np.sqrt(grad_mix @ self.fit.cov @ grad_mix))
        gap_ci = diff_interval(self.successes[ia], self.trials[ia], self.successes[ib], self.trials[ib], self.conf)
        rate_a, rate_b = float(self.raw[ia]), float(self.raw[ib])
        gap = rate_a - rate_b
        return Gap(
            a=a, b=b, rate_a=rate_a, rate_b=rate_b, gap=gap, gap_ci=(float(gap_ci[0]), float(gap_ci[1])),
            mix=gap - perf, mix_ci=_clip_diff(mix - z * se_mix, mix + z * se_mix),
            performance=float(perf), performance_ci=_clip_diff(perf - z * se_perf, perf + z * se_perf),
            performance_pvalue=float(2 * ndtr(-abs(perf) / se_perf)) if se_perf > 0 else 1.0,
        )

    def rate_on(self, mask: np.ndarray, group: str) -> tuple[float, float, float]:
        """The rate ``group`` is predicted to reach on the cells in ``mask`` (their mix), with its CI.

        ``mask`` selects cells in the order they were given (cells with no trials dropped):
        all cells gives :attr:`adjusted`; a segment's cells give the group's rate had it
        handled that segment. CI: delta method on the logit scale.
        """
        rate, grad = self._mean_pred(np.asarray(mask, dtype=bool), self.index(group))
        rate = float(np.clip(rate, 1e-12, 1 - 1e-12))
        se_logit = float(np.sqrt(grad @ self.fit.cov @ grad)) / (rate * (1 - rate))
        z = z_value(self.conf)
        return rate, float(expit(logit(rate) - z * se_logit)), float(expit(logit(rate) + z * se_logit))

    def _with_group(self, g: int) -> np.ndarray:
        X = self._X.copy()
        cols = [c for c in self._group_cols if c is not None]
        X[:, cols] = 0.0
        col = self._group_cols[g]
        if col is not None:
            X[:, col] = 1.0
        return X

    def _mean_pred(self, mask: np.ndarray, g: int) -> tuple[float, np.ndarray]:
        """Trial-weighted mean of f(g, x) over the cells in ``mask``, and its gradient."""
        X = self._with_group(g)[mask]
        w = self._cell_trials[mask]
        mu = expit(X @ self.fit.coef)
        total = w.sum()
        return float(w @ mu / total), (X * (w * mu * (1 - mu))[:, None]).sum(axis=0) / total

    def _mean_diff(self, mask: np.ndarray, ga: int, gb: int) -> tuple[float, np.ndarray]:
        va, da = self._mean_pred(mask, ga)
        vb, db = self._mean_pred(mask, gb)
        return va - vb, da - db


def _clip_diff(low: float, high: float) -> tuple[float, float]:
    """A difference of rates lies in [-1, 1]; so does any honest interval for it."""
    return float(max(low, -1.0)), float(min(high, 1.0))


def adjust_for_mix(
    group: ArrayLike,
    covariates: Mapping[str, ArrayLike],
    successes: ArrayLike,
    trials: ArrayLike,
    conf: float = 0.95,
    ridge: float = 1e-6,
) -> MixAdjustment:
    """Fit the mix model on aggregated cells and return raw and adjusted rates per group.

    Each position is one cell: its ``group`` label, one label per covariate (categorical;
    bin numbers such as hour of day before calling), and the cell's ``successes`` out of
    ``trials``. Cells with no trials are ignored. ``ridge`` keeps the fit finite when a
    covariate level never (or always) succeeds.
    """
    g = np.asarray(group).astype(str)
    x, m = np.asarray(successes, float), np.asarray(trials, float)
    cov = {name: np.asarray(v).astype(str) for name, v in covariates.items()}
    if any(len(v) != len(g) for v in cov.values()) or len(x) != len(g) or len(m) != len(g):
        raise InputError("group, covariates, successes and trials must have one entry per cell")
    keep = m > 0
    g, x, m = g[keep], x[keep], m[keep]
    cov = {k: v[keep] for k, v in cov.items()}
    if len(g) == 0:
        raise InputError("no cells with any trials to adjust")
    groups, gidx = np.unique(g, return_inverse=True)
    X, names, group_cols = _design(gidx, len(groups), groups, cov, m)
    fit = logistic_regression(X, x, names, trials=m, conf=conf, ridge=ridge)
    succ = np.bincount(gidx, weights=x, minlength=len(groups))
    tri = np.bincount(gidx, weights=m, minlength=len(groups))
    raw_low, raw_high = wilson_interval(succ, tri, conf)
    adj = MixAdjustment(
        groups=tuple(str(s) for s in groups), successes=succ, trials=tri, raw=succ / tri,
        raw_low=np.asarray(raw_low), raw_high=np.asarray(raw_high),
        adjusted=np.zeros(len(groups)), adjusted_low=np.zeros(len(groups)), adjusted_high=np.zeros(len(groups)),
        fit=fit, covariates=tuple(cov), conf=conf, _X=X, _cell_trials=m, _cell_group=gidx,
        _group_cols=group_cols,
    )
    everyone = np.ones(len(g), dtype=bool)
    for i, name in enumerate(adj.groups):
        adj.adjusted[i], adj.adjusted_low[i], adj.adjusted_high[i] = adj.rate_on(everyone, name)
    return adj


def _design(
    gidx: np.ndarray, k: int, groups: np.ndarray, cov: Mapping[str, np.ndarray], m: np.ndarray
) -> tuple[np.ndarray, list[str], tuple[int | None, ...]]:
    """Dummy-code groups and covariates; each reference level is its most frequent one."""
    cols: list[np.ndarray] = [np.ones(len(gidx))]
    names = ["intercept"]
    ref = int(np.argmax(np.bincount(gidx, weights=m, minlength=k)))
    group_cols: list[int | None] = []
    for i in range(k):
        if i == ref:
            group_cols.append(None)
            continue
        group_cols.append(len(cols))
        cols.append((gidx == i).astype(float))
        names.append(f"group={groups[i]}")
    for name, labels in cov.items():
        levels, idx = np.unique(labels, return_inverse=True)
        lref = int(np.argmax(np.bincount(idx, weights=m, minlength=len(levels))))
        for j, level in enumerate(levels):
            if j != lref:
                cols.append((idx == j).astype(float))
                names.append(f"{name}={level}")
    return np.column_stack(cols), names, tuple(group_cols)


def decompose_all(adj: MixAdjustment, pairs: Sequence[tuple[str, str]]) -> list[Gap]:
    """:meth:`MixAdjustment.decompose` for several pairs."""
    return [adj.decompose(a, b) for a, b in pairs]
