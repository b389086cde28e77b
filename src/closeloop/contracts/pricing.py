"""What a contract costs: prices per vendor or partner, loaded cost of in-house centers.

A contract's ``[contract.price]`` table says how the party is paid (docs/sla.md)::

    [contract.price]
    currency = "USD"
    per_handled_minute = 0.0      # talk + hold + wrap minutes of handled calls
    per_productive_hour = 0.0     # vendor's billed agent hours (see ``occupancy``)
    loaded_cost_per_agent_hour = 0.0   # in-house: wages, benefits, seat, supervision per paid hour
    occupancy = 0.85              # handle time / agent hours, to turn handle hours into agent hours
    per_call = 0.0                # per handled call
    per_sale = 0.0                # flat commission per sale
    commission = 0.0              # share of the sale's order value (0.08 = 8 %)
    monthly_fixed = 0.0           # management fee, licences...

Why agent hours are derived from handle time: the canonical calls carry handle time but
not the agents' logged-in time, so an hourly price is applied to ``handle hours ÷
occupancy`` — the contract's stated (or the planner's assumed) occupancy. Costs here are
pure arithmetic on counts and sums a scorecard already has (:class:`Volume`), so one
function prices a vendor's week, a queue's month or an outsourcing what-if alike.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from closeloop.errors import ScenarioError

#: Keys of a ``[contract.price]`` table that are amounts of money (or a share, for commission).
AMOUNT_KEYS = (
    "per_handled_minute", "per_productive_hour", "loaded_cost_per_agent_hour", "per_call", "per_sale",
    "commission", "monthly_fixed",
)
PRICE_KEYS = frozenset({*AMOUNT_KEYS, "occupancy", "currency"})
#: Days per month on average, to spread a monthly fee over a week or a day.
DAYS_PER_MONTH = 365.25 / 12
PERIOD_DAYS = {"day": 1.0, "week": 7.0}


@dataclass(frozen=True)
class Volume:
    """The work a price applies to, over some calls: all sums, so volumes add up."""

    handled: float = 0.0
    handle_s: float = 0.0
    sales: float = 0.0
    order_value: float = 0.0

    def __add__(self, other: Volume) -> Volume:
        return Volume(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class Price:
    """How one party is paid; every amount is in ``currency`` and defaults to 0."""

    currency: str = "USD"
    per_handled_minute: float = 0.0
    per_productive_hour: float = 0.0
    loaded_cost_per_agent_hour: float = 0.0
    occupancy: float = 0.85
    per_call: float = 0.0
    per_sale: float = 0.0
    commission: float = 0.0
    monthly_fixed: float = 0.0

    def agent_hours(self, v: Volume) -> float:
        """Agent hours the handled work implies: handle hours ÷ occupancy."""
        return v.handle_s / 3600.0 / self.occupancy

    def variable_cost(self, v: Volume) -> float:
        """What the work costs, fixed fees aside: the sum of every priced component."""
        return sum(self.breakdown(v).values())

    def breakdown(self, v: Volume) -> dict[str, float]:
        """The cost by component (minutes, hours, calls, sales, commission), for a bill."""
        hours = self.agent_hours(v)
        return {
            "minutes": v.handle_s / 60.0 * self.per_handled_minute,
            "hours": hours * (self.per_productive_hour + self.loaded_cost_per_agent_hour),
            "calls": v.handled * self.per_call,
            "sales": v.sales * self.per_sale,
            "commission": v.order_value * self.commission,
        }

    def fixed_cost(self, grain: str) -> float:
        """The monthly fee's share of one period of ``grain`` (day, week or month)."""
        if grain == "month":
            return self.monthly_fixed
        return self.monthly_fixed * PERIOD_DAYS[grain] / DAYS_PER_MONTH

    def hourly_rate(self) -> float:
        """Cost of one agent hour of handled work under this price (a sale-free hour): for ranking."""
        v = Volume(handle_s=3600.0 * self.occupancy)
        return self.variable_cost(v)


def parse_price(raw: Any, path: str, where: str) -> Price:
    """A Price from a ``[contract.price]`` table; ScenarioError naming the key on any mistake."""
    if not isinstance(raw, dict):
        raise ScenarioError(path, where, "must be a table: [contract.price] with keys like per_handled_minute")
    bad = set(raw) - PRICE_KEYS
    if bad:
        raise ScenarioError(path, f"{where}.{sorted(bad)[0]}", f"unknown key; known: {', '.join(sorted(PRICE_KEYS))}")
    currency = raw.get("currency", "USD")
    if not isinstance(currency, str) or not currency.strip():
        raise ScenarioError(path, f"{where}.currency", "give a currency code, e.g. \"USD\"")
    values: dict[str, float] = {}
    for key in (*AMOUNT_KEYS, "occupancy"):
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(path, f"{where}.{key}", f"must be a number, got {value!r}")
        if value < 0:
            raise ScenarioError(path, f"{where}.{key}", "must not be negative")
        values[key] = float(value)
    if values.get("commission", 0.0) > 1:
        raise ScenarioError(path, f"{where}.commission", "is a share of order value: give 0-1 (0.08 = 8 %)")
    if "occupancy" in values and not 0 < values["occupancy"] <= 1:
        raise ScenarioError(path, f"{where}.occupancy", "is handle time / agent time: give a share in (0, 1]")
    if values.get("per_productive_hour") and values.get("loaded_cost_per_agent_hour"):
        raise ScenarioError(path, f"{where}.loaded_cost_per_agent_hour",
                            "give per_productive_hour (a vendor) or loaded_cost_per_agent_hour (in-house), not both")
    if not any(values.get(k) for k in AMOUNT_KEYS):
        raise ScenarioError(path, where, f"a price needs at least one amount: {', '.join(AMOUNT_KEYS)}")
    return Price(currency=currency.strip().upper(), **values)


__all__ = ["AMOUNT_KEYS", "DAYS_PER_MONTH", "Price", "Volume", "parse_price"]
