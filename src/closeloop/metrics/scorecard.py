"""Scorecards: metrics by group and period, with intervals, tests, shrinkage and mix adjustment.

One aggregation query (over the per-call facts, :mod:`closeloop.metrics.facts`) computes
every call-level metric's parts per group, one more the per-lead counts; everything statistical
happens afterwards on those small aggregates (numpy, :mod:`closeloop.stats`). The result's
rows are plain dicts in a fixed column order: the group keys, then per metric its value,
and for rates ``<name>_ci`` = [low, high], ``<name>_sig`` (``higher``/``lower`` than the
other groups of the same period, after Holm correction, else None), and when asked
``<name>_shrunk``/``<name>_shrunk_ci`` (agents) and ``<name>_adjusted``/``<name>_adjusted_ci``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from closeloop.metrics.cost import add_cost_parts, cost_intervals, cost_needs, wants_cost
from closeloop.metrics.definitions import DEFAULT_METRICS, SALE_METRICS, Metric, aggregations, metric
from closeloop.metrics.facts import COSTLY, cells, scorecard_frame
from closeloop.metrics.frame import Conventions, Tables, dimensions, with_period
from closeloop.metrics.leadlevel import extra_tables
from closeloop.metrics.localtime import period_start
from closeloop.metrics.selection import Selection, apply_selection, check_columns, needed_columns, require_rows
from closeloop.stats import (
    adjust_for_mix,
    adjust_pvalues,
    chi_square_test,
    eb_shrinkage,
    fit_beta_priors,
    two_proportion_test,
)
from closeloop.stats import wilson_interval as wilson

#: Rates that --adjust-for adjusts (per-call rates whose mix question makes sense).
ADJUSTABLE = ("close_rate", "resolution_rate", "data_capture", "service_level", "abandon_rate", "csat_top2")
MIN_TEAM_AGENTS = 5
#: Rates agent scorecards shrink by default (each team needs one prior fit per rate).
SHRUNK = ("close_rate", "conversion_per_lead", "first_call_close")


@dataclass(frozen=True)
class ScorecardRequest:
    """What to compute: selection, grain, metrics, adjustment and test settings."""

    selection: Selection = field(default_factory=Selection)
    grain: str | None = None
    metrics: tuple[str, ...] = DEFAULT_METRICS
    adjust_for: tuple[str, ...] = ()
    pvalue_method: str = "holm"
    alpha: float = 0.05
    shrink: tuple[str, ...] = SHRUNK
    #: Contracts whose ``price`` the cost metrics apply (closeloop.contracts.Contract).
    contracts: tuple[Any, ...] = ()


@dataclass
class Scorecard:
    """Rows (one per group and period), the metrics in them, and the overall tests."""

    keys: list[str]
    metrics: list[Metric]
    rows: list[dict[str, Any]]
    tests: list[dict[str, Any]]
    notes: list[str]


def scorecard(tables: Tables, conv: Conventions, req: ScorecardRequest) -> Scorecard:
    """Compute the scorecard ``req`` asks for over ``tables``."""
    metrics = [metric(n) for n in req.metrics]
    keys = (["period"] if req.grain else []) + list(req.selection.by)
    valid = dimensions(tables)
    check_columns(valid, req.adjust_for, "--adjust-for dimension")
    needs = needed_columns(req.selection, req.adjust_for, *(m.needs for m in metrics))
    if "agent_id" in keys:
        needs.add("team")
    costed = wants_cost(metrics)
    if costed:
        needs |= cost_needs(req.contracts)
    # One frame for every pass: the stored per-call facts when current, else the same facts
    # computed on the fly with only the joins and windows these metrics need.
    frame = with_period(apply_selection(scorecard_frame(tables, conv, needs), req.selection, valid), req.grain)
    # The per-lead pass uses no windowed or captured fact: on the fly it skips those windows and
    # joins (with stored facts both frames read the same table).
    lean = with_period(apply_selection(scorecard_frame(tables, conv, needs - COSTLY), req.selection, valid),
                       req.grain)
    data = _aggregate(frame, lean, keys, metrics, conv)
    require_rows(sum(data["_calls"]), req.selection)
    rows = [{k: data[k][i] for k in keys} for i in range(len(data["_calls"]))]
    if req.grain:
        for r in rows:
            r["period"] = period_start(r["period"], req.grain)
    tests: list[dict[str, Any]] = []
    notes: list[str] = []
    if costed:
        per_lead = any(m.name == "cost_per_lead" for m in metrics)
        notes += add_cost_parts(data, frame, lean, keys, req.grain, conv, req.contracts, valid, _aggregate,
                                (req.selection.start, req.selection.end), per_lead)
    periods = _period_index(data, req.grain)
    unmeasured = _unmeasured(data, metrics)
    if unmeasured:
        notes.append(f"no call in the selection ended in a sale, so {', '.join(unmeasured)} cannot be measured "
                     "(shown as n/a / null, not 0): does the data record sale outcomes?")
    for m in metrics:
        _fill_metric(rows, data, m, conv)
        if m.name in unmeasured:
            _blank(rows, m)
            continue
        if m.is_rate and req.selection.by:
            tests += _significance(rows, data, m, periods, req)
        if m.is_rate and "agent_id" in keys and m.name in req.shrink:
            _shrink(rows, data, m, periods, conv)
    if costed:
        cost_intervals(rows, data, conv.conf)
    for m in metrics:
        if req.adjust_for and m.name in ADJUSTABLE:
            notes += _adjust(rows, frame, keys, m, conv, req)
    return Scorecard(keys, metrics, rows, tests, notes)


def _aggregate(
    frame: Any, lead_frame: Any, keys: list[str], metrics: list[Metric], conv: Conventions
) -> dict[str, list[Any]]:
    """Run the call-level aggregation (over cells) and the per-lead table; merge them by group."""
    main = [m for m in metrics if m.parts is not None]
    team = "agent_id" in keys and "team" not in keys
    c = cells(frame, [*keys, *(["team"] if team else [])])
    aggs = aggregations(c, main, conv)
    aggs["_calls"] = c._n.sum().fill_null(0)
    aggs["_sales"] = c._n.sum(where=c.is_sale).fill_null(0)
    if team:
        aggs["_team"] = c.team.max()
    data = _columns(_grouped(c, keys, aggs).order_by(keys) if keys else _grouped(c, keys, aggs))
    data = _drop_empty(data)
    index = {tuple(data[k][i] for k in keys): i for i in range(len(data["_calls"]))}
    for table in extra_tables(lead_frame, keys, metrics):
        extra = _columns(table)
        names = [c for c in extra if c not in keys]
        for name in names:
            data.setdefault(name, [0] * len(data["_calls"]))
        for j in range(len(next(iter(extra.values()), []))):
            i = index.get(tuple(extra[k][j] for k in keys))
            if i is not None:
                for name in names:
                    data[name][i] += extra[name][j] or 0
    return data


def _unmeasured(data: dict[str, list[Any]], metrics: list[Metric]) -> list[str]:
    """Sale metrics that would read 0 % only because nothing in the selection is a sale."""
    if sum(int(v or 0) for v in data["_sales"]) > 0:
        return []
    return [m.name for m in metrics if m.name in SALE_METRICS and any(data.get(f"{m.name}__den") or [])]


def _blank(rows: list[dict[str, Any]], m: Metric) -> None:
    """Mark a metric not measurable in every row (its ``_n`` stays: the calls were there)."""
    for r in rows:
        r[m.name] = None
        if m.is_rate:
            r[f"{m.name}_ci"] = [None, None]


def _grouped(frame: Any, keys: list[str], aggs: dict[str, Any]) -> Any:
    return frame.group_by(keys).aggregate(**aggs) if keys else frame.aggregate(**aggs)


def _columns(expr: Any) -> dict[str, list[Any]]:
    """Run an Ibis table expression; its columns as Python lists."""
    table = expr.to_pyarrow()
    return {name: col.to_pylist() for name, col in zip(table.column_names, table.columns, strict=True)}


def _drop_empty(data: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A global aggregate over nothing still returns one row; treat it as no rows."""
    if data["_calls"] == [0]:
        return {k: [] for k in data}
    return data


def _period_index(data: dict[str, list[Any]], grain: str | None) -> list[np.ndarray]:
    """Row indices of each period (one block when there is no grain)."""
    n = len(data["_calls"])
    if not grain:
        return [np.arange(n)]
    periods = np.array([str(p) for p in data["period"]])
    return [np.flatnonzero(periods == p) for p in dict.fromkeys(periods)]


def _arr(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _fill_metric(rows: list[dict[str, Any]], data: dict[str, list[Any]], m: Metric, conv: Conventions) -> None:
    """Put the metric's value (and CI for rates) in every row."""
    if m.kind == "count":
        for r, v in zip(rows, data[f"{m.name}__n"], strict=True):
            r[m.name] = int(v or 0)
        return
    num, den = _arr(data[f"{m.name}__num"]), _arr(data[f"{m.name}__den"])
    num = np.nan_to_num(num)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = num if m.kind == "amount" else np.where(den > 0, num / den, np.nan)
    values = _nums(value)
    counts = np.nan_to_num(den).astype(np.int64).tolist()
    if m.is_rate:
        low, high = wilson(num, np.nan_to_num(den), conv.conf)
        cis = [list(p) for p in zip(_nums(low), _nums(high), strict=True)]
    for i, r in enumerate(rows):
        r[m.name] = values[i]
        if m.is_rate:
            r[f"{m.name}_ci"] = cis[i]
        r[f"{m.name}_n"] = counts[i]


def _nums(values: np.ndarray) -> list[float | None]:
    """Floats with NaN as None, for a whole column at once (per-row numpy calls are slow)."""
    return [None if v != v else v for v in np.asarray(values, dtype=float).tolist()]


def _num(v: float) -> float | None:
    return None if np.isnan(v) else float(v)


def _significance(
    rows: list[dict[str, Any]], data: dict[str, list[Any]], m: Metric, periods: list[np.ndarray],
    req: ScorecardRequest,
) -> list[dict[str, Any]]:
    """Each group against the rest of its period (Holm/BH-corrected), plus one chi-square per period."""
    num = np.nan_to_num(_arr(data[f"{m.name}__num"]))
    den = np.nan_to_num(_arr(data[f"{m.name}__den"]))
    tests = []
    for idx in periods:
        x, n = num[idx], den[idx]
        if (n > 0).sum() < 2:
            continue
        z, p = two_proportion_test(x, n, x.sum() - x, n.sum() - n)
        padj = adjust_pvalues(p, req.pvalue_method)
        for j, i in enumerate(idx):
            sig = not np.isnan(padj[j]) and padj[j] < req.alpha
            rows[i][f"{m.name}_sig"] = ("higher" if z[j] > 0 else "lower") if sig else None
            rows[i][f"{m.name}_p"] = _num(padj[j])
        chi = chi_square_test(x, n)
        period = rows[idx[0]].get("period")
        tests.append({
            "metric": m.name, "period": period, "groups": int((n > 0).sum()), "chi2": chi.statistic, "dof": chi.dof,
            "pvalue": chi.pvalue, "min_expected": chi.min_expected,
            "significant": chi.pvalue < req.alpha,
        })
    return tests


def _shrink(
    rows: list[dict[str, Any]], data: dict[str, list[Any]], m: Metric, periods: list[np.ndarray],
    conv: Conventions,
) -> None:
    """Empirical-Bayes shrinkage of each agent's rate towards their team's (or everyone's).

    Teams with at least MIN_TEAM_AGENTS agents with trials get their own fitted prior, the
    others the prior fitted to everyone in the period; all of a period's priors are fitted
    in one batched call and all posteriors computed in one vectorised step.
    """
    num = np.nan_to_num(_arr(data[f"{m.name}__num"]))
    den = np.nan_to_num(_arr(data[f"{m.name}__den"]))
    teams = np.array([str(t) for t in (data.get("_team") or data["team"])])
    for idx in periods:
        if (den[idx] > 0).sum() < 2:
            continue
        names, team_of = np.unique(teams[idx], return_inverse=True)
        members = [idx[team_of == k] for k in range(len(names))]
        fitted = [k for k, sub in enumerate(members) if (den[sub] > 0).sum() >= MIN_TEAM_AGENTS]
        priors = fit_beta_priors([(num[idx], den[idx])] + [(num[members[k]], den[members[k]]) for k in fitted])
        prior = np.tile(priors[0], (len(names), 1))
        prior[fitted] = priors[1:]
        res = eb_shrinkage(num[idx], den[idx], prior=(prior[team_of, 0], prior[team_of, 1]), conf=conv.conf)
        for j, i in enumerate(idx):
            if den[i] == 0:
                continue
            rows[i][f"{m.name}_shrunk"] = float(res.estimate[j])
            rows[i][f"{m.name}_shrunk_ci"] = [float(res.low[j]), float(res.high[j])]


def _adjust(
    rows: list[dict[str, Any]], frame: Any, keys: list[str], m: Metric, conv: Conventions, req: ScorecardRequest
) -> list[str]:
    """Mix-adjusted rate per group: one logistic model per period over (group, covariates) cells."""
    assert m.flags is not None
    group_keys = list(req.selection.by)
    if not group_keys:
        return []
    cells = adjustment_cells(frame, keys + [c for c in req.adjust_for if c not in keys], m, conv)
    notes = []
    label = _labels(cells, group_keys)
    periods = (np.array([str(period_start(p, req.grain)) for p in cells["period"]]) if "period" in keys  # type: ignore[arg-type]
               else np.zeros(len(label), str))
    row_period = [str(r.get("period", "")) for r in rows]
    for p in dict.fromkeys(periods):
        sel = periods == p
        if len(set(label[sel])) < 2:
            continue
        covs = {c: _level(cells[c])[sel] for c in req.adjust_for if c not in group_keys}
        adj = adjust_for_mix(label[sel], covs, cells["num"][sel], cells["den"][sel], conf=conv.conf)
        if not adj.fit.converged:
            notes.append(f"{m.name}: adjustment model did not converge for period {p or 'all'}; treat with care")
        for r, rp in zip(rows, row_period, strict=True):
            if (rp if "period" in keys else "") != (p if "period" in keys else ""):
                continue
            g = "\x1f".join(_level(np.array([r[k]], dtype=object))[0] for k in group_keys)
            if g in adj.groups:
                i = adj.index(g)
                r[f"{m.name}_adjusted"] = float(adj.adjusted[i])
                r[f"{m.name}_adjusted_ci"] = [float(adj.adjusted_low[i]), float(adj.adjusted_high[i])]
    return notes


def adjustment_cells(frame: Any, columns: Sequence[str], m: Metric, conv: Conventions) -> dict[str, np.ndarray]:
    """Successes and trials of a flag-defined rate per combination of ``columns``."""
    assert m.flags is not None
    num, den = m.flags(frame, conv)
    agg = frame.group_by(list(columns)).aggregate(num=(num & den).sum().fill_null(0), den=den.sum().fill_null(0))
    agg = agg.filter(agg.den > 0).to_pyarrow()
    out = {c: np.array(agg[c].to_pylist(), dtype=object) for c in columns}
    out["num"] = np.array(agg["num"].to_pylist(), dtype=float)
    out["den"] = np.array(agg["den"].to_pylist(), dtype=float)
    return out


def _level(values: np.ndarray) -> np.ndarray:
    return np.array(["(missing)" if v is None else str(v) for v in values])


def _labels(cells: dict[str, np.ndarray], group_keys: list[str]) -> np.ndarray:
    cols = [_level(cells[k]) for k in group_keys]
    return np.array(["\x1f".join(parts) for parts in zip(*cols, strict=True)])
