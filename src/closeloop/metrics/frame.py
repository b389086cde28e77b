"""The enriched call frame every metric is defined on, as one portable Ibis expression.

Calls are joined to their center (vendor, country, timezone), and — only when a metric,
dimension or filter needs them — to their lead (source, product, the fields data capture
checks) and agent (team). Derived columns: local time in the center's time zone (integer
seconds, see :mod:`closeloop.metrics.localtime`), hour and weekday, waiting, talk and
handle seconds, and the flags metrics count (handled, abandoned, short abandon, sale...).
Nothing here reads a file: the caller passes Ibis tables, and the only queries run are two
tiny ones (time range, time zones) to build the local-time expression.

Timing conventions (docs/metrics.md): ``ended_at`` includes hold, so
``talk_s = ended_at - answered_at - hold_s`` and ``handle_s = talk_s + hold_s + wrap_s``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import ibis.expr.datatypes as dt
from ibis import _

from closeloop.errors import InputError
from closeloop.metrics.localtime import civil_month, offset_expr
from closeloop.settings import MetricSettings

#: Columns that need the leads / agents join (``lead_no``: a number per lead, see :mod:`.facts`).
LEAD_COLUMNS = frozenset({"source", "product", "captured", "lead_no"})
AGENT_COLUMNS = frozenset({"team"})
#: Every column name: joins are made when any of ``needs`` asks for them (None: all).
ALL = None

BASE_DIMENSIONS = (
    "center_id", "vendor", "country", "queue", "call_type", "direction", "agent_id", "team", "source", "product",
    "outcome", "hour", "weekday",
)
GRAINS = ("day", "week", "month")


@ibis.udf.scalar.builtin(name="epoch", signature=((dt.Timestamp(timezone="UTC"),), dt.float64))  # type: ignore[untyped-decorator]  # ibis's udf decorators are untyped
def _duck_epoch(ts: Any) -> Any:
    """DuckDB's ``epoch(timestamptz)``: seconds since 1970 without a per-row calendar cast."""


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
    #: The stored per-call facts (:class:`closeloop.metrics.facts.Facts`) when current, else None.
    facts: Any = None

    @classmethod
    def from_backend(cls, con: Any, facts: bool = True) -> Tables:
        """The canonical tables of an Ibis backend (e.g. ``Warehouse.ibis()``).

        With ``facts`` (the default) the stored fact table is attached when it is current
        for the data (:func:`closeloop.metrics.facts.load_facts`); scorecards then read it
        instead of computing windows and joins.
        """
        stored = None
        if facts:
            from closeloop.metrics.facts import load_facts

            stored = load_facts(con)
        return cls(con.table("calls"), con.table("centers"), con.table("agents"), con.table("leads"), facts=stored)


def dimensions(tables: Tables) -> list[str]:
    """Every column one may group or filter by: the base dimensions and extra call columns."""
    return [*BASE_DIMENSIONS, *(c for c in tables.calls.columns if c not in _CALL_KEEP)]


def _epoch_fn(table: Any) -> Any:
    """Epoch seconds of a timestamp column: DuckDB's direct function, else Ibis's portable one."""
    try:
        duck = table._find_backend().name == "duckdb"
    except Exception:  # an unbound table: use the portable form
        duck = False
    return _duck_epoch if duck else (lambda ts: ts.epoch_seconds().cast("float64"))


def enrich(tables: Tables, conv: Conventions, needs: Iterable[str] | None = ALL) -> Any:
    """Calls joined to centers (and leads/agents as needed), with the derived columns metrics use.

    ``needs`` names the columns the caller will use beyond the call's own (e.g. ``source``,
    ``team``, ``captured``); ``None`` joins everything.
    """
    want = None if needs is None else set(needs)
    epoch = _epoch_fn(tables.calls)
    calls = tables.calls
    t = calls.select(*_CALL_KEEP, *(c for c in calls.columns if c not in _CALL_KEEP))
    centers = tables.centers.select(_c_center=_.center_id, vendor=_.vendor, country=_.country, timezone=_.timezone)
    t = t.left_join(centers, t.center_id == centers._c_center).drop("_c_center")
    if want is None or want & LEAD_COLUMNS:
        t = _join_leads(t, tables.leads, conv)
    if want is None or want & AGENT_COLUMNS:
        agents = tables.agents.select(_a_agent=_.agent_id, _a_team=_.team)
        t = t.left_join(agents, t.agent_id == agents._a_agent).drop("_a_agent")
        t = t.mutate(team=t._a_team.fill_null(t.center_id)).drop("_a_team")
    t = t.mutate(_epoch=epoch(t.offered_at))
    t = t.mutate(
        local_s=t._epoch.cast("int64") + _local_offset(tables, t, conv),
        answered=t.answered_at.notnull(),
        is_inbound=t.direction == "inbound",
        is_sales=t.call_type == "sales",
        is_care=t.call_type == "care",
        is_sale=t.outcome == "sale",
        wait_s=epoch(t.answered_at.fill_null(t.ended_at)) - t._epoch,
        conn_s=epoch(t.ended_at) - epoch(t.answered_at),
    )
    t = t.mutate(
        **local_parts(t.local_s),
        talk_s=ibis.greatest(t.conn_s - t.hold_s.fill_null(0.0), 0.0),
        abandoned=t.is_inbound & ~t.answered,
        handled_sales=t.answered & t.is_sales,
        handled_care=t.answered & t.is_care,
    )
    return t.mutate(
        handle_s=t.conn_s + t.wrap_s.fill_null(0.0),
        short_abandon=t.abandoned & (t.wait_s < conv.short_abandon_s),
        within_sl=t.wait_s <= conv.service_level_threshold_s,
        is_resolved=t.outcome == "resolved",
        csat_known=t.csat.notnull(),
        csat_top=t.csat >= 4,
    )


def local_parts(local_s: Any) -> dict[str, Any]:
    """Local day number, hour (0-23) and weekday (0 = Monday) of local epoch seconds."""
    day = local_s // 86400
    return {"local_day": day, "hour": (local_s % 86400) // 3600, "weekday": (day + 3) % 7}


def _join_leads(t: Any, leads_table: Any, conv: Conventions) -> Any:
    missing = [f for f in conv.capture_fields if f not in leads_table.columns]
    if missing:
        raise InputError(
            f"data-capture field(s) {missing} are not lead columns; lead columns: {', '.join(leads_table.columns)}"
        )
    present = [leads_table[f].notnull() & (leads_table[f].cast("string").strip() != "") for f in conv.capture_fields]
    leads = leads_table.select(
        _l_lead=leads_table.lead_id, source=leads_table.source, product=leads_table.product,
        captured=ibis.and_(*present) if present else ibis.literal(True), lead_no=ibis.row_number(),
    )
    return t.left_join(leads, t.lead_id == leads._l_lead).drop("_l_lead")


def _local_offset(tables: Tables, t: Any, conv: Conventions) -> Any:
    """The per-row UTC offset expression for the zones and time range in the warehouse."""
    span = tables.calls.aggregate(lo=_.offered_at.min(), hi=_.offered_at.max()).to_pyarrow().to_pylist()[0]
    zones = [z for z in tables.centers.timezone.to_pyarrow().to_pylist() if z]
    if span["lo"] is None:
        return ibis.literal(0, type="int64")
    start, end = int(span["lo"].timestamp()) - 86400, int(span["hi"].timestamp()) + 86400
    valid = [z for z in zones if _known_zone(z)]  # an unknown zone falls back to the default
    return offset_expr(t.timezone, t._epoch, valid, start, end, conv.default_timezone)


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_CALL_KEEP = (
    "call_id", "center_id", "queue", "direction", "call_type", "offered_at", "answered_at", "ended_at", "agent_id",
    "lead_id", "hold_s", "wrap_s", "outcome", "order_value", "csat",
)
#: The canonical call columns (a calls file's other columns are kept as extra dimensions).
CALL_COLUMNS = frozenset(_CALL_KEEP)


def with_period(frame: Any, grain: str | None) -> Any:
    """Add an integer ``period`` key: the first local day (day/week, Monday start) or month key.

    Turn keys into dates with :func:`closeloop.metrics.localtime.period_start`.
    """
    if grain is None:
        return frame
    if grain == "day":
        return frame.mutate(period=frame.local_day)
    if grain == "week":
        return frame.mutate(period=frame.local_day - frame.weekday)
    if grain == "month":
        return frame.mutate(period=civil_month(frame.local_day))
    raise InputError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
