"""Lead scoring: calibrated sale probabilities, reasons that add up, and tiers A–D.

The model is LightGBM gradient boosting (native categoricals and missing values) trained on
the workspace's own history: canonical fields, typed attributes and activity. It was chosen
over scikit-learn's HistGradientBoosting by measurement (bench/leads.py: the same AUC within
noise, faster to fit on two cores, and exact tree SHAP values built in). Three model sizes
are fitted with early stopping on the newest slice of the training window and the one that
ranks that slice best is kept. It is then calibrated with Platt scaling on the same slice,
so that "0.12" means roughly 12 sales per 100 leads like it. Splits are by time, never random:
the model is always judged on leads that arrived after the ones it learned from.

**Reasons** are tree SHAP values (LightGBM's ``pred_contrib``): each feature's contribution to
the model's log-odds. Platt scaling is linear in the log-odds, so the contributions scaled by
its slope, plus the base value, add up *exactly* to the calibrated score's log-odds. In words:
``"time on site 18: +0.62 log-odds (+9.1 pts)"``, where the points are how much lower the
probability would be without that contribution.

**Fallback**: with fewer than ``min_rows`` labelled leads or ``min_positives`` sales, a boosted
model would learn noise, so the score is each source's conversion rate shrunk toward the overall
rate (a Beta prior worth ``prior_weight`` leads), with completeness as tie-break.

**Tiers**: by default A is the top 10% of training scores, B the next 20%, C the next 30%, D the
rest; :func:`capacity_cuts` cuts by how many leads agents can call instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.errors import InputError

TIER_SHARES = (0.10, 0.20, 0.30)  # A, B, C; D is the rest
# Candidate model sizes (leaves per tree, learning rate), from near-additive trees to real
# interactions; rounds by early stopping on the newest training slice.
COMPLEXITY = ((4, 0.1), (15, 0.1), (63, 0.1))
MAX_ROUNDS = 600
MISSING = "(missing)"


@dataclass
class Encoded:
    """Feature columns as one float matrix; categoricals as integer codes (NaN = unseen category)."""

    names: list[str]
    categorical: list[str]
    categories: dict[str, list[str]]

    def encode(self, columns: dict[str, Any]) -> np.ndarray:
        """Matrix of the named columns, categories coded as in training (vectorised through Arrow)."""
        n = len(next(iter(columns.values()))) if columns else 0
        out = np.empty((n, len(self.names)))
        for j, name in enumerate(self.names):
            if name not in columns:
                raise InputError(f"feature {name!r} missing from the leads to score")
            if name in self.categorical:
                text = _category_text(columns[name])
                codes = pc.index_in(text, value_set=pa.array(self.categories[name], pa.string()))
                out[:, j] = codes.to_numpy(zero_copy_only=False).astype(float)
            else:
                out[:, j] = _float_column(columns[name])
        return out


def _category_text(values: Any) -> pa.Array:
    if isinstance(values, pa.Array):
        arr = pc.cast(values, pa.string())
    else:
        try:  # strings and None: no Python loop
            arr = pa.array(values, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pc.fill_null(arr, MISSING)


def _float_column(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values
    return np.asarray(pa.array(list(values), pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def fit_encoding(columns: dict[str, Any], categorical: list[str]) -> Encoded:
    """Learn category lists (most frequent first; at most 250 levels, the rest unseen)."""
    cats = {}
    for name in categorical:
        counts = pc.value_counts(_category_text(columns[name])).to_pylist()
        counts.sort(key=lambda d: (-d["counts"], d["values"]))
        cats[name] = [d["values"] for d in counts[:250]]
    return Encoded(list(columns), [c for c in columns if c in categorical], cats)


@dataclass
class ScoringModel:
    """A trained scorer: predict, explain and tier."""

    kind: str  # "gbm" or "fallback"
    encoding: Encoded
    tier_cuts: tuple[float, float, float]
    base_rate: float
    n_train: int
    booster: Any = None  # lightgbm.Booster
    platt: tuple[float, float] = (1.0, 0.0)  # calibrated log-odds = a * raw + b
    source_feature: str | None = None
    source_rates: dict[str, float] = field(default_factory=dict)
    threads: int = 1
    params: dict[str, Any] = field(default_factory=dict)

    def predict(self, columns: dict[str, Any]) -> np.ndarray:
        """Calibrated sale probability of each lead."""
        return self._predict_matrix(self.encoding.encode(columns))

    def _predict_matrix(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "gbm":
            return _sigmoid(self.log_odds(x))
        j = self.encoding.names.index(self.source_feature)  # type: ignore[arg-type]
        cats = self.encoding.categories[self.source_feature]  # type: ignore[index]
        rates = np.array([self.source_rates.get(c, self.base_rate) for c in cats] + [self.base_rate])
        codes = np.where(np.isnan(x[:, j]), len(cats), x[:, j]).astype(int)
        score: np.ndarray = rates[codes]
        if "completeness" in self.encoding.names:  # tie-break only: at most a 1% relative nudge
            c = np.nan_to_num(x[:, self.encoding.names.index("completeness")], nan=0.0)
            score = score * (1 + 0.01 * c)
        return score

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of an encoded matrix (boosted model only)."""
        a, b = self.platt
        array: np.ndarray = a * self.booster.predict(x, raw_score=True, num_threads=self.threads) + b
        return array

    def contributions(self, columns: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Tree SHAP contributions to the calibrated log-odds (leads x features) and each lead's base value.

        ``contributions.sum(1) + base`` equals the log-odds of :meth:`predict` (up to rounding).
        """
        if self.kind != "gbm":
            raise InputError("contributions need the boosted model; the fallback's reason is its source rate")
        return self._contributions(self.encoding.encode(columns))

    def _contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.platt
        raw = self.booster.predict(x, pred_contrib=True, num_threads=self.threads)
        return a * raw[:, :-1], a * raw[:, -1] + b

    def tiers(self, p: np.ndarray) -> np.ndarray:
        """Tier letter of each probability."""
        return assign_tiers(p, self.tier_cuts)

    def reasons(self, columns: dict[str, Any], top: int = 3) -> list[list[str]]:
        """Up to ``top`` reasons per lead, strongest first: ``"source partner: +0.41 log-odds (+4.1 pts)"``."""
        if self.kind == "fallback":
            return self._fallback_reasons(columns)
        from closeloop.leads.explain import reasons_in_words

        x = self.encoding.encode(columns)
        contrib, base = self._contributions(x)
        return reasons_in_words(contrib, base, self.encoding, x, top)

    def _fallback_reasons(self, columns: dict[str, Any]) -> list[list[str]]:
        out = []
        for s in columns[self.source_feature]:  # type: ignore[index]
            key = MISSING if s is None else str(s)
            rate = self.source_rates.get(key, self.base_rate)
            out.append([f"source={key} converts {100 * rate:.1f}% vs {100 * self.base_rate:.1f}% overall "
                        "(thin history: source-only fallback)"])
        return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    array: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return array


def assign_tiers(p: np.ndarray, cuts: tuple[float, float, float]) -> np.ndarray:
    """A at or above the first cut, B the second, C the third, D below."""
    a, b, c = cuts
    return np.where(p >= a, "A", np.where(p >= b, "B", np.where(p >= c, "C", "D")))


def share_cuts(p: np.ndarray, shares: tuple[float, float, float] = TIER_SHARES) -> tuple[float, float, float]:
    """Cut points putting the given shares of ``p`` in A, B and C."""
    qs = np.cumsum(shares)
    a, b, c = (float(np.quantile(p, 1 - q)) for q in qs)
    return a, b, c


def capacity_cuts(p: np.ndarray, capacity: int) -> tuple[float, float, float]:
    """A = the ``capacity`` best leads (what agents can call first), B the next 2x, C the next 3x."""
    if capacity < 1:
        raise InputError("capacity must be at least one lead")
    order = np.sort(p)[::-1]
    at = [min(len(order), k * capacity) - 1 for k in (1, 3, 6)]
    return tuple(float(order[i]) if i >= 0 else 1.0 for i in at)  # type: ignore[return-value]


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
               calibration_share: float = 0.2, threads: int = 1,
               sizes: tuple[tuple[int, float], ...] = COMPLEXITY) -> ScoringModel:
    """Train on leads in time order (``columns`` and ``y`` sorted oldest first).

    ``threads``: LightGBM threads. On a busy machine spinning workers are slower than one
    thread, so more are worth it only for large histories on idle cores.
    """
    y = np.asarray(y, dtype=int)
    n = len(y)
    if n == 0:
        raise InputError("no labelled leads to train a score on")
    if source_feature not in columns:
        raise InputError(f"source feature {source_feature!r} not among the features")
    encoding = fit_encoding(columns, categorical)
    x = encoding.encode(columns)
    if n < min_rows or y.sum() < min_positives or y.sum() == n:
        rates, base = source_rates(list(columns[source_feature]), y)
        model = ScoringModel("fallback", encoding, (1.0, 1.0, 1.0), base, n, source_feature=source_feature,
                             source_rates=rates)
        model.tier_cuts = share_cuts(model._predict_matrix(x))
        return model
    split = int(n * (1 - calibration_share))
    booster, params = _best_booster(x, y, split, encoding, seed, threads, sizes)
    platt = _platt(booster.predict(x[split:], raw_score=True, num_threads=threads), y[split:])
    model = ScoringModel("gbm", encoding, (1.0, 1.0, 1.0), float(y.mean()), n, booster=booster, platt=platt,
                         source_feature=source_feature, threads=threads, params=params)
    model.tier_cuts = share_cuts(model._predict_matrix(x))
    return model


def _best_booster(x: np.ndarray, y: np.ndarray, split: int, encoding: Encoded, seed: int,
                  threads: int, sizes: tuple[tuple[int, float], ...]) -> tuple[Any, dict[str, Any]]:
    """Fit each candidate size with early stopping on the newest slice; keep the best ranker."""
    import lightgbm as lgb

    cat_idx = [j for j, name in enumerate(encoding.names) if name in encoding.categorical]
    leaf = max(20, min(200, split // 500))
    common = {"objective": "binary", "min_data_in_leaf": leaf, "lambda_l2": 1.0, "feature_fraction": 0.9,
              "bagging_fraction": 0.9, "bagging_freq": 1, "cat_smooth": 10.0, "min_data_per_group": leaf,
              "max_cat_to_onehot": 4, "verbose": -1, "num_threads": threads, "seed": seed, "deterministic": True,
              "force_col_wise": True, "metric": "auc"}
    # Binned once for all candidates: the sizes differ only in tree parameters, not in the data.
    train = lgb.Dataset(x[:split], y[:split], categorical_feature=cat_idx, params=common, free_raw_data=False)
    valid = lgb.Dataset(x[split:], y[split:], reference=train, categorical_feature=cat_idx, params=common)
    best: tuple[float, Any, dict[str, Any]] | None = None
    for leaves, rate in sizes:
        booster = lgb.train({**common, "num_leaves": leaves, "learning_rate": rate}, train,
                            num_boost_round=MAX_ROUNDS, valid_sets=[valid],
                            callbacks=[lgb.early_stopping(40, verbose=False)])
        quality = float(booster.best_score["valid_0"]["auc"]) if booster.best_score else 0.5
        if best is None or quality > best[0]:
            best = (quality, booster, {"num_leaves": leaves, "learning_rate": rate,
                                       "rounds": booster.best_iteration or MAX_ROUNDS, "min_data_in_leaf": leaf})
    assert best is not None
    return best[1], best[2]


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept mapping raw log-odds to calibrated log-odds (Platt, 1999), unpenalised."""
    from sklearn.linear_model import LogisticRegression

    if y.min(initial=1) == y.max(initial=0):
        return 1.0, 0.0
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def time_split(n: int, test_share: float = 0.3) -> tuple[slice, slice]:
    """Oldest ``1 - test_share`` for training, newest for testing."""
    if not 0 < test_share < 1:
        raise InputError("test share must be between 0 and 1")
    cut = round(n * (1 - test_share))
    return slice(0, cut), slice(cut, n)


def take(columns: dict[str, Any], rows: slice | np.ndarray) -> dict[str, Any]:
    """The given rows of every column."""
    out = {}
    for k, v in columns.items():
        arr = v if isinstance(v, np.ndarray) else np.asarray(v, dtype=object)
        out[k] = arr[rows]
    return out
