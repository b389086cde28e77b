"""Cost metrics: what the calls of each group cost under their contracts' prices.

Why priced after aggregation rather than per call: every price component is linear in a
sum a scorecard already computes (handled calls, handle seconds, sales, order value), so a
group's cost is the price applied to its volume (:class:`~closeloop.contracts.pricing.Volume`).
Each call of the scorecard's selection is tagged with the first priced contract covering it
(``_contract``); the scorecard's own aggregation then runs once over its keys + contract —
and month when it has no grain, because a monthly fee is owed per month — and each row is
priced with its contract's price (one more aggregation for all contracts, not one per
contract). A group's cost is the sum over its rows. A contract's fee for a period is shared among its
groups in proportion to their handled calls; with no grain, a month the selection's dates
only partly cover is charged that share of the fee (a week's report carries a week's fee).

The cost metrics (docs/metrics.md): ``cost``, ``cost_per_call`` (per handled call),
``cost_per_sale`` (with an interval from the Wilson interval of the sales count: the cost is
taken as known, the number of sales it bought as the uncertain part), ``cost_per_lead``
(per lead worked: distinct leads with a sales call) and ``margin`` (order value of sales
minus cost). Calls under no priced contract are left out, and a note says how many.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from closeloop.errors import InputError
from closeloop.metrics.definitions import Metric, metric
from closeloop.metrics.frame import Conventions, with_period
from closeloop.metrics.localtime import period_start
from closeloop.metrics.selection import Filter, check_columns, filter_condition
from closeloop.stats import wilson_interval

if TYPE_CHECKING:  # contracts import metrics; prices are read here, never imported at load
    from closeloop.contracts.pricing import Price, Volume

COST_METRICS = ("cost", "cost_per_call", "cost_per_sale", "cost_per_lead", "margin")
#: The scorecard metrics whose parts a price applies to.
VOLUME_METRICS = ("handled", "sales", "aht_s", "revenue_per_call", "close_rate", "leads_per_sale")

Aggregate = Callable[[Any, Any, list[str], list[Metric], Conventions], dict[str, list[Any]]]


class Priced(Protocol):
    """A contract as cost needs it: its name, the calls it covers, and its price (read-only,
    so frozen dataclasses such as :class:`closeloop.contracts.Contract` qualify)."""

    @property
    def name(self) -> str: ...

    @property
    def filters(self) -> tuple[Filter, ...]: ...

    @property
    def price(self) -> Price | None: ...


def wants_cost(metrics: Sequence[Metric]) -> bool:
    """Whether any of ``metrics`` is a cost metric (needs contracts with prices)."""
    return any(m.level == "cost" for m in metrics)


def priced_only(contracts: Sequence[Priced]) -> list[Priced]:
    """The contracts that carry a price; InputError when none do (cost cannot be computed)."""
    priced = [c for c in contracts if c.price is not None]
    if not priced:
        raise InputError("cost metrics need prices: add a [contract.price] table to contracts.toml "
                         "(docs/sla.md, 'Prices') or pass --contracts")
    return priced


def cost_needs(contracts: Sequence[Priced]) -> set[str]:
    """The columns the contracts' filters use (so the frame has them)."""
    return {f.column for c in contracts for f in c.filters}


def add_cost_parts(
    data: dict[str, list[Any]], frame: Any, lean: Any, keys: list[str], grain: str | None, conv: Conventions,
    contracts: Sequence[Priced], valid: Sequence[str], aggregate: Aggregate,
    span: tuple[date | None, date | None] = (None, None), leads: bool = True,
) -> list[str]:
    """Add every cost metric's parts (``<name>__num``/``__den``) to a scorecard's ``data``.

    ``data`` holds one list per column and row of the scorecard (keyed by ``keys``);
    ``frame``/``lean`` are its per-call frames, already selected and given periods;
    ``aggregate`` is the scorecard's own aggregation; ``span`` the selection's first and last
    day: with no grain, a month the span only partly covers is charged that share of its fee.
    ``leads``: count the leads worked (``cost_per_lead``; a per-lead pass). Returns notes.
    """
    rows = len(data["_calls"])
    index = {tuple(data[k][i] for k in keys): i for i in range(rows)}
    acc = {name: np.zeros(rows) for name in ("cost", "handled", "sales", "trials", "leads", "revenue", "calls")}
    priced = priced_only(contracts)
    by_month = grain is None
    f, lf = (with_period(frame, "month"), with_period(lean, "month")) if by_month else (frame, lean)
    f, lf = _tag(f, priced, valid), _tag(lf, priced, valid)
    ext = [*keys, *(["period"] if by_month else []), "_contract"]
    names = [n for n in VOLUME_METRICS if leads or n != "leads_per_sale"]
    part = aggregate(f, lf, ext, [metric(n) for n in names], conv)
    tags = np.array([int(t) for t in part["_contract"]], dtype=int)
    for k, c in enumerate(priced):
        assert c.price is not None
        mine = np.flatnonzero(tags == k)
        sub = {name: [values[j] for j in mine] for name, values in part.items()}
        cost = contract_costs(sub, c.price, grain or "month", "period" if "period" in ext else None,
                              [month_share(p, span) for p in sub["period"]] if by_month else None)
        for j, group in enumerate(zip(*(sub[key] for key in keys), strict=True) if keys else [()] * len(cost)):
            i = index.get(tuple(group))
            if i is None:
                continue
            acc["cost"][i] += cost[j]
            acc["handled"][i] += sub["handled__n"][j] or 0
            acc["sales"][i] += sub["sales__n"][j] or 0
            acc["trials"][i] += sub["close_rate__den"][j] or 0
            acc["leads"][i] += (sub["leads_per_sale__num"][j] or 0) if leads else 0
            acc["revenue"][i] += sub["revenue_per_call__num"][j] or 0.0
            acc["calls"][i] += sub["_calls"][j] or 0
    _store(data, acc)
    return _notes(data, acc)


def _tag(frame: Any, contracts: Sequence[Priced], valid: Sequence[str]) -> Any:
    """``frame``'s calls under a priced contract, with ``_contract`` = the first one covering each.

    Why one tagged pass: pricing then costs one more aggregation, not one per contract.
    """
    import ibis

    check_columns(valid, [f.column for c in contracts for f in c.filters], "contract scope column")
    conds = [ibis.and_(*(filter_condition(frame, f) for f in c.filters)) for c in contracts]
    tag = ibis.cases(*((cond, k) for k, cond in enumerate(conds)), else_=ibis.null("int64"))
    tagged = frame.mutate(_contract=tag)
    return tagged.filter(tagged._contract.notnull())


def month_share(key: int, span: tuple[date | None, date | None]) -> float:
    """The share of month ``key`` (a month key, :func:`~closeloop.metrics.localtime.period_start`) in ``span``."""
    first = period_start(key, "month")
    last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
    lo, hi = max(first, span[0] or first), min(last, span[1] or last)
    return max((hi - lo).days + 1, 0) / last.day


def contract_costs(part: dict[str, list[Any]], price: Price, grain: str, period_key: str | None,
                   share: Sequence[float] | None = None) -> np.ndarray:
    """Cost of each aggregated row of one contract: its variable cost and its share of the fee.

    The fee of a period (``grain``) is shared among the period's rows by handled calls (by
    calls when none was handled, so a fee is never lost); ``share`` scales it per row (the
    part of a month a selection covers).
    """
    n = len(part["_calls"])
    volumes = [volume_of(part, j) for j in range(n)]
    cost = np.array([price.variable_cost(v) for v in volumes], dtype=float)
    if not price.monthly_fixed or n == 0:
        return cost
    periods = np.array([str(p) for p in part[period_key]]) if period_key else np.zeros(n, str)
    weight = np.array([v.handled for v in volumes], dtype=float)
    calls = np.array([x or 0 for x in part["_calls"]], dtype=float)
    scale = np.asarray(share, dtype=float) if share is not None else np.ones(n)
    for p in dict.fromkeys(periods):
        sel = periods == p
        w = weight[sel] if weight[sel].sum() > 0 else calls[sel]
        cost[sel] += price.fixed_cost(grain) * scale[sel] * w / w.sum()
    return cost


def volume_of(part: dict[str, list[Any]], j: int) -> Volume:
    """The priced volume of row ``j`` of an aggregation of :data:`VOLUME_METRICS`."""
    from closeloop.contracts.pricing import Volume

    return Volume(
        handled=float(part["handled__n"][j] or 0), handle_s=float(part["aht_s__num"][j] or 0.0),
        sales=float(part["sales__n"][j] or 0), order_value=float(part["revenue_per_call__num"][j] or 0.0),
    )


def _store(data: dict[str, list[Any]], acc: dict[str, np.ndarray]) -> None:
    cost, handled = acc["cost"].tolist(), acc["handled"].tolist()
    data["cost__num"], data["cost__den"] = cost, handled
    data["cost_per_call__num"], data["cost_per_call__den"] = cost, handled
    data["cost_per_sale__num"], data["cost_per_sale__den"] = cost, acc["sales"].tolist()
    data["cost_per_sale__trials"] = acc["trials"].tolist()
    data["cost_per_lead__num"], data["cost_per_lead__den"] = cost, acc["leads"].tolist()
    data["margin__num"], data["margin__den"] = (acc["revenue"] - acc["cost"]).tolist(), handled


def _notes(data: dict[str, list[Any]], acc: dict[str, np.ndarray]) -> list[str]:
    total, priced = float(sum(data["_calls"])), float(acc["calls"].sum())
    if priced < total:
        return [f"{int(total - priced):,} of {int(total):,} calls fall under no priced contract: left out of cost"]
    return []


def cost_intervals(rows: list[dict[str, Any]], data: dict[str, list[Any]], conf: float) -> None:
    """``cost_per_sale_ci``: the cost over the Wilson interval of the sales it bought.

    Sales ~ Binomial(handled sales calls, close rate): the interval for the number of sales is
    ``trials × [low, high]`` of the close rate, so cost per sale lies in
    ``[cost / (trials × high), cost / (trials × low)]`` (open-ended when low is 0).
    """
    sales = np.asarray(data["cost_per_sale__den"], dtype=float)
    trials = np.asarray(data["cost_per_sale__trials"], dtype=float)
    cost = np.asarray(data["cost_per_sale__num"], dtype=float)
    low, high = wilson_interval(np.minimum(sales, trials), trials, conf)
    for i, r in enumerate(rows):
        if "cost_per_sale" not in r:
            continue
        if r["cost_per_sale"] is None or trials[i] <= 0:
            r["cost_per_sale_ci"] = [None, None]
            continue
        hi_sales, lo_sales = trials[i] * high[i], trials[i] * low[i]
        r["cost_per_sale_ci"] = [float(cost[i] / hi_sales), float(cost[i] / lo_sales) if lo_sales > 0 else None]


__all__ = ["COST_METRICS", "Priced", "add_cost_parts", "contract_costs", "cost_intervals", "cost_needs",
           "priced_only", "volume_of", "wants_cost"]
