"""Per-call facts a scorecard needs, defined once, read from a stored table when it is fresh.

Why: three scorecard metrics need more than the call itself — first-call close (is this the
lead's first handled sales call?), the repeat-contact rate (does the same customer call again
within N days?) and data capture (does the lead have every capture field?) — and local time
needs the center's zone. Computed at every query these are windows and joins over all calls
(about two thirds of a 10-million-call scorecard). Here they are one expression,
:func:`fact_expr`: one row per call with the grouping keys, local time, the amounts metrics
add up, and every yes/no fact (the windowed ones included) packed into one integer
``_bits``. It is either evaluated inside the query (*on the fly*) or read from the table
``call_facts`` that :func:`closeloop.warehouse.facts.build_facts` stored from the very same expression — so both give
the same numbers, and the stored one turns the windows into plain columns.

The table is derived data: ``call_facts_meta`` records the latest ingest of calls, leads and
centers (and their row counts) it was built from, and the conventions it depends on
(:func:`signature`). :func:`load_facts` only hands it out while all of those still match;
otherwise scorecards compute on the fly until the next build (which
``closeloop scorecard``, ``sla check`` and ``report`` run first when they can open the
warehouse for writing).

Facts about a call's neighbours are taken over **all** calls, not only the selected ones: a
lead's first call is its first ever, and a repeat after ``--to`` is seen (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ibis

from closeloop.metrics.frame import CALL_COLUMNS, Conventions, Tables, enrich, local_parts

FACTS_TABLE = "call_facts"
META_TABLE = "call_facts_meta"
#: Bumped when the table's columns or meaning change: an older table is then rebuilt.
FACTS_VERSION = 1
#: The yes/no facts of a call, bit k of ``_bits`` each (one small integer instead of fifteen
#: columns: cheaper to store, and a scorecard groups by one key instead of fifteen). Facts
#: that only matter for some calls are only set on those, so calls differ in fewer ways
#: (fewer cells, :func:`cells`): ``within_sl`` on answered inbound calls, ``captured`` on
#: sales, ``short_abandon`` on abandons, ``is_repeat`` on handled care calls with a customer.
BITS = (
    "answered", "is_inbound", "is_sales", "is_care", "is_sale", "is_resolved", "csat_known", "csat_top",
    "captured", "first_call", "has_customer", "has_lead", "short_abandon", "within_sl", "is_repeat",
)
#: Call columns kept as they are (grouping and filter keys).
KEYS = ("center_id", "agent_id", "queue", "direction", "call_type", "outcome")
#: Amounts metrics add up.
AMOUNTS = ("wait_s", "talk_s", "handle_s", "order_value", "csat")
#: Every column of the stored table.
COLUMNS = (*KEYS, "source", "product", "lead_no", "lead_orphan", "local_s", "_bits", *AMOUNTS)
#: Facts that cost a window or join to compute; :func:`fact_expr` adds them only when wanted.
WINDOWED = frozenset({"first_call", "is_repeat"})
LEADS = frozenset({"source", "product", "captured", "lead_no"})
#: Facts only some metrics use that cost a window or the leads join on the fly.
COSTLY = WINDOWED | {"captured"}


def signature(conv: Conventions) -> str:
    """The conventions stored facts depend on (local time, flags, capture fields, repeat window)."""
    return (f"tz={conv.default_timezone} short={conv.short_abandon_s} sl={conv.service_level_threshold_s} "
            f"repeat={conv.repeat_contact_days} capture={','.join(conv.capture_fields)}")


@dataclass(frozen=True)
class Facts:
    """A stored fact table and the conventions it was built with (see :func:`load_facts`)."""

    table: Any
    signature: str
    #: Whether any call's lead is missing from the leads table (``lead_orphan`` is then needed).
    orphans: bool = True

    def serves(self, conv: Conventions) -> bool:
        """Whether the stored facts hold for these conventions."""
        return signature(conv) == self.signature


def fact_expr(tables: Tables, conv: Conventions, want: Iterable[str] | None = None) -> Any:
    """One row per call: keys, local time, amounts and ``_bits`` (the flags, :data:`BITS`).

    ``want`` names the costly facts the caller uses (``first_call``, ``is_repeat``, the
    lead columns ``source``/``product``/``captured``/``lead_no``); ``None`` computes all of
    them (the stored table). Facts not wanted read as false. Extra call columns are
    kept for grouping; with the lead join, ``lead_no`` numbers known leads and
    ``lead_orphan`` keeps the id of a lead the leads table lacks, so (``lead_no``,
    ``lead_orphan``) tells leads apart as ``lead_id`` does, at a fraction of the cost.
    """
    wanted = None if want is None else set(want)

    def wants(name: str) -> bool:
        return wanted is None or name in wanted

    lead_join = wanted is None or bool(wanted & LEADS)
    t = enrich(tables, conv, set(LEADS) if lead_join else set())
    calls = tables.calls
    extras = [c for c in calls.columns if c not in CALL_COLUMNS] if wanted is not None else []
    if wants("first_call"):
        # a lead's first handled sales call: earliest answer, ties broken by call id
        hs = calls.filter(calls.answered_at.notnull() & (calls.call_type == "sales") & calls.lead_id.notnull())
        order = ibis.window(group_by=hs.lead_id, order_by=[hs.answered_at, hs.call_id])
        firsts = hs.select(_f_call=hs.call_id, _f_rank=ibis.row_number().over(order))
        firsts = firsts.filter(firsts._f_rank == 0).select("_f_call")
        t = t.left_join(firsts, t.call_id == firsts._f_call)
        first = t._f_call.notnull()
    else:
        first = ibis.literal(False)
    customer = t.customer_id.fill_null(t.lead_id) if "customer_id" in t.columns else t.lead_id
    repeat_base = t.handled_care & customer.notnull()
    if wants("is_repeat"):
        # the same customer's next contact (any call) starts within N days of this call's end
        nxt = t._epoch.lead().over(ibis.window(group_by=customer, order_by=[t._epoch, t.call_id]))
        gap = nxt - (t._epoch + t.wait_s + t.conn_s)
        repeat = repeat_base & (gap <= conv.repeat_contact_days * 86400)
    else:
        repeat = ibis.literal(False)
    flags = {
        **{name: t[name] for name in BITS if name in t.columns},
        "within_sl": t.within_sl & t.is_inbound & t.answered,
        "captured": t.captured & t.is_sale if "captured" in t.columns else ibis.literal(False),
        "first_call": first,
        "has_customer": customer.notnull(),
        "has_lead": t.lead_id.notnull(),
        "is_repeat": repeat,
    }
    bits = sum(
        (flags[name].fill_null(False).cast("int16") * (1 << k) for k, name in enumerate(BITS)),
        ibis.literal(0, type="int16"),
    )
    cols: dict[str, Any] = {k: t[k] for k in KEYS}
    if lead_join:
        cols |= {
            "source": t.source, "product": t.product, "lead_no": t.lead_no,
            "lead_orphan": ibis.ifelse(t.lead_no.isnull(), t.lead_id, ibis.null("string")),
        }
    if wanted is not None:
        cols["lead_id"] = t.lead_id
        cols |= {c: t[c] for c in extras}
    cols |= {"local_s": t.local_s, "_bits": bits.cast("int16"), **{a: t[a] for a in AMOUNTS}}
    return t.select(**cols)


def decode(t: Any) -> Any:
    """The flag columns metrics count, from ``_bits`` (per-call rows and cells alike)."""
    f = {name: (t._bits & (1 << k)) != 0 for k, name in enumerate(BITS)}
    handled_care = f["answered"] & f["is_care"]
    return t.mutate(
        **f,
        abandoned=f["is_inbound"] & ~f["answered"],
        handled_sales=f["answered"] & f["is_sales"],
        handled_care=handled_care,
        repeat_base=handled_care & f["has_customer"],
    )


#: Columns a scorecard frame derives from the facts (joins to small tables, local time, flags).
DERIVED = frozenset({"vendor", "country", "team", "local_day", "hour", "weekday", *BITS, *WINDOWED})


def scorecard_frame(tables: Tables, conv: Conventions, needs: Iterable[str]) -> Any:
    """Per-call rows with every flag, amount and dimension a scorecard uses.

    Reads the stored facts when they are current, hold for ``conv`` and have every column
    in ``needs`` (a calls file's extra columns are only in the calls table); otherwise the
    same facts are computed on the fly, with only the windows and joins ``needs`` asks for.
    """
    need = set(needs)
    stored = tables.facts
    if stored is not None and stored.serves(conv) and need <= set(COLUMNS) | DERIVED:
        t = stored.table if stored.orphans else stored.table.drop("lead_orphan")
    else:
        t = fact_expr(tables, conv, need & (WINDOWED | LEADS))
    if need & {"vendor", "country"}:
        centers = tables.centers.select(_c_center=tables.centers.center_id, vendor=tables.centers.vendor,
                                        country=tables.centers.country)
        t = t.left_join(centers, t.center_id == centers._c_center).drop("_c_center")
    if "team" in need:
        agents = tables.agents.select(_a_agent=tables.agents.agent_id, _a_team=tables.agents.team)
        t = t.left_join(agents, t.agent_id == agents._a_agent).drop("_a_agent")
        t = t.mutate(team=t._a_team.fill_null(t.center_id)).drop("_a_team")
    return decode(t.mutate(**local_parts(t.local_s)))


def cells(frame: Any, keys: list[str]) -> Any:
    """Calls grouped by the keys and their facts: ``_n`` calls per cell and the sum of each amount.

    Why: a call-level metric is a count or sum of calls under a condition made of flags, so
    it can be computed from these cells exactly as from the calls (``_n`` weighs each cell).
    The engine groups by the keys and ``_bits`` — a handful of aggregates per call instead of
    one per metric part (about thirty) — and the flags are decoded on the few cells (groups x
    the fact combinations that occur). Each cell has either all or none of its amounts known
    where it matters (``answered`` decides ``handle_s``, ``csat_known`` decides ``csat``), so
    a cell's sum is null exactly when its calls' values are.
    """
    agg = frame.group_by([*keys, "_bits"]).aggregate(
        _n=frame.count(), **{a: frame[a].cast("float64").sum() for a in AMOUNTS},
    )
    return decode(agg)


def load_facts(backend: Any) -> Facts | None:
    """The stored fact table if it is there and current, else None (compute on the fly)."""
    meta = stored_meta(backend)
    if meta is None or meta["version"] != FACTS_VERSION or meta["state"] != data_state(backend):
        return None
    return Facts(backend.table(FACTS_TABLE), meta["signature"], bool(meta["orphans"]))


def facts_current(backend: Any, conv: Conventions) -> bool:
    """Whether a stored fact table matches the data and these conventions."""
    facts = load_facts(backend)
    return facts is not None and facts.serves(conv)


def data_state(backend: Any) -> str:
    """What the facts derive from: the last ingest of calls, leads or centers, and their row counts."""
    ing = backend.table("ingests")
    last = ing.filter(ing.record.isin(["calls", "leads", "centers"])).ingest_id.max()
    counts = [backend.table(t).count() for t in ("calls", "leads", "centers")]
    return "ingest={} calls={} leads={} centers={}".format(
        *(v if v is None else int(v) for v in (last.execute(), *(c.execute() for c in counts))))


def stored_meta(backend: Any) -> dict[str, Any] | None:
    """The meta row of the stored facts, or None when there are none.

    An Ibis backend without these tables (a fresh warehouse, in-memory tables in tests) has none.
    """
    from ibis.common.exceptions import TableNotFound

    try:
        backend.table(FACTS_TABLE)
        meta = backend.table(META_TABLE)
    except (TableNotFound, AttributeError):
        return None
    rows = meta.to_pyarrow().to_pylist()
    return rows[0] if rows else None


def meta_row(backend: Any, conv: Conventions, orphans: bool) -> dict[str, Any]:
    """The meta row to store beside facts built now from ``backend`` under ``conv``."""
    return {"version": FACTS_VERSION, "state": data_state(backend), "signature": signature(conv),
            "orphans": orphans}


__all__ = [
    "BITS",
    "COLUMNS",
    "COSTLY",
    "FACTS_TABLE",
    "META_TABLE",
    "Facts",
    "cells",
    "data_state",
    "decode",
    "fact_expr",
    "facts_current",
    "load_facts",
    "meta_row",
    "scorecard_frame",
    "signature",
    "stored_meta",
]
