"""The leads part of the report, computed from leads and calls alone (pure).

* **Funnel by source and tier** — leads, callable (not waiting for enrichment), called,
  reached (a call answered), sold; rates with Wilson 95% intervals.
* **Speed-to-lead** — time from the lead's creation to its first call: median, 90th
  percentile, share within 5 minutes and within 1 hour.
* **Conversion by attempt number** — of the leads that got a k-th call, how many bought on it.
* **Follow-up compliance** — the cadence rules are replayed over the call history: each call
  that should have led to a follow-up had one due; it was *on time* if the next call came by
  due + grace, *late* if after, *missed* if none came and the deadline has passed.

Calls are attached to merged leads through their lineage (``lead_ids``), so a call made on a
duplicate record counts for the person.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from closeloop.leads.followup import Action, CadenceRules, lead_timezone, plan_followup
from closeloop.stats import wilson_interval


@dataclass(frozen=True)
class LeadsReport:
    """Every table of the leads section."""

    funnel_source: list[dict[str, Any]]
    funnel_tier: list[dict[str, Any]]
    speed: dict[str, Any]
    by_attempt: list[dict[str, Any]]
    compliance: dict[str, Any]
    headline: list[str] = field(default_factory=list)


def _rate(x: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(x, n) if n else (None, None)
    return {"rate": x / n if n else None, "ci": [low, high] if n else [None, None]}


def _calls_by_lead(merged: pa.Table, calls: pa.Table | None) -> dict[int, list[tuple[datetime, bool, str]]]:
    owner: dict[str, int] = {}
    lineage = merged.column("lead_ids").to_pylist() if "lead_ids" in merged.column_names \
        else merged.column("lead_id").to_pylist()
    for i, ids in enumerate(lineage):
        for lead_id in str(ids).split(","):
            owner[lead_id] = i
    out: dict[int, list[tuple[datetime, bool, str]]] = defaultdict(list)
    if calls is None:
        return out
    for lead_id, at, answered, outcome in zip(
            calls.column("lead_id").to_pylist(), calls.column("offered_at").to_pylist(),
            calls.column("answered_at").to_pylist(), calls.column("outcome").to_pylist(), strict=True):
        if lead_id in owner:
            out[owner[lead_id]].append((at, answered is not None, outcome))
    for rows in out.values():
        rows.sort(key=lambda r: r[0])
    return out


def _funnel(groups: list[Any], ready: list[bool], by_lead: dict[int, list[tuple[datetime, bool, str]]],
            label: str) -> list[dict[str, Any]]:
    tally: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for i, g in enumerate(groups):
        t = tally[g if g is not None else "(none)"]
        calls = by_lead.get(i, [])
        t[0] += 1
        t[1] += ready[i]
        t[2] += bool(calls)
        t[3] += any(c[1] for c in calls)
        t[4] += any(c[2] == "sale" for c in calls)
    rows = []
    for g, (n, callable_, called, reached, sold) in sorted(tally.items(), key=lambda kv: str(kv[0])):
        conv = _rate(sold, called)
        rows.append({label: g, "leads": n, "callable": callable_, "called": called, "reached": reached,
                     "sold": sold, "conversion": conv["rate"], "conversion_ci": conv["ci"]})
    return rows


def speed_to_lead(created: list[datetime], by_lead: dict[int, list[tuple[datetime, bool, str]]]) -> dict[str, Any]:
    """Minutes from creation to first call, over leads that were called."""
    waits = np.array([(by_lead[i][0][0] - created[i]).total_seconds() / 60 for i in by_lead if by_lead[i]])
    waits = waits[waits >= 0]
    if not len(waits):
        return {"called": 0}
    within5, within60 = int((waits <= 5).sum()), int((waits <= 60).sum())
    return {"called": len(waits), "median_min": float(np.median(waits)), "p90_min": float(np.quantile(waits, 0.9)),
            "within_5_min": within5 / len(waits), "within_5_min_ci": list(wilson_interval(within5, len(waits))),
            "within_1_h": within60 / len(waits), "within_1_h_ci": list(wilson_interval(within60, len(waits)))}


def conversion_by_attempt(by_lead: dict[int, list[tuple[datetime, bool, str]]], max_k: int = 6) -> list[dict[str, Any]]:
    """Sales on the k-th call among leads that got a k-th call (k > max_k pooled)."""
    reached: dict[int, int] = defaultdict(int)
    sold: dict[int, int] = defaultdict(int)
    for calls in by_lead.values():
        for k, (_, _, outcome) in enumerate(calls, start=1):
            key = min(k, max_k)
            reached[key] += 1
            sold[key] += outcome == "sale"
    rows = []
    for k in sorted(reached):
        r = _rate(sold[k], reached[k])
        rows.append({"attempt": f"{k}+" if k == max_k else str(k), "leads": reached[k], "sales": sold[k],
                     "conversion": r["rate"], "conversion_ci": r["ci"]})
    return rows


def followup_compliance(by_lead: dict[int, list[tuple[datetime, bool, str]]], zones: list[str], as_of: datetime,
                        rules: CadenceRules, grace: timedelta = timedelta(hours=4)) -> dict[str, Any]:
    """Replay the cadence over the history: follow-ups due, made on time, late, missed."""
    on_time = late = missed = 0
    for i, calls in by_lead.items():
        for k, (at, _answered, outcome) in enumerate(calls, start=1):
            # Call records carry no "interested" flag: a no_sale is taken as final here.
            decision = plan_followup(outcome, k, at, zones[i], rules)
            if decision.action is not Action.SCHEDULE or decision.due_at is None:
                continue
            deadline = decision.due_at + grace
            if k < len(calls):
                if calls[k][0] <= deadline:
                    on_time += 1
                else:
                    late += 1
            elif deadline < as_of:
                missed += 1
    due = on_time + late + missed
    rate = _rate(on_time, due)
    return {"due": due, "on_time": on_time, "late": late, "missed": missed, "compliance": rate["rate"],
            "compliance_ci": rate["ci"]}


def leads_report(merged: pa.Table, scores: pa.Table | None, calls: pa.Table | None, as_of: datetime,
                 rules: CadenceRules | None = None, default_timezone: str = "UTC") -> LeadsReport:
    """All tables of the leads section for merged leads, their scores and the call history."""
    rules = rules or CadenceRules()
    by_lead = _calls_by_lead(merged, calls)
    tier_of: dict[str, str] = {}
    if scores is not None:
        tier_of = dict(zip(scores.column("lead_id").to_pylist(), scores.column("tier").to_pylist(), strict=True))
    ids = merged.column("lead_id").to_pylist()
    ready = [s != "enrichment" for s in merged.column("status").to_pylist()] if "status" in merged.column_names \
        else [True] * len(ids)
    created = merged.column("created_at").to_pylist()
    phones = merged.column("phone").to_pylist() if "phone" in merged.column_names else [None] * len(ids)
    countries = merged.column("country").to_pylist() if "country" in merged.column_names else [None] * len(ids)
    zones = [lead_timezone(p, c, default_timezone) for p, c in zip(phones, countries, strict=True)]
    report = LeadsReport(
        funnel_source=_funnel(merged.column("source").to_pylist(), ready, by_lead, "source"),
        funnel_tier=_funnel([tier_of.get(x, "unscored") for x in ids], ready, by_lead, "tier"),
        speed=speed_to_lead(created, by_lead),
        by_attempt=conversion_by_attempt(by_lead),
        compliance=followup_compliance(by_lead, zones, as_of, rules),
    )
    return LeadsReport(**{**report.__dict__, "headline": _headline(report)})


def _headline(r: LeadsReport) -> list[str]:
    lines = []
    if r.speed.get("called"):
        lines.append(f"speed-to-lead: median {r.speed['median_min']:.0f} min, "
                     f"{100 * r.speed['within_1_h']:.0f}% called within 1 h")
    if r.compliance["due"]:
        lines.append(f"follow-ups: {100 * r.compliance['compliance']:.0f}% of {r.compliance['due']} made on time, "
                     f"{r.compliance['missed']} missed")
    tiers = {row["tier"]: row for row in r.funnel_tier}
    if "A" in tiers and "D" in tiers and tiers["A"]["conversion"] is not None and tiers["D"]["conversion"]:
        lines.append(f"tier A converts {100 * tiers['A']['conversion']:.1f}% vs tier D "
                     f"{100 * tiers['D']['conversion']:.1f}%")
    return lines
