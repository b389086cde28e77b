"""How good is a lead score? AUC, calibration and lift, each with its uncertainty.

The figures come from scikit-learn's metrics (``roc_auc_score``, ``brier_score_loss``,
``calibration_curve``); what is ours is the uncertainty around them and the baselines a score
is always shown beside: the **source-only** rate and a **logistic regression on the same
features** (:func:`fit_logistic`), so a boosted model has to earn its complexity.

* **AUC** — the probability that a random buyer is ranked above a random non-buyer (Mann–Whitney),
  with a 95% interval from Hanley & McNeil (1982).
* **AUC difference** against a baseline on the same leads — DeLong's interval for two
  correlated AUCs; the model "beats" the baseline when the whole interval is above zero.
* **Calibration** — Brier score and expected calibration error over ten equal-count bins, plus
  the reliability table (mean predicted vs observed rate per bin).
* **Lift at the top decile** — sale rate among the 10% best-scored leads over the overall rate,
  with the Wilson interval of that top-decile rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score

from closeloop.errors import InputError
from closeloop.stats import wilson_interval


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count half): ``sklearn.metrics.roc_auc_score``."""
    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        raise InputError("AUC needs both buyers and non-buyers in the evaluation set")
    return float(roc_auc_score(y, score))


def auc_interval(value: float, n_pos: int, n_neg: int, conf: float = 0.95) -> tuple[float, float]:
    """Hanley–McNeil interval for an AUC."""
    q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
    var = (value * (1 - value) + (n_pos - 1) * (q1 - value**2) + (n_neg - 1) * (q2 - value**2)) / (n_pos * n_neg)
    half = float(norm.ppf(0.5 + conf / 2)) * np.sqrt(max(var, 0.0))
    return max(0.0, value - half), min(1.0, value + half)


def auc_difference(y: np.ndarray, a: np.ndarray, b: np.ndarray, conf: float = 0.95) -> tuple[float, float, float]:
    """AUC(a) - AUC(b) on the same leads, with DeLong's interval for correlated AUCs.

    DeLong, DeLong & Clarke-Pearson (1988): each score's AUC is the mean of per-buyer and
    per-non-buyer "placement" values; their covariance across the two scores gives the variance
    of the difference without resampling (a paired bootstrap gives the same interval, 300x slower).
    """
    y = np.asarray(y, dtype=bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    if not len(pos) or not len(neg):
        raise InputError("an AUC difference needs both buyers and non-buyers in the evaluation set")
    v10, v01 = [], []
    for s in (np.asarray(a, dtype=float), np.asarray(b, dtype=float)):
        all_ranks, pos_ranks, neg_ranks = rankdata(s), rankdata(s[pos]), rankdata(s[neg])
        v10.append((all_ranks[pos] - pos_ranks) / len(neg))  # per buyer: share of non-buyers ranked below
        v01.append(1 - (all_ranks[neg] - neg_ranks) / len(pos))  # per non-buyer: share of buyers above
    diff = float(np.mean(v10[0]) - np.mean(v10[1]))
    s10 = np.cov(np.vstack(v10)) if len(pos) > 1 else np.zeros((2, 2))
    s01 = np.cov(np.vstack(v01)) if len(neg) > 1 else np.zeros((2, 2))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / len(pos) + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / len(neg)
    half = float(norm.ppf(0.5 + conf / 2)) * float(np.sqrt(max(var, 0.0)))
    return diff, diff - half, diff + half


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Equal-count bins of predicted probability: mean prediction vs observed rate (``calibration_curve``)."""
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    edges = np.percentile(p, np.linspace(0, 100, bins + 1))  # the bins calibration_curve used, for their sizes
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)
    counts = counts[counts > 0]
    return [{"predicted": float(a), "observed": float(b), "n": int(c)}
            for a, b, c in zip(predicted, observed, counts, strict=False)]


@dataclass(frozen=True)
class ScoreReport:
    """Held-out figures for one score."""

    name: str
    n: int
    positives: int
    auc: float
    auc_low: float
    auc_high: float
    brier: float
    ece: float
    top_decile_rate: float
    top_decile_low: float
    top_decile_high: float
    base_rate: float
    lift_top_decile: float
    reliability: list[dict[str, float]] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        """A flat row for tables (reliability left out)."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()
                if k != "reliability"}


def score_report(name: str, y: np.ndarray, p: np.ndarray) -> ScoreReport:
    """AUC, calibration and top-decile lift of probabilities ``p`` for outcomes ``y``."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) != len(p) or len(y) < 20:
        raise InputError("need at least 20 scored leads with outcomes to evaluate a score")
    value = auc(y, p)
    n_pos = int(y.sum())
    low, high = auc_interval(value, n_pos, len(y) - n_pos)
    bins = reliability(y, p)
    ece = sum(b["n"] * abs(b["predicted"] - b["observed"]) for b in bins) / len(y)
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    top_sales = int(y[top].sum())
    t_low, t_high = wilson_interval(top_sales, len(top))
    base = float(y.mean())
    return ScoreReport(
        name=name, n=len(y), positives=n_pos, auc=value, auc_low=low, auc_high=high,
        brier=float(brier_score_loss(y, p)), ece=float(ece), top_decile_rate=top_sales / len(top),
        top_decile_low=float(t_low), top_decile_high=float(t_high), base_rate=base,
        lift_top_decile=(top_sales / len(top)) / base if base > 0 else float("nan"), reliability=bins,
    )


def tier_table(y: np.ndarray, p: np.ndarray, tiers: np.ndarray) -> list[dict[str, object]]:
    """Per tier on held-out leads: stated chance (mean probability) vs observed rate with its Wilson interval."""
    y = np.asarray(y, dtype=float)
    base = float(y.mean()) if len(y) else float("nan")
    rows: list[dict[str, object]] = []
    for tier in "ABCD":
        mask = tiers == tier
        n = int(mask.sum())
        if not n:
            continue
        sales = int(y[mask].sum())
        low, high = wilson_interval(sales, n)
        rows.append({"tier": tier, "leads": n, "stated": round(float(p[mask].mean()), 4),
                     "observed": round(sales / n, 4), "observed_low": round(float(low), 4),
                     "observed_high": round(float(high), 4),
                     "lift": round((sales / n) / base, 2) if base > 0 else None})
    return rows


def fit_logistic(x_train: np.ndarray, y_train: np.ndarray, categorical: np.ndarray, seed: int = 0) -> Any:
    """A logistic regression on the same encoded features: one-hot categoricals, imputed + scaled numbers.

    The honest linear baseline: if the boosted model does not beat it, its trees buy nothing.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cat = np.flatnonzero(categorical)
    num = np.flatnonzero(~categorical)
    prep = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value=-1, keep_empty_features=True),
                              OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20)), cat),
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                              StandardScaler()), num),
    ])
    model = make_pipeline(prep, LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    return model.fit(x_train, y_train)
