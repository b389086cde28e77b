"""SLA contracts: terms per vendor, center or queue, read from TOML and validated.

A contract file holds one or more ``[[contract]]`` tables::

    [[contract]]
    name = "Acme telesales"            # shown in reports
    scope = { vendor = "acme" }        # dimension = value or [values]; all must match
    where = ["call_type=sales"]        # optional extra filters (same syntax as --where)
    period = "week"                    # week | month: each term is judged per period
    judge = "point"                    # point: the value decides; ci: fail only if the whole CI misses
    start = 2026-01-05                 # optional: the contract's first day (first 90 days: ramp-up)

    [[contract.term]]
    metric = "close_rate"
    target = 0.18
    direction = "at_least"             # at_least | at_most
    min_volume = 200                   # fewer calls in the denominator -> not-enough-data
    weight = 2.0                       # share in the contract's weighted score
    penalty = 1500.0                   # money owed per failed period
    penalty_per_point = 200.0          # and per point short of the target (0.01 of a rate, 1 s...)
    bonus = 500.0                      # money earned per period the term is met

    [contract.price]                   # optional: how the party is paid (closeloop.contracts.pricing)
    per_productive_hour = 14.5

A contract with a price may have no terms (an in-house center's loaded cost, a partner's
commission): it is then priced but never judged.

Parsing is pure (text in, objects out); mistakes raise ScenarioError(path, key, problem).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from closeloop.contracts.pricing import Price, parse_price
from closeloop.errors import InputError, ScenarioError
from closeloop.metrics import METRICS
from closeloop.metrics.selection import Filter, parse_filter

DIRECTIONS = ("at_least", "at_most")
PERIODS = ("week", "month")
JUDGES = ("point", "ci")
_CONTRACT_KEYS = {"name", "scope", "where", "period", "judge", "term", "price", "start"}
#: Days after a contract's start that count as ramp-up in a vendor review.
RAMP_UP_DAYS = 90
_MONEY_KEYS = ("penalty", "penalty_per_point", "bonus")
_TERM_KEYS = {"metric", "target", "direction", "min_volume", "weight", "period", *_MONEY_KEYS}


@dataclass(frozen=True)
class Term:
    """One promise: ``metric`` at least/at most ``target`` each ``period``."""

    metric: str
    target: float
    direction: str
    period: str
    min_volume: int = 0
    weight: float = 1.0
    penalty: float = 0.0
    penalty_per_point: float = 0.0
    bonus: float = 0.0
    #: What one "point" of the metric is for ``penalty_per_point``: 0.01 for rates, 1 otherwise.
    point: float = 1.0

    def money(self, passed: bool, value: float | None) -> float:
        """Money this term moves in a judged period: the bonus if met, minus the penalty if not.

        Negative: the party owes (a service credit); positive: it earned a bonus. A breach
        costs ``penalty + penalty_per_point × points short``.
        """
        if passed:
            return self.bonus
        short = max(-self.margin(value), 0.0) / self.point if value is not None else 0.0
        return -(self.penalty + self.penalty_per_point * short)

    def meets(self, value: float) -> bool:
        """Whether ``value`` keeps the promise."""
        return value >= self.target if self.direction == "at_least" else value <= self.target

    def margin(self, value: float) -> float:
        """How far ``value`` is on the good side of the target (negative: short of it)."""
        return value - self.target if self.direction == "at_least" else self.target - value


@dataclass(frozen=True)
class Contract:
    """A named set of terms over the calls its filters (scope and ``where``) select."""

    name: str
    filters: tuple[Filter, ...]
    terms: tuple[Term, ...]
    judge: str = "point"
    price: Price | None = None
    period: str = "month"
    #: The day the contract started (``start = 2026-01-05``): its first 90 days are ramp-up.
    start: date | None = None

    def ramp_up(self, day: date) -> bool:
        """Whether ``day`` falls in the contract's first RAMP_UP_DAYS days."""
        return self.start is not None and self.start <= day < self.start + timedelta(days=RAMP_UP_DAYS)


def parse_contracts(text: str, path: str = "contracts.toml") -> list[Contract]:
    """Contracts from TOML text; ScenarioError naming file, key and problem on any mistake."""
    from closeloop.config import read_toml, validate
    from closeloop.contracts.shape import ContractsFile

    data = read_toml(text, path)
    validate(ContractsFile, data, path)  # shape, types and key names; the domain's rules follow
    unknown = set(data) - {"contract"}
    if unknown:
        raise ScenarioError(path, sorted(unknown)[0], "unknown top-level key; contracts are [[contract]] tables")
    items = data.get("contract")
    if not isinstance(items, list) or not items:
        raise ScenarioError(path, "contract", "no [[contract]] tables found")
    contracts = [_contract(c, path, f"contract[{i}]") for i, c in enumerate(items)]
    names = [c.name for c in contracts]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ScenarioError(path, "contract.name", f"duplicate contract name(s): {', '.join(sorted(dup))}")
    return contracts


def _contract(raw: dict[str, Any], path: str, where: str) -> Contract:
    bad = set(raw) - _CONTRACT_KEYS
    if bad:
        known = ", ".join(sorted(_CONTRACT_KEYS))
        raise ScenarioError(path, f"{where}.{sorted(bad)[0]}", f"unknown key; known: {known}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(path, f"{where}.name", "every contract needs a name")
    where = f"contract {name!r}"
    scope = raw.get("scope")
    if not isinstance(scope, dict) or not scope:
        raise ScenarioError(path, f"{where}.scope", "give the calls it covers, e.g. scope = { vendor = \"acme\" }")
    filters = [Filter(str(k), tuple(map(str, v)) if isinstance(v, list) else (str(v),)) for k, v in scope.items()]
    extra = raw.get("where", [])
    if not isinstance(extra, list):
        raise ScenarioError(path, f"{where}.where", "must be a list of filters like [\"call_type=sales\"]")
    for text in extra:
        try:
            filters.append(parse_filter(str(text)))
        except InputError as exc:
            raise ScenarioError(path, f"{where}.where", str(exc)) from None
    period = _choice(raw.get("period", "month"), PERIODS, path, f"{where}.period")
    judge = _choice(raw.get("judge", "point"), JUDGES, path, f"{where}.judge")
    price = parse_price(raw["price"], path, f"{where}.price") if "price" in raw else None
    for i, t in enumerate(raw.get("term") or []):
        m = METRICS.get(str(t.get("metric"))) if isinstance(t, dict) else None
        if price is None and m is not None and m.level == "cost":
            raise ScenarioError(path, f"{where}.term[{i}].metric", f"{m.name} needs the contract's [contract.price]")
    terms = raw.get("term", [])
    if not isinstance(terms, list) or (not terms and price is None):
        raise ScenarioError(path, f"{where}.term",
                            "a contract needs at least one [[contract.term]] (or a [contract.price])")
    start = raw.get("start")
    if start is not None and (isinstance(start, datetime) or not isinstance(start, date)):
        raise ScenarioError(path, f"{where}.start",
                            f"give the start day as a TOML date (start = 2026-01-05), got {start!r}")
    return Contract(name, tuple(filters), tuple(_term(t, path, f"{where}.term[{i}]", period)
                                               for i, t in enumerate(terms)), judge, price, period, start)


def _term(raw: dict[str, Any], path: str, where: str, period: str) -> Term:
    bad = set(raw) - _TERM_KEYS
    if bad:
        raise ScenarioError(path, f"{where}.{sorted(bad)[0]}", f"unknown key; known: {', '.join(sorted(_TERM_KEYS))}")
    metric = raw.get("metric")
    if metric not in METRICS:
        raise ScenarioError(path, f"{where}.metric", f"{metric!r} is not a metric; metrics: {', '.join(METRICS)}")
    target = _number(raw.get("target"), path, f"{where}.target")
    if METRICS[metric].is_rate and not 0 <= target <= 1:
        raise ScenarioError(path, f"{where}.target", f"{metric} is a rate: give the target as 0-1 (0.8 = 80%)")
    min_volume = _number(raw.get("min_volume", 0), path, f"{where}.min_volume")
    weight = _number(raw.get("weight", 1.0), path, f"{where}.weight")
    money = {k: _number(raw.get(k, 0.0), path, f"{where}.{k}") for k in _MONEY_KEYS}
    for key, value in (("min_volume", min_volume), ("weight", weight), *money.items()):
        if value < 0:
            raise ScenarioError(path, f"{where}.{key}", "must not be negative")
    return Term(
        metric=metric, target=target, direction=_choice(raw.get("direction"), DIRECTIONS, path, f"{where}.direction"),
        period=_choice(raw.get("period", period), PERIODS, path, f"{where}.period"),
        min_volume=int(min_volume), weight=weight, **money, point=0.01 if METRICS[metric].is_rate else 1.0,
    )


def _number(value: Any, path: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(path, key, f"must be a number, got {value!r}")
    return float(value)


def _choice(value: Any, choices: tuple[str, ...], path: str, key: str) -> str:
    if value not in choices:
        raise ScenarioError(path, key, f"{value!r} is not one of {', '.join(choices)}")
    return str(value)
