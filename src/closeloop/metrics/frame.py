"""The enriched call frame every metric is defined on, as one portable Ibis expression.

Calls are joined to their center (vendor, country, timezone), lead (source, product and the
fields data capture checks) and agent (team), and given derived columns: local time in the
center's timezone (for grains and hour of day), waiting, talk and handle seconds, and the
flags metrics count (handled, abandoned, short abandon, sale...). Nothing here reads a file:
the caller passes Ibis tables, so the same definitions run on DuckDB, PostgreSQL or any
backend with a ``timezone(zone, timestamptz)`` function (DuckDB and PostgreSQL both have it).

Timing conventions (docs/metrics.md): ``ended_at`` includes hold, so
``talk_s = ended_at - answered_at - hold_s`` and ``handle_s = talk_s + hold_s + wrap_s``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt
from ibis import _

from closeloop.errors import InputError
from closeloop.settings import MetricSettings

#: Window-derived columns a metric may need; computed only when asked for (they sort).
FIRST_SALES = "first_sales"
REPEAT = "repeat"

#: Dimensions every warehouse has (extra call columns are dimensions too).
BASE_DIMENSIONS = (
    "center_id", "vendor", "country", "queue", "call_type", "direction", "agent_id", "team", "source", "product",
    "outcome", "hour", "weekday",
)
GRAINS = {"day": "D", "week": "W", "month": "M"}


@ibis.udf.scalar.builtin(name="timezone", signature=((dt.string, dt.Timestamp(timezone="UTC")), dt.timestamp))
def _local_time(zone: str, ts: Any) -> Any:
    """SQL ``timezone(zone, timestamptz)`` -> wall-clock time in ``zone`` (DuckDB, PostgreSQL)."""


@dataclass(frozen=True)
class Conventions:
    """The counting conventions metrics state (see docs/metrics.md), with their defaults.

    Built from the workspace's :class:`~closeloop.settings.MetricSettings`; ``capture_fields``
    are the lead fields a sale must have for data capture; ``conf`` is the CI level;
    ``default_timezone`` gives local time to calls whose center is unknown.
    """

    service_level_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    service_level_abandons: str = "exclude_short"
    repeat_contact_days: int = 7
    capture_fields: tuple[str, ...] = ("name", "phone", "email")
    conf: float = 0.95
    default_timezone: str = "UTC"

    @classmethod
    def from_settings(cls, ms: MetricSettings, **overrides: Any) -> Conventions:
        """Conventions from workspace settings, with keyword overrides."""
        base = {k: getattr(ms, k) for k in MetricSettings.__dataclass_fields__}
        return cls(**{**base, **overrides})

    def __post_init__(self) -> None:
        if self.service_level_abandons not in {"exclude_short", "include_all", "exclude_all"}:
            raise InputError(
                f"service_level_abandons {self.service_level_abandons!r} is not one of exclude_short, "
                "include_all, exclude_all"
            )


@dataclass(frozen=True)
class Tables:
    """The canonical Ibis tables metrics read (``extra`` for future joins)."""

    calls: Any
    centers: Any
    agents: Any
    leads: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_backend(cls, con: Any) -> Tables:
        """The canonical tables of an Ibis backend (e.g. ``Warehouse.ibis()``)."""
        return cls(*(con.table(n) for n in ("calls", "centers", "agents", "leads")))


def _epoch(ts: Any) -> Any:
    return ts.epoch_seconds().cast("float64")


def enrich(tables: Tables, conv: Conventions, needs: Iterable[str] = ()) -> Any:
    """Calls joined to centers, leads and agents, with the derived columns metrics use."""
    needs = set(needs)
    calls = tables.calls
    extra_call_cols = [c for c in calls.columns if c not in _CALL_KEEP]
    centers = tables.centers.select(
        _c_center=_.center_id, vendor=_.vendor, country=_.country, timezone=_.timezone
    )
    missing = [f for f in conv.capture_fields if f not in tables.leads.columns]
    if missing:
        raise InputError(
            f"data-capture field(s) {missing} are not lead columns; lead columns: {', '.join(tables.leads.columns)}"
        )
    leads = tables.leads.select(
        _l_lead=_.lead_id, source=_.source, product=_.product,
        captured=ibis.and_(*(_[f].notnull() & (_[f].cast("string").strip() != "") for f in conv.capture_fields))
        if conv.capture_fields else ibis.literal(True),
    )
    agents = tables.agents.select(_a_agent=_.agent_id, _a_team=_.team)
    t = calls.select(*_CALL_KEEP, *extra_call_cols)
    t = t.left_join(centers, t.center_id == centers._c_center).drop("_c_center")
    t = t.left_join(leads, t.lead_id == leads._l_lead).drop("_l_lead")
    t = t.left_join(agents, t.agent_id == agents._a_agent).drop("_a_agent")
    t = t.mutate(
        local_at=_local_time(_.timezone.fill_null(conv.default_timezone), _.offered_at),
        answered=_.answered_at.notnull(),
        is_inbound=_.direction == "inbound",
        is_sales=_.call_type == "sales",
        is_care=_.call_type == "care",
        is_sale=_.outcome == "sale",
        team=_._a_team.fill_null(_.center_id),
        wait_s=_epoch(_.answered_at.fill_null(_.ended_at)) - _epoch(_.offered_at),
        conn_s=(_epoch(_.ended_at) - _epoch(_.answered_at)),
    ).drop("_a_team")
    t = t.mutate(
        hour=_.local_at.hour(),
        weekday=_.local_at.day_of_week.index(),
        talk_s=ibis.greatest(_.conn_s - _.hold_s.fill_null(0.0), 0.0),
        abandoned=_.is_inbound & ~_.answered,
        handled_sales=_.answered & _.is_sales,
        handled_care=_.answered & _.is_care,
    )
    t = t.mutate(
        handle_s=_.conn_s + _.wrap_s.fill_null(0.0),
        short_abandon=_.abandoned & (_.wait_s < conv.short_abandon_s),
    )
    if FIRST_SALES in needs:
        t = _with_first_sales(t)
    if REPEAT in needs:
        t = _with_repeat(t, conv.repeat_contact_days)
    return t


_CALL_KEEP = (
    "call_id", "center_id", "queue", "direction", "call_type", "offered_at", "answered_at", "ended_at", "agent_id",
    "lead_id", "hold_s", "wrap_s", "outcome", "order_value", "csat",
)


def _with_first_sales(t: Any) -> Any:
    """Flag each lead's first handled sales call (first-call close is judged on it)."""
    w = ibis.window(group_by=[t.lead_id, t.handled_sales], order_by=[t.answered_at, t.call_id])
    return t.mutate(first_sales=t.handled_sales & t.lead_id.notnull() & (ibis.row_number().over(w) == 0))


def _with_repeat(t: Any, days: int) -> Any:
    """Flag handled care calls followed by another contact from the same customer within ``days``.

    The customer is the call's ``customer_id`` column when the warehouse has one, else its lead.
    """
    key = t.customer_id.fill_null(t.lead_id) if "customer_id" in t.columns else t.lead_id
    t = t.mutate(_cust=key)
    w = ibis.window(group_by=t._cust, order_by=[t.offered_at, t.call_id])
    t = t.mutate(_next_at=t.offered_at.lead().over(w))
    gap = _epoch(t._next_at) - _epoch(t.ended_at)
    return t.mutate(
        repeat_base=t.handled_care & t._cust.notnull(),
        repeat=t.handled_care & t._cust.notnull() & t._next_at.notnull() & (gap <= days * 86400.0),
    ).drop("_next_at")


def dimensions(frame: Any) -> list[str]:
    """Every column one may group or filter by: the base dimensions and extra call columns."""
    extra = [c for c in frame.columns if c not in _INTERNAL and c not in BASE_DIMENSIONS]
    return [*BASE_DIMENSIONS, *extra]


_INTERNAL = {
    *_CALL_KEEP, "timezone", "local_at", "answered", "is_inbound", "is_sales", "is_care", "is_sale", "wait_s",
    "conn_s", "talk_s", "handle_s", "abandoned", "short_abandon", "handled_sales", "handled_care", "captured",
    "first_sales", "repeat", "repeat_base", "_cust",
} - set(BASE_DIMENSIONS)


def with_period(frame: Any, grain: str | None) -> Any:
    """Add a ``period`` column (local date truncated to day/week/month); weeks start Monday."""
    if grain is None:
        return frame
    if grain not in GRAINS:
        raise InputError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    return frame.mutate(period=frame.local_at.truncate(GRAINS[grain]).date())
