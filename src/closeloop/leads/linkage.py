"""Fellegi–Sunter record linkage: m/u probabilities, EM, match probabilities (numpy only).

A candidate pair of records is described by a *comparison vector*: for each field, the level of
agreement (e.g. phone: 0 different, 1 identical; name: 0 different ... 3 identical), or -1 when
either side is missing. Fellegi and Sunter (1969) score a vector by the likelihood ratio

    P(vector | match) / P(vector | non-match) = prod_k m_k[level] / u_k[level]

assuming fields agree independently given the match status. ``u`` (agreement among
non-matches) is estimated from random pairs, which are nearly all non-matches; ``m``
(agreement among matches) by expectation-maximisation over the candidate pairs (Winkler 1988),
with ``u`` held fixed. Work is done on *distinct patterns with counts*: millions of pairs
reduce to a few hundred patterns, so EM costs microseconds.

Each EM session is run on the pairs found by one blocking rule and skips the comparisons that
rule forced to agree (pairs found by equal phones all agree on phone, which says nothing about
how often matches do); the m of a comparison is averaged over the sessions that estimated it.
This is the training scheme Splink uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from closeloop.errors import InputError

_EPS = 1e-6


@dataclass(frozen=True)
class LinkageModel:
    """Trained parameters: per comparison, m and u for each level; the prior match probability."""

    names: tuple[str, ...]
    m: tuple[np.ndarray, ...]
    u: tuple[np.ndarray, ...]
    prior: float

    def bayes_factors(self, patterns: np.ndarray) -> np.ndarray:
        """log2 likelihood ratio of each pattern row (levels, -1 = missing contributes nothing)."""
        total = np.zeros(len(patterns))
        for k in range(len(self.names)):
            lv = patterns[:, k]
            ok = lv >= 0
            ratio = self.m[k][lv[ok]] / self.u[k][lv[ok]]
            total[ok] += np.log2(ratio)
        return total

    def probability(self, patterns: np.ndarray, prior: float | None = None) -> np.ndarray:
        """Posterior match probability of each pattern row."""
        p = self.prior if prior is None else prior
        logit = self.bayes_factors(patterns) + np.log2(p / (1 - p))
        array: np.ndarray = 1.0 / (1.0 + np.exp2(-np.clip(logit, -60, 60)))
        return array

    def weights_table(self) -> list[dict[str, object]]:
        """One row per comparison level: m, u and its match weight log2(m/u), for docs and reports."""
        rows = []
        for k, name in enumerate(self.names):
            for level in range(len(self.m[k])):
                m, u = float(self.m[k][level]), float(self.u[k][level])
                rows.append({"comparison": name, "level": level, "m": round(m, 5), "u": round(u, 7),
                             "weight": round(float(np.log2(m / u)), 2)})
        return rows


def estimate_u(patterns: np.ndarray, counts: np.ndarray, n_levels: tuple[int, ...],
               exact_u: dict[int, float] | None = None) -> tuple[np.ndarray, ...]:
    """u per comparison and level from random pairs (a +1 pseudo-count keeps every level possible).

    ``exact_u`` gives, for some comparisons, the probability that two random records share the
    value exactly, computed from value frequencies (sum of n_v(n_v-1) / n(n-1)). A sample of a
    million random pairs cannot see probabilities of 1e-7, so for the top (exact) level the
    exact figure replaces the sampled one and the other levels share the rest.
    """
    out = []
    for k, n in enumerate(n_levels):
        lv = patterns[:, k]
        tally = np.bincount(lv[lv >= 0], weights=counts[lv >= 0], minlength=n)[:n] + 1.0
        u = tally / tally.sum()
        if exact_u and k in exact_u:
            top = min(max(exact_u[k], 1e-12), 0.5)
            rest = u[:-1] / u[:-1].sum() * (1.0 - top)
            u = np.append(rest, top)
        out.append(u)
    return tuple(out)


def em_m(patterns: np.ndarray, counts: np.ndarray, u: tuple[np.ndarray, ...], active: list[int],
         n_levels: tuple[int, ...], iterations: int = 40, tol: float = 1e-7) -> tuple[dict[int, np.ndarray], float]:
    """EM for m (with u fixed) over candidate pairs, using only the ``active`` comparisons.

    Returns m for the active comparisons and the share of matches among these pairs.
    """
    if counts.sum() <= 0:
        raise InputError("no candidate pairs to train the linkage model on")
    m = {k: np.linspace(0.1, 1.0, n_levels[k]) / np.linspace(0.1, 1.0, n_levels[k]).sum() for k in active}
    lam = 0.5
    for _ in range(iterations):
        log_m = np.full(len(patterns), np.log(lam))
        log_u = np.full(len(patterns), np.log(1 - lam))
        for k in active:
            lv = patterns[:, k]
            ok = lv >= 0
            log_m[ok] += np.log(m[k][lv[ok]])
            log_u[ok] += np.log(u[k][lv[ok]])
        post = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        w = post * counts
        new_lam = float(w.sum() / counts.sum())
        new_m = {}
        for k in active:
            lv = patterns[:, k]
            ok = lv >= 0
            tally = np.bincount(lv[ok], weights=w[ok], minlength=n_levels[k])[: n_levels[k]] + _EPS
            new_m[k] = tally / tally.sum()
        shift = max(abs(new_lam - lam), *(float(np.abs(new_m[k] - m[k]).max()) for k in active))
        m, lam = new_m, min(max(new_lam, _EPS), 1 - _EPS)
        if shift < tol:
            break
    return m, lam


def fit_linkage(names: tuple[str, ...], n_levels: tuple[int, ...], random_patterns: np.ndarray,
                random_counts: np.ndarray, sessions: list[tuple[np.ndarray, np.ndarray, list[int]]],
                candidate_patterns: np.ndarray, candidate_counts: np.ndarray, total_pairs: float,
                exact_u: dict[int, float] | None = None) -> LinkageModel:
    """Train a :class:`LinkageModel`.

    ``sessions`` are (patterns, counts, active comparisons) per blocking rule; the prior is the
    fixed point of "expected matches among candidates / all possible pairs" (pairs never
    compared are taken as non-matches).
    """
    u = estimate_u(random_patterns, random_counts, n_levels, exact_u)
    estimates: dict[int, list[np.ndarray]] = {}
    for patterns, counts, active in sessions:
        if counts.sum() <= 0:
            continue
        m_part, _ = em_m(patterns, counts, u, active, n_levels)
        for k, v in m_part.items():
            estimates.setdefault(k, []).append(v)
    m = []
    for k, n in enumerate(n_levels):
        if k in estimates:
            m.append(np.mean(estimates[k], axis=0))
        else:  # never estimated: a neutral guess that agreement is likelier among matches
            m.append(np.linspace(0.1, 1.0, n) / np.linspace(0.1, 1.0, n).sum())
    model = LinkageModel(names, tuple(m), u, prior=1e-6)
    prior = max(1.0 / max(total_pairs, 1.0), 1e-12)
    for _ in range(50):
        expected = float((model.probability(candidate_patterns, prior) * candidate_counts).sum())
        new = min(max(expected / max(total_pairs, 1.0), 1e-12), 0.5)
        if abs(new - prior) <= 1e-3 * prior:
            prior = new
            break
        prior = new
    return LinkageModel(names, tuple(m), u, prior=prior)


def pairwise_quality(cluster_of: np.ndarray, truth_of: np.ndarray) -> dict[str, float]:
    """Pairwise precision and recall of a clustering against the true entities.

    A pair of records is *predicted* when both sit in one cluster and *true* when both belong
    to one entity; counts come from group sizes, so this is O(n), not O(n²).
    """

    def pairs(*keys: np.ndarray) -> float:
        _, sizes = np.unique(np.stack(keys, axis=1) if len(keys) > 1 else keys[0], axis=0, return_counts=True)
        return float((sizes * (sizes - 1) / 2).sum())

    c = np.unique(cluster_of, return_inverse=True)[1]
    t = np.unique(truth_of, return_inverse=True)[1]
    tp, predicted, true = pairs(c, t), pairs(c), pairs(t)
    return {
        "true_pairs": true, "predicted_pairs": predicted, "correct_pairs": tp,
        "precision": tp / predicted if predicted else 1.0,
        "recall": tp / true if true else 1.0,
    }
