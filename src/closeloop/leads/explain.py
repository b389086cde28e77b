"""Reasons in words: the top tree-SHAP contributions of each lead's score.

A contribution is in log-odds, the scale on which the model adds its trees; the contributions
of a lead and its base value add up exactly to the log-odds of its calibrated probability
(:meth:`closeloop.leads.scoring.ScoringModel.contributions`). Points are shown beside them
for people: how many percentage points lower the probability would be without that
contribution (``100 * (p - sigmoid(logit(p) - c))``). Points do not add up; log-odds do.
"""

from __future__ import annotations

import numpy as np

from closeloop.leads.scoring import Encoded


def words(name: str) -> str:
    """A feature name as a person reads it: ``time_on_site`` -> ``time on site``."""
    return name.replace("_", " ").replace(".", " ").strip()


def value_label(encoding: Encoded, j: int, value: float) -> str:
    """How the j-th feature's encoded value reads (category name, number, or missing)."""
    name = encoding.names[j]
    if name in encoding.categorical:
        return "(other)" if np.isnan(value) else encoding.categories[name][int(value)]
    if np.isnan(value):
        return "(missing)"
    return f"{value:.3g}" if abs(value) < 1e5 else f"{value:,.0f}"


def reasons_in_words(contrib: np.ndarray, base: np.ndarray, encoding: Encoded, x: np.ndarray,
                     top: int = 3, min_log_odds: float = 0.01) -> list[list[str]]:
    """Up to ``top`` reasons per lead, largest contribution (either sign) first."""
    logit = contrib.sum(axis=1) + base
    p = 1.0 / (1.0 + np.exp(-logit))
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :top]
    out = []
    for i in range(contrib.shape[0]):
        row = []
        for j in order[i]:
            c = contrib[i, j]
            if abs(c) < min_log_odds:
                continue
            pts = 100 * (p[i] - 1.0 / (1.0 + np.exp(-(logit[i] - c))))
            row.append(f"{words(encoding.names[j])} {value_label(encoding, j, x[i, j])}: "
                       f"{c:+.2f} log-odds ({pts:+.1f} pts)")
        out.append(row)
    return out
