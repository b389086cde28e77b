"""Pattern → outcome: how much each conversation pattern moves the close (or resolution) rate.

For every feature (detector, skipped script step, timing pattern) and the calls it
applies to:

* **raw comparison** — success rate of calls *with* the feature and *without* it, each
  with a Wilson interval; their difference with Newcombe's interval; a two-proportion
  test, with p-values adjusted across all features (Benjamini–Hochberg by default: this
  is a screen of many patterns, and BH controls the share of false discoveries);
* **adjusted effect** — one logistic regression per feature,
  ``logit P(success) = a + b·feature + center + lead source + agent`` (dummies; agents
  with few calls pooled), so a pattern that only *travels with* a weak center or bad
  leads is not blamed for them. ``b`` is reported as an odds ratio with its Wald CI, and
  on the probability scale as the average marginal effect (AME: the mean over calls of
  P(success | feature) − P(success | no feature)), with a delta-method CI;
* **cost** — ``-AME × prevalence × 1000``: successes lost per 1,000 calls because of the
  pattern, the ranking key. Patterns seen on fewer than ``min_calls`` calls are listed
  last and never called significant: a small sample is not ranked as if it were large.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from scipy.stats import t as student_t

from closeloop.conversations.detect import Feature
from closeloop.stats import adjust_pvalues, diff_interval, logistic_regression, two_proportion_test, wilson_interval
from closeloop.stats.intervals import z_value


@dataclass(frozen=True)
class PatternEffect:
    """One pattern's relation to the outcome, raw and adjusted."""

    feature: str
    label: str
    category: str
    n_calls: int
    n_with: int
    prevalence: float
    rate_with: float
    rate_with_ci: tuple[float, float]
    rate_without: float
    rate_without_ci: tuple[float, float]
    diff: float
    diff_ci: tuple[float, float]
    pvalue: float
    qvalue: float
    odds_ratio: float
    odds_ratio_ci: tuple[float, float]
    adjusted_diff: float
    adjusted_diff_ci: tuple[float, float]
    adjusted_pvalue: float
    adjusted_qvalue: float
    cost_per_1000: float
    significant: bool
    note: str = ""

    def row(self) -> dict[str, object]:
        """Flat dict for tables, CSV and JSON."""
        return {
            "feature": self.feature, "label": self.label, "category": self.category, "calls": self.n_calls,
            "with": self.n_with, "prevalence": self.prevalence,
            "rate_with": self.rate_with, "rate_with_low": self.rate_with_ci[0], "rate_with_high": self.rate_with_ci[1],
            "rate_without": self.rate_without, "rate_without_low": self.rate_without_ci[0],
            "rate_without_high": self.rate_without_ci[1],
            "diff": self.diff, "diff_low": self.diff_ci[0], "diff_high": self.diff_ci[1], "p": self.pvalue,
            "q": self.qvalue, "odds_ratio": self.odds_ratio, "or_low": self.odds_ratio_ci[0],
            "or_high": self.odds_ratio_ci[1], "adj_diff": self.adjusted_diff, "adj_diff_low": self.adjusted_diff_ci[0],
            "adj_diff_high": self.adjusted_diff_ci[1], "adj_p": self.adjusted_pvalue, "adj_q": self.adjusted_qvalue,
            "cost_per_1000": self.cost_per_1000, "significant": self.significant, "note": self.note,
        }


@dataclass(frozen=True)
class AdjustedEffect:
    """A feature's adjusted effect from one logistic regression."""

    log_odds: float
    log_odds_ci: tuple[float, float]
    pvalue: float
    ame: float
    ame_ci: tuple[float, float]
    converged: bool


def pattern_effects(
    features: Mapping[str, np.ndarray],
    success: np.ndarray,
    catalog: Sequence[Feature],
    covariates: Mapping[str, Sequence[str | None]] | None = None,
    conf: float = 0.95,
    min_calls: int = 30,
    p_adjust: str = "bh",
    min_level_calls: int = 20,
) -> list[PatternEffect]:
    """Every feature's raw and adjusted effect on ``success``, ranked by successes it costs.

    ``features`` and ``success`` are aligned per call (only the calls to analyse: e.g.
    answered sales calls); ``covariates`` maps a name (center_id, source, agent_id) to one
    label per call; levels with fewer than ``min_level_calls`` calls are pooled.
    """
    y = np.asarray(success, dtype=bool)
    n = len(y)
    design = _covariate_design(covariates or {}, n, min_level_calls)
    rows = []
    for feat in catalog:
        if feat.name not in features:
            continue
        f = np.asarray(features[feat.name], dtype=bool)
        rows.append((feat, f, _raw(f, y, conf), _adjusted(f, y, design, conf)))
    if not rows:
        return []
    enough = np.array([f.sum() >= min_calls and (~f).sum() >= min_calls for _, f, _, _ in rows])
    q_raw = np.full(len(rows), np.nan)
    q_adj = np.full(len(rows), np.nan)
    if enough.any():
        q_raw[enough] = adjust_pvalues(np.array([r[2][4] for r in rows])[enough], p_adjust)
        q_adj[enough] = adjust_pvalues(np.nan_to_num(np.array([r[3].pvalue for r in rows])[enough], nan=1.0),
                                       p_adjust)
    alpha = 1 - conf
    out = []
    for k, (feat, f, raw, adj) in enumerate(rows):
        n_with = int(f.sum())
        prevalence = n_with / n if n else float("nan")
        note = "" if enough[k] else f"fewer than {min_calls} calls with or without it"
        if enough[k] and (not adj.converged or raw[0] in (0.0, 1.0) or raw[2] in (0.0, 1.0)):
            note = ("adjusted model unreliable: the outcome is all one value on one side (separation), so the "
                    "pattern may be part of the outcome itself; read the raw comparison")
        significant = bool(not note and q_adj[k] < alpha)
        out.append(PatternEffect(
            feature=feat.name, label=feat.label, category=feat.category, n_calls=n, n_with=n_with,
            prevalence=prevalence, rate_with=raw[0], rate_with_ci=raw[1], rate_without=raw[2],
            rate_without_ci=raw[3], diff=raw[0] - raw[2], diff_ci=raw[5], pvalue=raw[4], qvalue=float(q_raw[k]),
            odds_ratio=float(np.exp(adj.log_odds)),
            odds_ratio_ci=(float(np.exp(adj.log_odds_ci[0])), float(np.exp(adj.log_odds_ci[1]))),
            adjusted_diff=adj.ame, adjusted_diff_ci=adj.ame_ci, adjusted_pvalue=adj.pvalue,
            adjusted_qvalue=float(q_adj[k]), cost_per_1000=-adj.ame * prevalence * 1000.0,
            significant=significant, note=note,
        ))
    return rank_effects(out)


def rank_effects(effects: list[PatternEffect]) -> list[PatternEffect]:
    """Costliest first; then patterns whose model did not converge; patterns with too few calls last."""
    def key(e: PatternEffect) -> tuple[int, float]:
        cost = e.cost_per_1000 if np.isfinite(e.cost_per_1000) else -np.inf
        return (0 if not e.note else 1 if e.note.startswith("adjusted") else 2, -cost)

    return sorted(effects, key=key)


Interval = tuple[float, float]


def _raw(f: np.ndarray, y: np.ndarray, conf: float) -> tuple[float, Interval, float, Interval, float, Interval]:
    """(rate_with, ci, rate_without, ci, pvalue, diff_ci)."""
    n1, x1 = int(f.sum()), int((f & y).sum())
    n0, x0 = int((~f).sum()), int((~f & y).sum())
    r1 = x1 / n1 if n1 else float("nan")
    r0 = x0 / n0 if n0 else float("nan")
    ci1 = wilson_interval(x1, n1, conf)  # counts in, floats out
    ci0 = wilson_interval(x0, n0, conf)
    dci: Interval
    if n1 and n0:
        p = float(two_proportion_test(x1, n1, x0, n0)[1])
        lo, hi = diff_interval(x1, n1, x0, n0, conf)
        dci = (float(lo), float(hi))
    else:
        p, dci = np.nan, (float("nan"), float("nan"))
    return r1, ci1, r0, ci0, float(p), dci


def _covariate_design(covariates: Mapping[str, Sequence[str | None]], n: int, min_level_calls: int) -> np.ndarray:
    """Dummy columns (first level dropped) for each covariate; rare levels pooled as one."""
    cols = []
    for values in covariates.values():
        labels = np.asarray(["" if v is None else str(v) for v in values], dtype=object)
        if len(labels) != n:
            raise ValueError("covariate length differs from the number of calls")
        levels, counts = np.unique(labels, return_counts=True)
        pooled = np.where(np.isin(labels, levels[counts < min_level_calls]), "\x00pooled", labels)
        kept = np.unique(pooled)
        if len(kept) < 2:
            continue
        for level in kept[1:]:
            cols.append((pooled == level).astype(float))
    return np.column_stack(cols) if cols else np.zeros((n, 0))


def _adjusted(f: np.ndarray, y: np.ndarray, design: np.ndarray, conf: float) -> AdjustedEffect:
    """Logistic regression of success on the feature plus covariate dummies; AME by delta method."""
    nan = float("nan")
    if f.all() or not f.any():
        return AdjustedEffect(nan, (nan, nan), nan, nan, (nan, nan), False)
    X = np.column_stack([np.ones(len(y)), f.astype(float), design])
    # Calls sharing a design row are one binomial cell: same fit, a fraction of the work.
    cells, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    successes = np.bincount(inverse, weights=y.astype(float), minlength=len(cells))
    fit = logistic_regression(cells, successes, trials=counts.astype(float), ridge=1e-4, conf=conf)
    x1, x0 = cells.copy(), cells.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    p1, p0 = expit(x1 @ fit.coef), expit(x0 @ fit.coef)
    w = counts / counts.sum()
    ame = float(w @ (p1 - p0))
    grad = w @ (x1 * (p1 * (1 - p1))[:, None] - x0 * (p0 * (1 - p0))[:, None])
    se = float(np.sqrt(max(grad @ fit.cov @ grad, 0.0)))
    z = z_value(conf)
    return AdjustedEffect(
        log_odds=float(fit.coef[1]), log_odds_ci=(float(fit.ci_low[1]), float(fit.ci_high[1])),
        pvalue=float(fit.pvalues[1]), ame=ame, ame_ci=(ame - z * se, ame + z * se), converged=bool(fit.converged),
    )


@dataclass(frozen=True)
class MeanEffect:
    """Mean of a score (CSAT) with vs without a feature, and the difference with a Welch CI."""

    feature: str
    label: str
    n_with: int
    n_without: int
    mean_with: float
    mean_without: float
    diff: float
    diff_ci: tuple[float, float]
    pvalue: float

    def row(self) -> dict[str, object]:
        """Flat dict for output."""
        return {"feature": self.feature, "label": self.label, "with": self.n_with, "without": self.n_without,
                "mean_with": self.mean_with, "mean_without": self.mean_without, "diff": self.diff,
                "diff_low": self.diff_ci[0], "diff_high": self.diff_ci[1], "p": self.pvalue}


def mean_effects(features: Mapping[str, np.ndarray], score: np.ndarray, catalog: Sequence[Feature],
                 conf: float = 0.95) -> list[MeanEffect]:
    """CSAT (or any score) with vs without each feature; calls without a score are left out."""
    s = np.asarray(score, dtype=float)
    have = ~np.isnan(s)
    out = []
    for feat in catalog:
        if feat.name not in features:
            continue
        f = np.asarray(features[feat.name], dtype=bool)
        a, b = s[have & f], s[have & ~f]
        if len(a) < 2 or len(b) < 2:
            continue
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = float(np.sqrt(va + vb))
        diff = float(a.mean() - b.mean())
        dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else np.inf
        q = float(student_t.ppf(0.5 + conf / 2, dof)) if np.isfinite(dof) else z_value(conf)
        p = float(2 * student_t.sf(abs(diff) / se, dof)) if se > 0 else (1.0 if diff == 0 else 0.0)
        out.append(MeanEffect(feat.name, feat.label, len(a), len(b), float(a.mean()), float(b.mean()), diff,
                              (diff - q * se, diff + q * se), p))
    return sorted(out, key=lambda e: e.diff)


def prevalence_by_group(features: Mapping[str, np.ndarray], groups: Sequence[str | None], catalog: Sequence[Feature],
                        conf: float = 0.95) -> list[dict[str, object]]:
    """Share of calls with each feature in each group (center), with Wilson intervals."""
    labels = np.asarray(["" if g is None else str(g) for g in groups], dtype=object)
    rows = []
    for feat in catalog:
        if feat.name not in features:
            continue
        f = np.asarray(features[feat.name], dtype=bool)
        for g in sorted(set(labels.tolist())):
            m = labels == g
            n, x = int(m.sum()), int((f & m).sum())
            lo, hi = wilson_interval(x, n, conf)
            rows.append({"feature": feat.name, "label": feat.label, "group": g, "calls": n, "with": x,
                         "prevalence": x / n if n else float("nan"), "low": float(lo), "high": float(hi)})
    return rows


__all__ = ["AdjustedEffect", "MeanEffect", "PatternEffect", "mean_effects", "pattern_effects",
           "prevalence_by_group", "rank_effects"]
