"""Lead scoring: calibrated sale probabilities, reason codes and tiers A–D.

The model is scikit-learn's histogram gradient boosting (native categorical support, fast on a
million rows) trained on the workspace's own history, then calibrated with Platt scaling on
the most recent slice of the training window, so that "0.12" means roughly 12 sales per 100
leads like it. Splits are by time, never random: the model is always judged on leads that
arrived after the ones it learned from, as it will be used.

**Reason codes** are one-at-a-time attributions: for each lead and feature, the change in
probability when that feature is set to its typical value (mode or median of the training
data), in percentage points. Honest and model-agnostic; unlike SHAP values they need not add up
to the score, and correlated features can share credit.

**Fallback**: with fewer than ``min_rows`` labelled leads or ``min_positives`` sales, a boosted
model would learn noise, so the score is each source's conversion rate shrunk toward the overall
rate (a Beta prior worth ``prior_weight`` leads), with completeness as tie-break.

**Tiers**: A is the top 10% of training scores, B the next 20%, C the next 30%, D the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from threadpoolctl import threadpool_limits

from closeloop.errors import InputError

TIER_SHARES = (0.10, 0.20, 0.30)  # A, B, C; D is the rest
# Candidate model sizes (leaves per tree, trees, learning rate), from additive stumps to small
# interactions; the one ranking the most recent training slice best is kept.
COMPLEXITY = ((2, 300, 0.1), (4, 150, 0.05), (15, 120, 0.06))
MISSING = "(missing)"


@dataclass
class Encoded:
    """Feature columns as one float matrix; categoricals as integer codes (NaN = unseen)."""

    names: list[str]
    categorical: list[str]
    categories: dict[str, list[str]]

    def encode(self, columns: dict[str, Any]) -> np.ndarray:
        """Matrix of the named columns, categories coded as in training."""
        out = np.empty((len(next(iter(columns.values()))), len(self.names)))
        for j, name in enumerate(self.names):
            if name not in columns:
                raise InputError(f"feature {name!r} missing from the leads to score")
            values = columns[name]
            if name in self.categorical:
                index = {c: i for i, c in enumerate(self.categories[name])}
                out[:, j] = [index.get(MISSING if v is None else str(v), np.nan) for v in values]
            else:
                out[:, j] = np.asarray([np.nan if v is None else v for v in values], dtype=float)
        return out


def fit_encoding(columns: dict[str, Any], categorical: list[str]) -> Encoded:
    """Learn category lists (most frequent first; at most 250 levels, the rest unseen)."""
    cats = {}
    for name in categorical:
        values, counts = np.unique(np.array([MISSING if v is None else str(v) for v in columns[name]]),
                                   return_counts=True)
        cats[name] = [str(v) for v in values[np.argsort(-counts, kind="stable")][:250]]
    return Encoded(list(columns), [c for c in columns if c in categorical], cats)


@dataclass
class ScoringModel:
    """A trained scorer: predict, explain and tier."""

    kind: str  # "gbm" or "fallback"
    encoding: Encoded
    reference: np.ndarray  # typical value of each feature, for reason codes
    tier_cuts: tuple[float, float, float]
    base_rate: float
    n_train: int
    estimator: Any = None
    source_feature: str | None = None
    source_rates: dict[str, float] = field(default_factory=dict)
    threads: int = 1

    def predict(self, columns: dict[str, Any]) -> np.ndarray:
        """Calibrated sale probability of each lead."""
        return self._predict_matrix(self.encoding.encode(columns))

    def _predict_matrix(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "gbm":
            with threadpool_limits(limits=self.threads, user_api="openmp"):
                return self.estimator.predict_proba(x)[:, 1]
        j = self.encoding.names.index(self.source_feature)  # type: ignore[arg-type]
        cats = self.encoding.categories[self.source_feature]  # type: ignore[index]
        rates = np.array([self.source_rates.get(c, self.base_rate) for c in cats] + [self.base_rate])
        codes = np.where(np.isnan(x[:, j]), len(cats), x[:, j]).astype(int)
        score = rates[codes]
        if "completeness" in self.encoding.names:  # tie-break only: at most a 1% relative nudge
            c = np.nan_to_num(x[:, self.encoding.names.index("completeness")], nan=0.0)
            score = score * (1 + 0.01 * c)
        return score

    def tiers(self, p: np.ndarray) -> np.ndarray:
        """Tier letter of each probability."""
        a, b, c = self.tier_cuts
        return np.where(p >= a, "A", np.where(p >= b, "B", np.where(p >= c, "C", "D")))

    def reasons(self, columns: dict[str, Any], top: int = 3) -> list[list[str]]:
        """Up to ``top`` reason codes per lead, strongest first: ``"source=partner (+4.1 pts)"``."""
        x = self.encoding.encode(columns)
        if self.kind == "fallback":
            return self._fallback_reasons(columns)
        p = self._predict_matrix(x)
        deltas = np.empty_like(x)
        for j in range(x.shape[1]):
            moved = x.copy()
            moved[:, j] = self.reference[j]
            deltas[:, j] = p - self._predict_matrix(moved)
        out = []
        names = self.encoding.names
        for i in range(len(p)):
            order = np.argsort(-np.abs(deltas[i]), kind="stable")[:top]
            out.append([f"{names[j]}={self._label(j, x[i, j])} ({100 * deltas[i, j]:+.1f} pts)"
                        for j in order if abs(deltas[i, j]) >= 0.0005])
        return out

    def _fallback_reasons(self, columns: dict[str, Any]) -> list[list[str]]:
        out = []
        for s in columns[self.source_feature]:  # type: ignore[index]
            key = MISSING if s is None else str(s)
            rate = self.source_rates.get(key, self.base_rate)
            out.append([f"source={key} converts {100 * rate:.1f}% vs {100 * self.base_rate:.1f}% overall "
                        "(thin history: source-only fallback)"])
        return out

    def _label(self, j: int, value: float) -> str:
        name = self.encoding.names[j]
        if name in self.encoding.categorical:
            cats = self.encoding.categories[name]
            return "(other)" if np.isnan(value) else cats[int(value)]
        return "(missing)" if np.isnan(value) else f"{value:g}"


def _reference(x: np.ndarray, encoding: Encoded) -> np.ndarray:
    ref = np.empty(x.shape[1])
    for j, name in enumerate(encoding.names):
        col = x[:, j][~np.isnan(x[:, j])]
        if not len(col):
            ref[j] = np.nan
        elif name in encoding.categorical:
            ref[j] = 0.0  # categories are stored most frequent first: code 0 is the mode
        else:
            ref[j] = float(np.median(col))
    return ref


def _cuts(p: np.ndarray) -> tuple[float, float, float]:
    qs = np.cumsum(TIER_SHARES)
    a, b, c = (float(np.quantile(p, 1 - q)) for q in qs)
    return a, b, c


def source_rates(sources: list[Any], y: np.ndarray, prior_weight: float = 20.0) -> tuple[dict[str, float], float]:
    """Each source's conversion shrunk toward the overall rate (Beta prior worth ``prior_weight`` leads)."""
    base = float(np.mean(y)) if len(y) else 0.0
    keys = np.array([MISSING if s is None else str(s) for s in sources])
    rates = {}
    for key in np.unique(keys):
        mask = keys == key
        rates[str(key)] = float((y[mask].sum() + prior_weight * base) / (mask.sum() + prior_weight))
    return rates, base


def fit_scorer(columns: dict[str, Any], y: np.ndarray, categorical: list[str], source_feature: str,
               seed: int = 0, min_rows: int = 300, min_positives: int = 30,
               calibration_share: float = 0.2, threads: int = 1) -> ScoringModel:
    """Train on leads in time order (``columns`` and ``y`` sorted oldest first).

    ``threads`` caps OpenMP threads: on a busy machine spinning OpenMP workers are far slower
    than one thread, so more are worth it only for large histories on idle cores.
    """
    y = np.asarray(y, dtype=int)
    n = len(y)
    if n == 0:
        raise InputError("no labelled leads to train a score on")
    if source_feature not in columns:
        raise InputError(f"source feature {source_feature!r} not among the features")
    encoding = fit_encoding(columns, categorical)
    x = encoding.encode(columns)
    ref = _reference(x, encoding)
    if n < min_rows or y.sum() < min_positives or y.sum() == n:
        rates, base = source_rates(list(columns[source_feature]), y)
        model = ScoringModel("fallback", encoding, ref, (1.0, 1.0, 1.0), base, n, source_feature=source_feature,
                             source_rates=rates)
        model.tier_cuts = _cuts(model._predict_matrix(x))
        return model
    split = int(n * (1 - calibration_share))
    cat_mask = np.array([name in encoding.categorical for name in encoding.names])
    leaf = max(20, min(200, split // 50))
    with threadpool_limits(limits=threads, user_api="openmp"):
        candidates = []
        for leaves, iters, rate in COMPLEXITY:
            gbm = HistGradientBoostingClassifier(
                max_iter=iters, learning_rate=rate, max_leaf_nodes=leaves, min_samples_leaf=leaf, l2_regularization=1.0,
                categorical_features=cat_mask if cat_mask.any() else None, early_stopping=False, random_state=seed)
            gbm.fit(x[:split], y[:split])
            candidates.append((_auc_or_half(y[split:], gbm.predict_proba(x[split:])[:, 1]), gbm))
        best = max(candidates, key=lambda c: c[0])[1]
        calibrated = CalibratedClassifierCV(FrozenEstimator(best), method="sigmoid")
        calibrated.fit(x[split:], y[split:])
        p = calibrated.predict_proba(x)[:, 1]
    return ScoringModel("gbm", encoding, ref, _cuts(p), float(y.mean()), n, estimator=calibrated,
                        source_feature=source_feature, threads=threads)


def _auc_or_half(y: np.ndarray, p: np.ndarray) -> float:
    from closeloop.leads.evaluate import auc

    return auc(y, p) if 0 < y.sum() < len(y) else 0.5


def time_split(n: int, test_share: float = 0.3) -> tuple[slice, slice]:
    """Oldest ``1 - test_share`` for training, newest for testing."""
    if not 0 < test_share < 1:
        raise InputError("test share must be between 0 and 1")
    cut = round(n * (1 - test_share))
    return slice(0, cut), slice(cut, n)


def take(columns: dict[str, Any], rows: slice | np.ndarray) -> dict[str, Any]:
    """The given rows of every column."""
    return {k: np.asarray(v, dtype=object)[rows] for k, v in columns.items()}
