"""Metrics counted per distinct lead: conversion per lead and leads touched per sale.

A lead counts once in each group it was called in, so these need one aggregation per
(group, lead) before the groups are summed — the one pass a scorecard cannot fold into its
main pass. Leads are told apart by the stored facts' integer ``lead_no`` (with
``lead_orphan`` for a lead the leads table lacks) when the frame has them, which hashes far
faster than the text ``lead_id`` the on-the-fly frame uses; the counts are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from closeloop.metrics.definitions import Metric
from closeloop.metrics.facts import decode


def lead_keys(frame: Any) -> list[str]:
    """The columns that identify a lead in ``frame`` (stored facts drop ``lead_orphan`` when no lead is missing)."""
    if "lead_no" not in frame.columns:
        return ["lead_id"]
    return ["lead_no", "lead_orphan"] if "lead_orphan" in frame.columns else ["lead_no"]


def lead_table(frame: Any, keys: Sequence[str]) -> Any:
    """Per group: leads with a sale, leads with a handled sales call, leads touched, sales.

    Per (group, lead) the calls' ``_bits`` are OR-ed together: a lead sold in the group if
    any of its calls there has the sale bit, was handled if any has the answered bit (the
    calls are sales calls) — one integer aggregate instead of two boolean ones.
    """
    t = frame.filter(frame.has_lead & frame.is_sales)
    leads = decode(t.group_by([*keys, *lead_keys(t)]).aggregate(_bits=t._bits.bit_or(),
                                                                sales=t.count(where=t.is_sale)))
    g = leads.group_by(list(keys)) if keys else leads
    return g.aggregate(
        conversion_per_lead__num=leads.count(where=leads.is_sale),
        conversion_per_lead__den=leads.count(where=leads.answered),
        leads_per_sale__num=leads.count(), leads_per_sale__den=leads.sales.sum(),
    )


def extra_tables(frame: Any, keys: Sequence[str], metrics: Sequence[Metric]) -> list[Any]:
    """The per-lead table, when a selected metric needs it."""
    return [lead_table(frame, keys)] if any(m.level == "lead" for m in metrics) else []
