"""Duration distributions for talk, wrap-up, patience and call-back delays.

A scenario names a distribution by family and parameters (TOML: ``talk = { dist = "gamma",
mean = 300, sd = 200 }``). Each family is parametrised the way a planner states it —
mean and standard deviation where the family allows, else its natural parameters:

==============  ============================  =================================
``dist``        parameters                    drawn as
==============  ============================  =================================
``fixed``       ``value``                     the value
``exponential`` ``mean``                      ``rng.exponential(mean)``
``uniform``     ``low``, ``high``             ``rng.uniform(low, high)``
``triangular``  ``low``, ``mode``, ``high``   ``rng.triangular``
``gamma``       ``mean``, ``sd``              shape ``(mean/sd)²``, scale ``sd²/mean``
``lognormal``   ``mean``, ``sd``              ``σ² = ln(1 + (sd/mean)²)``, ``μ = ln mean − σ²/2``
``weibull``     ``shape``, ``scale``          ``scale · rng.weibull(shape)``
``empirical``   ``values`` (≥ 2)              inverse of the linearly interpolated ECDF
==============  ============================  =================================

``empirical`` holds sorted points ``v₀ ≤ … ≤ vₙ₋₁`` taken as the quantiles at
``0, 1/(n−1), …, 1``; a draw is ``interp(U, those levels, v)`` — the distribution that
calibration writes from data (101 quantiles of the observed durations keep a file short).

Exponential and lognormal draws use exactly the numpy calls the simulator always used, so
old scenarios keep their pinned results. Everything here is pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from closeloop.errors import ScenarioError

PARAMS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "gamma": ("mean", "sd"),
    "lognormal": ("mean", "sd"),
    "weibull": ("shape", "scale"),
    "empirical": ("values",),
}
FAMILIES = tuple(PARAMS)


@dataclass(frozen=True)
class Dist:
    """A non-negative duration distribution (seconds): a family and its parameters."""

    kind: str
    p: tuple[tuple[str, float], ...] = ()
    values: tuple[float, ...] = ()

    def __getitem__(self, name: str) -> float:
        return dict(self.p)[name]

    # ---- drawing -------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
        """Draws of the given shape from ``rng``."""
        k = self.kind
        if k == "fixed":
            return np.full(shape, self["value"], dtype=float)
        if k == "exponential":
            return rng.exponential(self["mean"], shape)
        if k == "uniform":
            return rng.uniform(self["low"], self["high"], shape)
        if k == "triangular":
            lo, mo, hi = self["low"], self["mode"], self["high"]
            return rng.triangular(lo, mo, hi, shape) if hi > lo else np.full(shape, lo, dtype=float)
        if k == "gamma":
            m, sd = self["mean"], self["sd"]
            if sd <= 0:
                return np.full(shape, m, dtype=float)
            return rng.gamma((m / sd) ** 2, sd * sd / m, shape)
        if k == "lognormal":
            m, sd = self["mean"], self["sd"]
            if sd <= 0:
                return np.full(shape, m, dtype=float)
            s2 = math.log1p((sd / m) ** 2)
            return rng.lognormal(math.log(m) - s2 / 2, math.sqrt(s2), shape)
        if k == "weibull":
            return self["scale"] * rng.weibull(self["shape"], shape)
        v = np.asarray(self.values, dtype=float)
        array: np.ndarray = np.interp(rng.random(shape), np.linspace(0.0, 1.0, len(v)), v)
        return array

    # ---- describing -----------------------------------------------------------------

    def mean(self) -> float:
        """The exact mean."""
        k = self.kind
        if k == "fixed":
            return self["value"]
        if k in ("exponential", "gamma", "lognormal"):
            return self["mean"]
        if k == "uniform":
            return (self["low"] + self["high"]) / 2
        if k == "triangular":
            return (self["low"] + self["mode"] + self["high"]) / 3
        if k == "weibull":
            return self["scale"] * math.gamma(1 + 1 / self["shape"])
        v = np.asarray(self.values, dtype=float)
        return float(((v[1:] + v[:-1]) / 2).mean())

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(duration ≤ x), for goodness of fit and tests."""
        x = np.asarray(x, dtype=float)
        if self.kind == "fixed":
            return (x >= self["value"]).astype(float)
        if self.kind == "empirical":
            v = np.asarray(self.values, dtype=float)
            array: np.ndarray = np.interp(x, v, np.linspace(0.0, 1.0, len(v)), left=0.0, right=1.0)
            return array
        return np.asarray(self.scipy().cdf(x), dtype=float)

    def scipy(self) -> Any:
        """The frozen ``scipy.stats`` distribution of a parametric family."""
        k = self.kind
        if k == "exponential":
            return sps.expon(scale=self["mean"])
        if k == "uniform":
            return sps.uniform(self["low"], self["high"] - self["low"])
        if k == "triangular":
            lo, mo, hi = self["low"], self["mode"], self["high"]
            return sps.triang((mo - lo) / (hi - lo), loc=lo, scale=hi - lo)
        if k == "gamma":
            m, sd = self["mean"], self["sd"]
            return sps.gamma((m / sd) ** 2, scale=sd * sd / m)
        if k == "lognormal":
            m, sd = self["mean"], self["sd"]
            s2 = math.log1p((sd / m) ** 2)
            return sps.lognorm(math.sqrt(s2), scale=math.exp(math.log(m) - s2 / 2))
        if k == "weibull":
            return sps.weibull_min(self["shape"], scale=self["scale"])
        raise ScenarioError("<dist>", k, "has no scipy form")

    def to_toml(self) -> str:
        """The inline TOML table that :func:`parse_dist` reads back."""
        if self.kind == "empirical":
            vals = ", ".join(f"{v:.6g}" for v in self.values)
            return f'{{ dist = "empirical", values = [{vals}] }}'
        body = ", ".join(f"{k} = {v:.10g}" for k, v in self.p)
        return f'{{ dist = "{self.kind}", {body} }}'


def make(kind: str, **params: float) -> Dist:
    """A distribution from Python, checked like a scenario file's (``ScenarioError`` if wrong)."""
    return parse_dist({"dist": kind, **params}, "<python>", "dist")


def empirical(data: np.ndarray, points: int = 101) -> Dist:
    """The empirical distribution of ``data`` kept as ``points`` quantiles."""
    q = np.quantile(np.asarray(data, dtype=float), np.linspace(0.0, 1.0, points))
    return Dist("empirical", (), tuple(float(x) for x in q))


def parse_dist(raw: Any, path: str, key: str) -> Dist:
    """A :class:`Dist` from a TOML table; ``ScenarioError`` names the key and the problem."""
    if not isinstance(raw, dict):
        raise ScenarioError(path, key, 'must be a table like { dist = "gamma", mean = 300, sd = 200 }')
    kind = raw.get("dist")
    if not isinstance(kind, str) or kind not in PARAMS:
        raise ScenarioError(path, f"{key}.dist", f"{kind!r} is not one of {', '.join(FAMILIES)}")
    need = PARAMS[kind]
    extra = sorted(set(raw) - {"dist", *need})
    if extra:
        raise ScenarioError(path, f"{key}.{extra[0]}", f"unknown key for {kind}; it takes {', '.join(need)}")
    missing = [n for n in need if n not in raw]
    if missing:
        raise ScenarioError(path, f"{key}.{missing[0]}", f"is required for {kind}")
    if kind == "empirical":
        vals = raw["values"]
        if not isinstance(vals, list) or len(vals) < 2 or not all(_num(v) and v >= 0 for v in vals):
            raise ScenarioError(path, f"{key}.values", "needs at least two numbers ≥ 0")
        return Dist(kind, (), tuple(sorted(float(v) for v in vals)))
    for n in need:
        if not _num(raw[n]) or math.isnan(raw[n]) or math.isinf(raw[n]):
            raise ScenarioError(path, f"{key}.{n}", f"must be a finite number, got {raw[n]!r}")
    d = Dist(kind, tuple((n, float(raw[n])) for n in need))
    _check(d, path, key)
    return d


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check(d: Dist, path: str, key: str) -> None:
    """Durations are ≥ 0; each family's parameters in their range."""
    p = dict(d.p)
    for n, v in p.items():
        if v < 0:
            raise ScenarioError(path, f"{key}.{n}", f"must be ≥ 0, got {v}")
    if d.kind in ("exponential", "gamma", "lognormal") and p["mean"] <= 0:
        raise ScenarioError(path, f"{key}.mean", "must be > 0")
    if d.kind == "uniform" and p["high"] < p["low"]:
        raise ScenarioError(path, f"{key}.high", f"must be ≥ low ({p['low']})")
    if d.kind == "triangular" and not p["low"] <= p["mode"] <= p["high"]:
        raise ScenarioError(path, f"{key}.mode", "needs low ≤ mode ≤ high")
    if d.kind == "weibull" and not (p["shape"] >= 0.1 and p["scale"] > 0):
        raise ScenarioError(path, f"{key}.shape", "needs shape ≥ 0.1 (below it the mean is astronomically large) "
                                                  "and scale > 0")
