"""The shape of a contract file (``closeloop schema contracts``), checked before the terms are read.

Types, allowed values and key names live here, in the one configuration mechanism
(:mod:`closeloop.config`); what needs the domain (a metric exists, a rate's target is 0-1,
a cost term needs a price, names are unique) stays in :mod:`closeloop.contracts.terms`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _number(value: object) -> object:
    """Refuse true/false where a number is asked for (pydantic would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Number = Annotated[float, BeforeValidator(_number)]
Amount = Annotated[float, BeforeValidator(_number), Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceTable(_Strict):
    """``[contract.price]``: how the party is paid (docs/sla.md, "Prices")."""

    currency: str = Field("USD", min_length=1, description="Currency code, e.g. USD")
    per_handled_minute: Amount | None = Field(None, description="Per minute of handle time (talk + hold + wrap)")
    per_productive_hour: Amount | None = Field(None, description="Per productive agent hour (a vendor's rate)")
    loaded_cost_per_agent_hour: Amount | None = Field(None, description="In-house: loaded cost per agent hour")
    per_call: Amount | None = Field(None, description="Per handled call")
    per_sale: Amount | None = Field(None, description="Flat amount per sale")
    commission: Amount | None = Field(None, le=1, description="Share of order value per sale (0.08 = 8%)")
    monthly_fixed: Amount | None = Field(None, description="Fixed fee per month")
    occupancy: Number | None = Field(None, gt=0, le=1, description="Handle time / paid agent time, for hourly prices")


class TermTable(_Strict):
    """``[[contract.term]]``: one promise, judged per period."""

    metric: str = Field(description="A metric name (docs/metrics.md)")
    target: Number
    direction: Literal["at_least", "at_most"]
    period: Literal["week", "month"] | None = None
    min_volume: Amount = Field(0, description="Fewer calls in the denominator: not enough data")
    weight: Amount = 1.0
    penalty: Amount = Field(0, description="Money owed per failed period")
    penalty_per_point: Amount = Field(0, description="And per point short of the target")
    bonus: Amount = Field(0, description="Money earned per period the term is met")


class ContractTable(_Strict):
    """``[[contract]]``: a vendor's (or center's, queue's) terms and price."""

    name: str = Field(min_length=1)
    scope: dict[str, str | list[str]] = Field(
        min_length=1,
        description='the calls it covers, e.g. scope = { vendor = "acme" } (dimension = value or [values])')
    where: list[str] = Field([], description="Extra filters, like --where: [\"call_type=sales\"]")
    period: Literal["week", "month"] = "month"
    judge: Literal["point", "ci"] = "point"
    start: date | None = Field(None, description="The contract's first day (its first 90 days are ramp-up)")
    term: list[TermTable] = []
    price: PriceTable | None = None


class ContractsFile(_Strict):
    """contracts.toml: one or more ``[[contract]]`` tables."""

    contract: list[ContractTable] = Field(min_length=1, description="no [[contract]] tables found: add one per vendor")


__all__ = ["ContractTable", "ContractsFile", "PriceTable", "TermTable"]
