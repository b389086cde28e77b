"""Explanations of a close-rate gap: mix vs performance, mode switching, volume vs conversion.

Each function runs one or two aggregation queries over the enriched frame and hands the
small result to :mod:`closeloop.stats`; every rate carries its Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np

from closeloop.errors import EmptySelectionError, InputError
from closeloop.metrics.definitions import metric
from closeloop.metrics.frame import Conventions, Tables, dimensions, enrich
from closeloop.metrics.scorecard import ADJUSTABLE, adjustment_cells
from closeloop.metrics.selection import Selection, apply_selection, check_columns, needed_columns, require_rows
from closeloop.stats import Gap, adjust_for_mix, adjust_pvalues, chi_square_test, diff_interval, two_proportion_test
from closeloop.stats import wilson_interval as wilson

ALL = Selection()


@dataclass(frozen=True)
class GapReport:
    """The decomposed gap and, per level of each covariate, both groups' shares and rates."""

    by: str
    metric: str
    covariates: tuple[str, ...]
    gap: Gap
    adjusted: dict[str, tuple[float, float, float]]
    levels: list[dict[str, Any]]


def gap_analysis(
    tables: Tables, conv: Conventions, by: str, a: str, b: str, adjust_for: tuple[str, ...],
    selection: Selection = ALL, metric_name: str = "close_rate",
) -> GapReport:
    """Why does group ``a`` of dimension ``by`` differ from ``b``: mix or performance?"""
    if metric_name not in ADJUSTABLE:
        raise InputError(f"metric {metric_name!r} cannot be decomposed; use one of {', '.join(ADJUSTABLE)}")
    if not adjust_for:
        raise InputError("name at least one dimension to adjust for (e.g. source,hour)")
    m = metric(metric_name)
    valid = dimensions(tables)
    check_columns(valid, [by, *adjust_for], "dimension")
    frame = apply_selection(enrich(tables, conv, needed_columns(selection, [by, *adjust_for], m.needs)), selection,
                            valid)
    cells = adjustment_cells(frame, [by, *adjust_for], m, conv)
    labels = np.array(["(missing)" if v is None else str(v) for v in cells[by]])
    keep = np.isin(labels, [a, b])
    for g in (a, b):
        if not np.any(labels == g):
            have = sorted(set(labels.tolist()))
            raise InputError(f"{by}={g!r} has no {metric_name} calls in the selection; groups: {', '.join(have)}")
    covs = {c: np.array(["(missing)" if v is None else str(v) for v in cells[c]])[keep] for c in adjust_for}
    adj = adjust_for_mix(labels[keep], covs, cells["num"][keep], cells["den"][keep], conf=conv.conf)
    adjusted = {
        g: (float(adj.adjusted[i]), float(adj.adjusted_low[i]), float(adj.adjusted_high[i]))
        for i, g in enumerate(adj.groups)
    }
    return GapReport(by, metric_name, adjust_for, adj.decompose(a, b), adjusted,
                     _levels(labels[keep], covs, cells["num"][keep], cells["den"][keep], a, b))


def _levels(
    labels: np.ndarray, covs: dict[str, np.ndarray], num: np.ndarray, den: np.ndarray, a: str, b: str
) -> list[dict[str, Any]]:
    """Per covariate level: each group's share of calls and its rate (the mix, in plain sight)."""
    out = []
    for cov, values in covs.items():
        tot = {g: den[labels == g].sum() for g in (a, b)}
        for level in sorted(set(values.tolist())):
            row: dict[str, Any] = {"covariate": cov, "level": level}
            for g, tag in ((a, "a"), (b, "b")):
                sel = (labels == g) & (values == level)
                x, n = num[sel].sum(), den[sel].sum()
                row[f"share_{tag}"] = float(n / tot[g]) if tot[g] else None
                row[f"n_{tag}"] = int(n)
                row[f"rate_{tag}"] = float(x / n) if n else None
            out.append(row)
    return out


def _ordered_sales(tables: Tables, conv: Conventions, selection: Selection, break_minutes: float) -> Any:
    """Handled calls in agent order with the previous call's type and the position in a sales run."""
    frame = apply_selection(enrich(tables, conv, needed_columns(selection)), selection, dimensions(tables))
    t = frame.filter(frame.answered & frame.agent_id.notnull())
    w = ibis.window(group_by=t.agent_id, order_by=[t.answered_at, t.call_id])
    t = t.mutate(_prev_type=t.call_type.lag().over(w), _prev_end=t.ended_at.lag().over(w))
    idle = (t.answered_at.epoch_seconds() - t._prev_end.epoch_seconds()).cast("float64")
    fresh = t._prev_type.isnull() | (idle > break_minutes * 60.0)
    t = t.mutate(previous=ibis.ifelse(fresh, "none", t._prev_type))
    # a run of consecutive sales calls starts at any call whose previous is not sales
    t = t.mutate(_starts=ibis.ifelse(t.previous != "sales", 1, 0))
    t = t.mutate(_run=t._starts.sum().over(ibis.window(group_by=t.agent_id, order_by=[t.answered_at, t.call_id],
                                                       rows=(None, 0))))
    t = t.mutate(position=ibis.row_number().over(ibis.window(group_by=[t.agent_id, t._run],
                                                             order_by=[t.answered_at, t.call_id])) + 1)
    return t.filter(t.is_sales)


def mode_switching(
    tables: Tables, conv: Conventions, selection: Selection = ALL, break_minutes: float = 60.0,
    max_position: int = 5,
) -> dict[str, list[dict[str, Any]]]:
    """Close rate of sales calls by the agent's previous call and by position in a sales run.

    ``previous`` is ``care``, ``sales`` or ``none`` (first call, or after a break longer than
    ``break_minutes``). Positions from ``max_position`` on are pooled as ``"5+"``. Each table
    carries a chi-square test; the previous-call table also compares care vs sales directly.
    """
    t = _ordered_sales(tables, conv, selection, break_minutes)
    pos = ibis.ifelse(t.position >= max_position, f"{max_position}+", t.position.cast("string"))
    t = t.mutate(pos=pos)
    out = {}
    for key, col in (("previous", "previous"), ("position", "pos")):
        agg = t.group_by(col).aggregate(calls=t.count(), sales=t.is_sale.sum().fill_null(0)).order_by(col)
        rows = agg.to_pyarrow().to_pylist()
        out[key] = _rate_rows(rows, col, key)
    require_rows(sum(r["calls"] for r in out["previous"]), selection)
    if not sum(r["sales"] for r in out["previous"]):
        raise EmptySelectionError(f"no handled sales call in the selection ({selection.describe()}) ended in a sale: "
                                  "close rates by previous call are not measurable")
    prev = {r["previous"]: r for r in out["previous"]}
    if "care" in prev and "sales" in prev:
        c, s = prev["care"], prev["sales"]
        _, p = two_proportion_test(c["sales"], c["calls"], s["sales"], s["calls"])
        lo, hi = diff_interval(c["sales"], c["calls"], s["sales"], s["calls"], conv.conf)
        out["care_vs_sales"] = [{
            "difference": c["close_rate"] - s["close_rate"], "difference_ci": [lo, hi], "pvalue": float(p),
        }]
    return out


def _rate_rows(rows: list[dict[str, Any]], col: str, key: str) -> list[dict[str, Any]]:
    x = np.array([r["sales"] for r in rows], float)
    n = np.array([r["calls"] for r in rows], float)
    low, high = wilson(x, n)
    chi = chi_square_test(x, n)
    return [
        {key: r[col], "calls": int(r["calls"]), "sales": int(r["sales"]), "close_rate": float(x[i] / n[i]),
         "close_rate_ci": [float(low[i]), float(high[i])], "chi2_pvalue": chi.pvalue}
        for i, r in enumerate(rows)
    ]


def volume_vs_conversion(
    tables: Tables, conv: Conventions, selection: Selection = ALL, low_volume: float = 0.5,
    alpha: float = 0.05,
) -> list[dict[str, Any]]:
    """Per agent: leads touched, sales, close rate, contacts per sale, and a volume flag.

    An agent is flagged ``high close, low volume`` when their close rate is significantly
    above their team's (two-proportion test against the rest of the team, Holm-corrected)
    while they touched fewer than ``low_volume`` x the team's median number of leads — the
    pattern behind "the best performers touch fewer deals".
    """
    frame = apply_selection(enrich(tables, conv, needed_columns(selection, ["team"])), selection, dimensions(tables))
    t = frame.filter(frame.is_sales & frame.agent_id.notnull())
    agg = t.group_by("agent_id").aggregate(
        team=t.team.max(), leads=t.lead_id.nunique(), contacts=t.count(),
        handled=t.handled_sales.sum().fill_null(0), sales=t.is_sale.sum().fill_null(0),
    ).order_by("agent_id")
    rows = agg.to_pyarrow().to_pylist()
    require_rows(len(rows), selection)
    x = np.array([r["sales"] for r in rows], float)
    n = np.array([r["handled"] for r in rows], float)
    leads = np.array([r["leads"] for r in rows], float)
    teams = np.array([str(r["team"]) for r in rows])
    low, high = wilson(x, n, conv.conf)
    flags = np.zeros(len(rows), bool)
    median = np.zeros(len(rows))
    for team in np.unique(teams):
        idx = np.flatnonzero(teams == team)
        median[idx] = np.median(leads[idx])
        z, p = two_proportion_test(x[idx], n[idx], x[idx].sum() - x[idx], n[idx].sum() - n[idx])
        padj = adjust_pvalues(p, "holm")
        flags[idx] = (z > 0) & (np.nan_to_num(padj, nan=1.0) < alpha) & (leads[idx] < low_volume * median[idx])
    out = []
    for i, r in enumerate(rows):
        out.append({
            "agent_id": r["agent_id"], "team": r["team"], "leads_touched": int(leads[i]),
            "contacts": int(r["contacts"]),
            "sales": int(x[i]), "close_rate": float(x[i] / n[i]) if n[i] else None,
            "close_rate_ci": [_f(low[i]), _f(high[i])],
            "contacts_per_sale": float(r["contacts"] / x[i]) if x[i] else None,
            "leads_vs_team_median": float(leads[i] / median[i]) if median[i] else None,
            "flag": "high close, low volume" if flags[i] else None,
        })
    return out


def _f(v: float) -> float | None:
    return None if np.isnan(v) else float(v)
