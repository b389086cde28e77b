"""How good is a lead score? AUC, calibration and lift, each with its uncertainty.

* **AUC** — the probability that a random buyer is ranked above a random non-buyer (Mann–Whitney),
  with a 95% interval from Hanley & McNeil (1982).
* **AUC difference** against a baseline on the same leads — a paired bootstrap interval; the
  model "beats" the baseline when the whole interval is above zero.
* **Calibration** — Brier score and expected calibration error over ten equal-count bins, plus
  the reliability table (mean predicted vs observed rate per bin).
* **Lift at the top decile** — sale rate among the 10% best-scored leads over the overall rate,
  with the Wilson interval of that top-decile rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm, rankdata

from closeloop.errors import InputError
from closeloop.stats import wilson_interval


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise InputError("AUC needs both buyers and non-buyers in the evaluation set")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_interval(value: float, n_pos: int, n_neg: int, conf: float = 0.95) -> tuple[float, float]:
    """Hanley–McNeil interval for an AUC."""
    q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
    var = (value * (1 - value) + (n_pos - 1) * (q1 - value**2) + (n_neg - 1) * (q2 - value**2)) / (n_pos * n_neg)
    half = float(norm.ppf(0.5 + conf / 2)) * np.sqrt(max(var, 0.0))
    return max(0.0, value - half), min(1.0, value + half)


def auc_difference(y: np.ndarray, a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
                   resamples: int = 300) -> tuple[float, float, float]:
    """AUC(a) - AUC(b) on the same leads, with a paired bootstrap 95% interval."""
    y = np.asarray(y, dtype=bool)
    diff = auc(y, a) - auc(y, b)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    draws = []
    for _ in range(resamples):  # stratified: keep the number of buyers fixed
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        draws.append(auc(y[idx], a[idx]) - auc(y[idx], b[idx]))
    low, high = np.quantile(draws, [0.025, 0.975])
    return diff, float(low), float(high)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Equal-count bins of predicted probability: mean prediction vs observed rate."""
    order = np.argsort(p, kind="stable")
    rows = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            rows.append({"predicted": float(p[chunk].mean()), "observed": float(np.mean(y[chunk])),
                         "n": len(chunk)})
    return rows


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
        brier=float(np.mean((p - y) ** 2)), ece=float(ece), top_decile_rate=top_sales / len(top),
        top_decile_low=float(t_low), top_decile_high=float(t_high), base_rate=base,
        lift_top_decile=(top_sales / len(top)) / base if base > 0 else float("nan"), reliability=bins,
    )
