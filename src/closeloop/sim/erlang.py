"""Exact queueing formulas: Erlang B, Erlang C (M/M/c) and Erlang A (M/M/c+M, with abandonment).

Erlang B uses the stable recurrence ``B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1))`` — no
factorials or powers, so it neither overflows nor loses precision for thousands of agents.
Erlang C follows from it: ``C = c·B / (c - a·(1 - B))``. The same code runs on floats and on
:class:`fractions.Fraction` (exact rational results, used by the tests). Where ``agents ≤
load`` the queue is unstable: every caller waits (``C = 1``), service level is 0 and the
mean wait is infinite — never a "probability" above 1.

Erlang A (Garnett, Mandelbaum & Reiman 2002) is computed from its birth-death chain in log
space: ``π_j ∝ a^j / j!`` for ``j ≤ c`` and ``π_{c+k} = π_c ∏_{i≤k} λ / (cμ + iθ)``. The
service level (served within ``t``) comes from the phase process of a caller who finds
``k`` ahead: each step takes rate ``cμ + kθ`` and the caller leaves at rate ``θ``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

import numpy as np
from scipy.special import gammaln, logsumexp

from closeloop.errors import InputError

N = TypeVar("N", float, Fraction)


def erlang_b(agents: int, load: N) -> N:
    """Blocking probability of M/M/c/c with ``load`` Erlangs (float or Fraction in, same out)."""
    if agents < 0 or load < 0:
        raise InputError(f"agents and load must be non-negative, got {agents} and {load}")
    b = load * 0 + 1  # 1 of the load's type
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents: int, load: N) -> N:
    """Probability an arriving caller waits in M/M/c (1 when agents ≤ load: unstable)."""
    one = load * 0 + 1
    if agents <= 0 or load >= agents:
        return one
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (one - b))


@dataclass(frozen=True)
class QueueFigures:
    """Steady-state figures of one interval for a given number of agents."""

    agents: int
    load: float
    p_wait: float
    service_level: float  # answered within threshold / offered
    asa: float  # average speed of answer: mean wait of the callers who are answered
    abandonment: float
    occupancy: float
    stable: bool
    #: Mean wait of all callers, abandoners included (Erlang C: equal to ``asa``; no one leaves).
    mean_wait: float = math.nan

    def __post_init__(self) -> None:
        if math.isnan(self.mean_wait) and self.abandonment == 0.0:
            object.__setattr__(self, "mean_wait", self.asa)


def erlang_c_figures(agents: int, calls_per_s: float, aht_s: float, threshold_s: float) -> QueueFigures:
    """Erlang C figures; when agents ≤ load, SL 0, infinite ASA, occupancy 1."""
    a = calls_per_s * aht_s
    if agents <= a:
        return QueueFigures(agents, a, 1.0, 0.0, math.inf, 0.0, 1.0, False)
    c = erlang_c(agents, a)
    sl = 1.0 - c * math.exp(-(agents - a) * threshold_s / aht_s)
    return QueueFigures(agents, a, c, sl, c * aht_s / (agents - a), 0.0, a / agents, True)


def _erlang_a_chain(agents: int, a: float, lam: float, mu: float, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Stationary probabilities of ``j < c`` (below) and of ``c + k`` (k waiting)."""
    j = np.arange(agents + 1)
    logw_low = j * math.log(a) - gammaln(j + 1) if a > 0 else np.where(j == 0, 0.0, -np.inf)
    logs = [logw_low[-1]]
    k, cur = 0, logw_low[-1]
    top = max(logw_low.max(), cur)
    while True:
        k += 1
        cur += math.log(lam) - math.log(agents * mu + k * theta)
        logs.append(cur)
        top = max(top, cur)
        if (cur < top - 45 and k > 10) or k > 200_000:
            break
    logw_high = np.array(logs)
    z = logsumexp(np.concatenate([logw_low[:-1], logw_high]))
    return np.exp(logw_low[:-1] - z), np.exp(logw_high - z)


def erlang_a_figures(
    agents: int, calls_per_s: float, aht_s: float, patience_s: float, threshold_s: float,
) -> QueueFigures:
    """Erlang A (M/M/c+M) figures; ``patience_s`` is the mean patience (exponential)."""
    from scipy.sparse import diags

    lam, mu, theta = calls_per_s, 1.0 / aht_s, 1.0 / patience_s
    a = lam / mu
    if agents == 0:
        return QueueFigures(0, a, 1.0, 0.0, math.nan, 1.0, 0.0, True, patience_s)
    low, high = _erlang_a_chain(agents, a, lam, mu, theta)
    p_wait = min(1.0, float(high.sum()))
    k = np.arange(len(high))
    mean_q = float((k * high).sum())
    p_ab = theta * mean_q / lam
    # phase process of a caller finding k waiting: state k -> k-1 at rate c·mu + k·theta; 0 -> served
    rates = agents * mu + k * theta
    n = len(high)
    gen = diags([-(rates + theta), rates[1:]], [0, -1], shape=(n, n), format="csc")
    served_by_t = _served_within(gen, rates, threshold_s, n)
    sl = min(1.0, float(low.sum()) + float((high * served_by_t).sum()))  # sums of tiny terms can pass 1 by 1e-16
    busy = a * (1 - p_ab)
    asa = _answered_wait(low, high, rates, theta)
    return QueueFigures(agents, a, p_wait, sl, asa, p_ab, min(1.0, busy / agents), True, mean_q / lam)


def _answered_wait(low: np.ndarray, high: np.ndarray, rates: np.ndarray, theta: float) -> float:
    """Mean wait of the callers who are answered (ASA), by first-step analysis of the phases.

    A caller finding k waiting moves ahead at rate ``rates[k]`` or abandons at ``theta``; from
    phase j, s_j = P(served) = r_j/(r_j+θ)·s_{j-1} and m_j = E[W·1{served}] = s_j/(r_j+θ) +
    r_j/(r_j+θ)·m_{j-1} (s_{-1} = 1, m_{-1} = 0). Callers finding a free agent wait 0.
    """
    s_prev, m_prev = 1.0, 0.0
    served = np.empty(len(rates))
    waited = np.empty(len(rates))
    for j, r in enumerate(rates):
        go = r / (r + theta)
        s_prev, m_prev = go * s_prev, go * s_prev / (r + theta) + go * m_prev
        served[j], waited[j] = s_prev, m_prev
    answered = float(low.sum()) + float((high * served).sum())
    return float((high * waited).sum()) / answered if answered > 0 else math.inf


def _served_within(gen, rates: np.ndarray, t: float, n: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """P(reach service within ``t``) from each phase, by an augmented absorbing state."""
    from scipy.sparse import bmat, csc_matrix
    from scipy.sparse.linalg import expm_multiply

    if t < 1e-6:  # within a microsecond nobody waiting is served (and expm_multiply divides by t's norm)
        return np.zeros(n)
    # absorbing "served" state: flow from phase 0 at rate rates[0]
    col = np.zeros((n, 1))
    col[0, 0] = rates[0]
    full = bmat([[gen, csc_matrix(col)], [csc_matrix((1, n)), csc_matrix((1, 1))]], format="csc")
    # probability of ending in "served" by t, from each start: e^{Qt} applied to indicator of served
    ind = np.zeros(n + 1)
    ind[n] = 1.0
    array: np.ndarray = expm_multiply(full * t, ind)[:n]
    return array


def poisson_tail(agents: int, load: float) -> float:
    """P(N ≥ agents) for N ~ Poisson(load): Erlang A's P(wait) when patience equals service time."""
    from scipy.stats import poisson

    return float(poisson.sf(agents - 1, load))
