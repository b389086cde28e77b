"""Metrics that need more than one pass over calls: per-lead counts, first calls, repeats.

Each returns a small Ibis table with the scorecard's group keys and ``<metric>__num`` /
``<metric>__den`` columns, computed with hash aggregation (per lead) or one narrow window
(repeats) rather than distinct counts or windows over the wide call frame — this is what
keeps a 10-million-call scorecard within seconds. Leads and repeats are counted within
the selection (a repeat after the selected period is not seen).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis

from closeloop.metrics.definitions import Metric
from closeloop.metrics.frame import Conventions


def lead_table(frame: Any, keys: Sequence[str]) -> Any:
    """Per group: leads with a sale, leads with a handled sales call, leads touched, sales."""
    t = frame.filter(frame.lead_id.notnull() & frame.is_sales)
    leads = t.group_by([*keys, "lead_id"]).aggregate(
        sold=t.is_sale.any(), handled=t.handled_sales.any(), sales=t.count(where=t.is_sale),
    )
    g = leads.group_by(list(keys)) if keys else leads
    return g.aggregate(
        conversion_per_lead__num=leads.count(where=leads.sold),
        conversion_per_lead__den=leads.count(where=leads.handled),
        leads_per_sale__num=leads.count(), leads_per_sale__den=leads.sales.sum(),
    )


def first_table(frame: Any, keys: Sequence[str]) -> Any:
    """Per group of each lead's first handled sales call: leads, and those it sold to."""
    t = frame.filter(frame.handled_sales & frame.lead_id.notnull())
    first = t.group_by("lead_id").aggregate(
        **{k: t[k].argmin(t.answered_at) for k in keys}, _sold=t.is_sale.cast("int64").argmin(t.answered_at)
    )
    g = first.group_by(list(keys)) if keys else first
    return g.aggregate(first_call_close__num=first._sold.sum(), first_call_close__den=first.count())


def repeat_table(frame: Any, keys: Sequence[str], conv: Conventions) -> Any:
    """Per group: handled care calls with a customer, and those followed by a contact within N days.

    The customer is the call's ``customer_id`` column when the warehouse has one, else its lead.
    """
    cust = frame.customer_id.fill_null(frame.lead_id) if "customer_id" in frame.columns else frame.lead_id
    narrow = frame.select(*keys, _cust=cust, _at=frame._epoch, _end=frame._epoch + frame.wait_s + frame.conn_s,
                          _care=frame.handled_care)
    narrow = narrow.filter(narrow._cust.notnull())
    w = ibis.window(group_by=narrow._cust, order_by=narrow._at)
    narrow = narrow.mutate(_next=narrow._at.lead().over(w))
    gap = narrow._next - narrow._end
    rep = narrow._care & narrow._next.notnull() & (gap <= conv.repeat_contact_days * 86400)
    g = narrow.group_by(list(keys)) if keys else narrow
    return g.aggregate(repeat_rate__num=narrow.count(where=rep), repeat_rate__den=narrow.count(where=narrow._care))


def extra_tables(frame: Any, keys: Sequence[str], metrics: Sequence[Metric], conv: Conventions) -> list[Any]:
    """The per-lead/first/repeat tables the selected metrics need (each at most once).

    Lead and first-call tables are separate queries: deriving both from one per-lead
    aggregation (materialised once by the engine) measured no faster at 10M calls and
    held more memory.
    """
    levels = {m.level for m in metrics}
    out = []
    if "lead" in levels:
        out.append(lead_table(frame, keys))
    if "first" in levels:
        out.append(first_table(frame, keys))
    if "repeat" in levels:
        out.append(repeat_table(frame, keys, conv))
    return out
