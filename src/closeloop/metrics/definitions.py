"""Every metric, defined once as Ibis aggregations over the enriched call frame.

A metric is one of four kinds:

* ``count``  — a number of calls (``offered``, ``handled``...): part ``n``.
* ``rate``   — a proportion with a Wilson CI: parts ``num`` and ``den`` (``close_rate``...).
  Rates defined by per-call flags (``flags``) can also be mix-adjusted and tested.
* ``mean``   — an average per call (``asa_s``, ``aht_s``, ``csat``): parts ``num`` (sum) and
  ``den`` (count).
* ``ratio``  — a ratio of totals with no CI (``contacts_per_sale``...): ``num`` / ``den``.
* ``amount`` — a sum of money (``cost``, ``margin``): part ``num``, with ``den`` the calls it covers.

Cost metrics (level ``cost``) price the calls under their contracts' ``[contract.price]``
after aggregation (:mod:`closeloop.metrics.cost`); a scorecard needs the contracts for them.

The formulas, with what counts in numerator and denominator and their sources, are in
docs/metrics.md; a test checks every metric here is documented there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from closeloop.metrics.frame import Conventions

Flags = Callable[[Any, Conventions], tuple[Any, Any]]


@dataclass(frozen=True)
class Metric:
    """One metric: its name (the JSON key), kind, what it means, and how it aggregates.

    ``level`` is ``call`` for metrics aggregated straight from calls (``parts``), or
    ``lead`` for those counted per distinct lead by :mod:`closeloop.metrics.leadlevel`.
    ``needs`` names the costly per-call facts it uses (a join or window when computed on
    the fly, a plain column of the stored facts: :mod:`closeloop.metrics.facts`).
    """

    name: str
    kind: str
    doc: str
    parts: Callable[[Any, Conventions], dict[str, Any]] | None
    flags: Flags | None = None
    needs: frozenset[str] = frozenset()
    level: str = "call"
    higher_is_better: bool | None = None
    unit: str = ""

    @property
    def is_rate(self) -> bool:
        """Rates carry a CI and take part in significance tests."""
        return self.kind == "rate"


def _n(t: Any, cond: Any) -> Any:
    """How many calls of ``t`` satisfy ``cond`` (NULL counts as false).

    ``t`` is a frame of calls, or of cells (:func:`closeloop.metrics.facts.cells`) where
    ``_n`` says how many calls each row stands for. On calls, a filtered ``COUNT(*)``
    rather than a sum of 0/1 casts: the same number, cheaper for SQL engines.
    """
    if "_n" in t.columns:
        return t._n.sum(where=cond).fill_null(0)
    return t.count(where=cond)


def _count(cond: Callable[[Any, Conventions], Any]) -> Callable[[Any, Conventions], dict[str, Any]]:
    return lambda t, c: {"n": _n(t, cond(t, c))}


def _rate_from_flags(flags: Flags) -> Callable[[Any, Conventions], dict[str, Any]]:
    def parts(t: Any, c: Conventions) -> dict[str, Any]:
        num, den = flags(t, c)
        return {"num": _n(t, num & den), "den": _n(t, den)}

    return parts


def _mean(value: Callable[[Any], Any], where: Callable[[Any], Any]) -> Callable[[Any, Conventions], dict[str, Any]]:
    def parts(t: Any, c: Conventions) -> dict[str, Any]:
        cond = where(t) & value(t).notnull()
        return {"num": value(t).sum(where=cond), "den": _n(t, cond)}

    return parts


def _sl_flags(t: Any, c: Conventions) -> tuple[Any, Any]:
    """Answered within T over offered, with abandons counted per the stated convention."""
    num = t.is_inbound & t.answered & t.within_sl  # within_sl: wait_s <= service_level_threshold_s
    if c.service_level_abandons == "include_all":
        den = t.is_inbound
    elif c.service_level_abandons == "exclude_all":
        den = t.is_inbound & t.answered
    else:
        den = t.is_inbound & ~t.short_abandon
    return num, den


def _rate(name: str, doc: str, flags: Flags, better: bool | None, needs: frozenset[str] = frozenset()) -> Metric:
    return Metric(name, "rate", doc, _rate_from_flags(flags), flags=flags, needs=needs, higher_is_better=better)


def _table(name: str, kind: str, doc: str, level: str, better: bool | None) -> Metric:
    return Metric(name, kind, doc, None, level=level, higher_is_better=better)


METRIC_LIST: tuple[Metric, ...] = (
    Metric("offered", "count", "Inbound calls that entered a queue.", _count(lambda t, c: t.is_inbound)),
    Metric("dialled", "count", "Outbound attempts.", _count(lambda t, c: ~t.is_inbound)),
    Metric("handled", "count", "Answered calls, either direction.", _count(lambda t, c: t.answered)),
    Metric("abandoned", "count", "Inbound calls never answered.", _count(lambda t, c: t.abandoned)),
    Metric(
        "short_abandons", "count", "Abandons within short_abandon_s seconds.", _count(lambda t, c: t.short_abandon)
    ),
    Metric("sales", "count", "Sales calls ending in a sale.", _count(lambda t, c: t.is_sale)),
    _rate(
        "abandon_rate", "Abandons after the short threshold / (offered - short abandons).",
        lambda t, c: (t.abandoned & ~t.short_abandon, t.is_inbound & ~t.short_abandon), False,
    ),
    _rate("service_level", "Inbound answered within T s / offered (abandons per convention).", _sl_flags, True),
    Metric(
        "asa_s", "mean", "Mean wait of answered inbound calls (s).",
        _mean(lambda t: t.wait_s, lambda t: t.is_inbound & t.answered), higher_is_better=False, unit="s",
    ),
    Metric(
        "aht_s", "mean", "Mean talk + hold + wrap of handled calls (s).",
        _mean(lambda t: t.handle_s, lambda t: t.answered), unit="s",
    ),
    _rate("close_rate", "Sales / handled sales calls.", lambda t, c: (t.is_sale, t.handled_sales), True),
    _rate("first_call_close", "Leads that bought on their first handled sales call / leads with one.",
          lambda t, c: (t.is_sale, t.first_call), True, frozenset({"first_call"})),
    _table("conversion_per_lead", "rate", "Distinct leads with a sale / distinct leads with a handled sales call.",
           "lead", True),
    Metric(
        "revenue_per_call", "ratio", "Order value of sales / handled sales calls.",
        lambda t, c: {
            "num": t.order_value.sum(where=t.is_sale).fill_null(0.0), "den": _n(t, t.handled_sales)
        },
        higher_is_better=True,
    ),
    Metric(
        "csat", "mean", "Mean CSAT (1-5) of surveyed calls.",
        _mean(lambda t: t.csat.cast("float64"), lambda t: t.answered), higher_is_better=True,
    ),
    _rate("csat_top2", "Surveyed calls scoring 4 or 5 / surveyed calls.",
          lambda t, c: (t.csat_top, t.csat_known), True),
    _rate("resolution_rate", "Care calls resolved / handled care calls.",
          lambda t, c: (t.is_resolved, t.handled_care), True),
    _rate("repeat_rate", "Handled care calls followed by a contact from the same customer within N days.",
          lambda t, c: (t.is_repeat, t.repeat_base), False, frozenset({"is_repeat"})),
    _rate("data_capture", "Sales whose lead has every capture field / sales.",
          lambda t, c: (t.captured.fill_null(False), t.is_sale), True, frozenset({"captured"})),
    Metric(
        "contacts_per_sale", "ratio", "Sales calls (attempts included) / sales.",
        lambda t, c: {"num": _n(t, t.is_sales), "den": _n(t, t.is_sale)},
        higher_is_better=False,
    ),
    _table("leads_per_sale", "ratio", "Distinct leads touched by a sales call / sales.", "lead", False),
    _table("cost", "amount", "What the calls cost under their contracts' prices (fees included).", "cost", False),
    _table("cost_per_call", "ratio", "Cost / handled calls.", "cost", False),
    _table("cost_per_sale", "ratio", "Cost / sales (interval from the sales count's Wilson interval).", "cost",
           False),
    _table("cost_per_lead", "ratio", "Cost / distinct leads worked by a sales call.", "cost", False),
    _table("margin", "amount", "Order value of sales - cost.", "cost", True),
    Metric(
        "talk_s_per_sale", "ratio", "Talk seconds on handled sales calls / sales.",
        lambda t, c: {
            "num": t.talk_s.sum(where=t.handled_sales).fill_null(0.0), "den": _n(t, t.is_sale)
        },
        unit="s",
    ),
)

METRICS: dict[str, Metric] = {m.name: m for m in METRIC_LIST}

#: Metrics that measure selling: where no call of a selection ended in a sale (a source with no
#: sale outcomes, or care calls only), they are not measurable rather than 0 %.
SALE_METRICS = ("close_rate", "first_call_close", "conversion_per_lead", "revenue_per_call")

#: What ``scorecard`` shows when no ``--metrics`` is given.
DEFAULT_METRICS = (
    "offered", "handled", "abandon_rate", "service_level", "asa_s", "aht_s", "sales", "close_rate",
    "first_call_close", "conversion_per_lead", "revenue_per_call", "csat", "csat_top2", "resolution_rate",
    "repeat_rate", "data_capture", "contacts_per_sale", "leads_per_sale", "talk_s_per_sale",
)


def metric(name: str) -> Metric:
    """The metric called ``name``; InputError listing the valid names otherwise."""
    from closeloop.errors import InputError

    try:
        return METRICS[name]
    except KeyError:
        raise InputError(f"unknown metric {name!r}; metrics: {', '.join(METRICS)}") from None


def aggregations(frame: Any, metrics: list[Metric], conv: Conventions) -> dict[str, Any]:
    """Every part of every call-level metric as named Ibis aggregations (``<metric>__<part>``)."""
    out: dict[str, Any] = {}
    for m in metrics:
        if m.parts is None:
            continue
        for part, expr in m.parts(frame, conv).items():
            out[f"{m.name}__{part}"] = expr
    return out


__all__ = ["DEFAULT_METRICS", "METRICS", "METRIC_LIST", "SALE_METRICS", "Metric", "aggregations", "metric"]
