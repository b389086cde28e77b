"""What changes if a segment of today's calls moves to another party — estimated before anyone signs.

For a segment (a checked SQL condition, :mod:`closeloop.metrics.segment`) and each candidate
receiving party (a value of ``by``, usually a vendor):

* **close rate it would reach on the segment's mix** — one logistic mix model over every
  party's handled sales calls (group = party, covariates = ``adjust_for``), predicted for
  the candidate on the segment's own cells (:meth:`~closeloop.stats.mix.MixAdjustment.rate_on`),
  with its delta-method interval. A party that only *looks* better because it gets easier
  calls is predicted on the segment's calls, not its own. Flagged when it has too little
  comparable history (few calls of the segment's kinds) — the model then extrapolates;
* **sales and revenue gained or lost** — handled sales calls × (its rate − today's), the
  interval combining both rates' intervals (MOVER, Newcombe 1998), revenue at today's
  average order value;
* **cost under its contract vs today's** — each contract's price applied to the segment's
  volume (:mod:`closeloop.contracts.pricing`); commission and per-sale prices follow the
  predicted sales, so the cost carries the sales interval;
* **staffing** — agents the segment's busiest hour needs for the candidate's service-level
  term (Erlang C, :mod:`closeloop.sim.staffing`), alone and on top of its own traffic.

Every estimate lists the assumptions it rests on; ``--compare`` ranks candidates by net gain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from closeloop.contracts import Contract
from closeloop.contracts.pricing import Price, Volume
from closeloop.errors import EmptySelectionError, InputError
from closeloop.metrics.cost import cost_needs
from closeloop.metrics.definitions import metric
from closeloop.metrics.frame import Conventions, Tables, dimensions, enrich
from closeloop.metrics.scorecard import adjustment_cells
from closeloop.metrics.segment import parse_segment
from closeloop.metrics.selection import Selection, apply_selection, check_columns, needed_columns
from closeloop.sim.staffing import Target, required_agents
from closeloop.stats import adjust_for_mix, wilson_interval

#: Numeric call columns a segment may also test, besides the scorecard dimensions.
SEGMENT_NUMBERS = ("csat", "order_value", "hold_s", "wrap_s", "wait_s", "talk_s", "handle_s")
DEFAULT_SL = 0.8
ALL = Selection()


@dataclass(frozen=True)
class SegmentToday:
    """The segment as it is handled today: volume, outcome, cost and who handles it."""

    calls: int
    handled: int
    handle_s: float
    handled_sales: int
    sales: int
    revenue: float
    close_rate: float | None
    close_rate_ci: tuple[float, float] | None
    cost: float | None
    parties: dict[str, int]
    #: The segment's busiest hour of the day, in UTC (so it is the same moment at any party).
    peak_hour: int | None
    peak_calls_per_hour: float
    days: int
    #: Inbound calls counted in the busiest hour over ``days`` (the arrival rate's evidence).
    peak_calls: int = 0


@dataclass(frozen=True)
class Candidate:
    """One receiving party's estimate on the segment (None where it cannot be estimated)."""

    party: str
    contract: str | None
    history: int
    comparable: int
    coverage: float
    flag: str | None
    close_rate: float | None = None
    close_rate_ci: tuple[float, float] | None = None
    sales_delta: float | None = None
    sales_delta_ci: tuple[float, float] | None = None
    revenue_delta: float | None = None
    revenue_delta_ci: tuple[float, float] | None = None
    cost_after: float | None = None
    cost_after_ci: tuple[float, float] | None = None
    cost_per_sale_after: float | None = None
    cost_per_sale_after_ci: tuple[float, float] | None = None
    net_gain: float | None = None
    net_gain_ci: tuple[float, float] | None = None
    service_level_target: float = DEFAULT_SL
    agents_alone: int | None = None
    agents_alone_ci: tuple[int, int] | None = None
    agents_extra: int | None = None

    def row(self) -> dict[str, Any]:
        """As a flat dict for output."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class OutsourceEstimate:
    """Today's segment, the candidates ranked by net gain, and the assumptions behind them."""

    segment: str
    by: str
    adjust_for: tuple[str, ...]
    today: SegmentToday
    candidates: list[Candidate]
    assumptions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def estimate_outsource(
    tables: Tables, conv: Conventions, contracts: Sequence[Contract], segment: str, to: Sequence[str],
    by: str = "vendor", adjust_for: Sequence[str] = ("source", "product"), selection: Selection = ALL,
    min_history: int = 200, min_cell: int = 10,
) -> OutsourceEstimate:
    """Estimate moving the calls matching ``segment`` to each party in ``to`` (values of ``by``)."""
    if not to:
        raise InputError("name at least one receiving party (--to)")
    valid = dimensions(tables)
    check_columns(valid, [by, *adjust_for], "dimension")
    seg = parse_segment(segment, [*valid, *SEGMENT_NUMBERS])
    cr = metric("close_rate")
    needs = needed_columns(selection, seg.columns, [by, *adjust_for], cost_needs(contracts), cr.needs)
    frame = apply_selection(enrich(tables, conv, needs), selection, valid)
    # hours in UTC: the receiving party's traffic in the same hour is the same moment, in any zone
    utc_day = frame._epoch.cast("int64") // 86400
    frame = frame.mutate(_seg=seg.to_ibis(frame).fill_null(False), utc_day=utc_day,
                         utc_hour=(frame._epoch.cast("int64") // 3600) % 24)
    today, notes = _today(frame, conv, contracts, by, valid)
    if today.calls == 0:
        raise EmptySelectionError(f"no calls match --segment {segment!r} ({selection.describe()}): nothing to move")
    if today.handled_sales == 0:
        raise InputError(f"no handled sales call matches --segment {segment!r}: nothing to estimate a close rate on")
    cells = adjustment_cells(frame, [by, *adjust_for, "_seg"], cr, conv)
    labels = _labels(cells[by])
    covs = {c: _labels(cells[c]) for c in adjust_for}
    adj = adjust_for_mix(labels, covs, cells["num"], cells["den"], conf=conv.conf)
    if not adj.fit.converged:
        notes.append("the mix model did not converge: treat the close-rate estimates with care")
    in_seg = np.array([bool(v) for v in cells["_seg"]])
    combos = np.array(["\x1f".join(parts) for parts in zip(*covs.values(), strict=True)]) if covs else \
        np.zeros(len(labels), str)
    aov = today.revenue / today.sales if today.sales else 0.0
    out = []
    for party in dict.fromkeys(to):
        hist = _history(labels, combos, cells["den"], in_seg, party, min_cell)
        c = _candidate(party, hist, adj, in_seg, today, aov, frame, conv, contracts, by, min_history)
        out.append(c)
    # estimated candidates first (by net gain), then those whose close rate could not be estimated
    out.sort(key=lambda c: (c.close_rate is None, c.net_gain is None, -(c.net_gain or 0.0), -(c.close_rate or 0.0)))
    return OutsourceEstimate(segment, by, tuple(adjust_for), today, out, _assumptions(today, aov, adjust_for, conv),
                             notes)


def _labels(values: np.ndarray) -> np.ndarray:
    return np.array(["(missing)" if v is None else str(v) for v in values])


def _today(frame: Any, conv: Conventions, contracts: Sequence[Contract], by: str,
           valid: Sequence[str]) -> tuple[SegmentToday, list[str]]:
    """The segment's volume, sales, revenue, cost under today's contracts, parties and busiest hour."""
    s = frame.filter(frame._seg)
    tot = s.aggregate(
        calls=s.count(), handled=s.count(where=s.answered), handle_s=s.handle_s.sum(where=s.answered),
        handled_sales=s.count(where=s.handled_sales), sales=s.count(where=s.is_sale),
        revenue=s.order_value.sum(where=s.is_sale), days=s.utc_day.nunique(),
    ).to_pyarrow().to_pylist()[0]
    parties = {str(r[by]): int(r["n"]) for r in
               s.group_by(by).aggregate(n=s.count(where=s.handled_sales)).to_pyarrow().to_pylist() if r["n"]}
    inbound = s.filter(s.is_inbound)
    hours = inbound.group_by("utc_hour").aggregate(n=inbound.count()).to_pyarrow().to_pylist()
    days = max(int(tot["days"] or 0), 1)
    peak = max(hours, key=lambda r: r["n"]) if hours else None
    trials, sales = int(tot["handled_sales"] or 0), int(tot["sales"] or 0)
    ci = wilson_interval(sales, trials, conv.conf) if trials else None
    cost, notes = _cost_today(s, contracts, valid, int(tot["handled"] or 0))
    return SegmentToday(
        calls=int(tot["calls"] or 0), handled=int(tot["handled"] or 0), handle_s=float(tot["handle_s"] or 0.0),
        handled_sales=trials, sales=sales, revenue=float(tot["revenue"] or 0.0),
        close_rate=sales / trials if trials else None, close_rate_ci=(float(ci[0]), float(ci[1])) if ci else None,
        cost=cost, parties=parties, peak_hour=int(peak["utc_hour"]) if peak else None,
        peak_calls_per_hour=float(peak["n"]) / days if peak else 0.0, days=days,
        peak_calls=int(peak["n"]) if peak else 0,
    ), notes


def volume(t: Any) -> Volume:
    """The priced volume of the calls in ``t`` (one small query)."""
    r = t.aggregate(handled=t.count(where=t.answered), handle_s=t.handle_s.sum(where=t.answered),
                    sales=t.count(where=t.is_sale), order_value=t.order_value.sum(where=t.is_sale)
                    ).to_pyarrow().to_pylist()[0]
    return Volume(float(r["handled"] or 0), float(r["handle_s"] or 0.0), float(r["sales"] or 0),
                  float(r["order_value"] or 0.0))


def _cost_today(s: Any, contracts: Sequence[Contract], valid: Sequence[str], handled: int) -> tuple[float | None,
                                                                                                    list[str]]:
    priced = [c for c in contracts if c.price is not None]
    if not priced:
        return None, ["no contract has a price: costs are not estimated (docs/sla.md, 'Prices')"]
    total, covered = 0.0, 0.0
    for c in priced:
        assert c.price is not None
        v = volume(apply_selection(s, Selection(filters=c.filters), valid))
        total += c.price.variable_cost(v)
        covered += v.handled
    notes = []
    if covered < handled:
        notes.append(f"{handled - int(covered):,} of the segment's {handled:,} handled calls are under no priced "
                     "contract: today's cost leaves them out")
    return total, notes


@dataclass(frozen=True)
class _History:
    total: int
    comparable: int
    coverage: float


def _history(labels: np.ndarray, combos: np.ndarray, den: np.ndarray, in_seg: np.ndarray, party: str,
             min_cell: int) -> _History:
    """The party's handled sales calls, those of the segment's kinds, and the share of the segment it has seen."""
    mine = labels == party
    seg_kinds: dict[str, float] = {}
    for k, n in zip(combos[in_seg], den[in_seg], strict=True):
        seg_kinds[k] = seg_kinds.get(k, 0.0) + n
    have: dict[str, float] = {}
    for k, n in zip(combos[mine], den[mine], strict=True):
        have[k] = have.get(k, 0.0) + n
    comparable = sum(n for k, n in have.items() if k in seg_kinds)
    seen = sum(n for k, n in seg_kinds.items() if have.get(k, 0.0) >= min_cell)
    coverage = float(seen / sum(seg_kinds.values())) if seg_kinds else 0.0
    return _History(int(den[mine].sum()), int(comparable), coverage)


def contract_for(contracts: Sequence[Contract], by: str, party: str) -> Contract | None:
    """The contract covering ``by = party`` (the priced one when several do), or one named ``party``."""
    named = [c for c in contracts if c.name == party]
    scoped = [c for c in contracts
              if any(f.column == by and party in f.values and not f.negate for f in c.filters)]
    found = named or scoped
    return next((c for c in found if c.price is not None), found[0] if found else None)


def _candidate(party: str, hist: _History, adj: Any, in_seg: np.ndarray, today: SegmentToday, aov: float,
               frame: Any, conv: Conventions, contracts: Sequence[Contract], by: str,
               min_history: int) -> Candidate:
    c = contract_for(contracts, by, party)
    sl = _sl_target(c)
    alone, extra = _staffing(frame, by, party, today, sl, conv)
    base: dict[str, Any] = {"party": party, "contract": c.name if c else None, "history": hist.total,
            "comparable": hist.comparable, "coverage": hist.coverage, "service_level_target": sl,
            "agents_alone": alone, "agents_alone_ci": _staffing_ci(today, sl, conv), "agents_extra": extra}
    if party not in adj.groups:
        money = _money(c.price if c else None, today, aov, (0.0, (0.0, 0.0)))
        note = "; its cost is shown at today's close rate" if money else ""
        return Candidate(**base, flag=f"no handled sales call by {by}={party}: its close rate cannot be "
                         f"estimated{note}", cost_after=money.get("cost_after"),
                         cost_per_sale_after=money.get("cost_per_sale_after"), net_gain=money.get("net_gain"))
    flag = None
    if hist.comparable < min_history:
        flag = (f"too little comparable history: {hist.comparable:,} handled sales calls of the segment's kinds "
                f"(want {min_history:,}); the estimate leans on the model")
    elif hist.coverage < 0.8:
        flag = f"has handled only {hist.coverage:.0%} of the segment's kinds of calls; the rest is extrapolated"
    rate, lo, hi = adj.rate_on(in_seg, party)
    p0 = today.close_rate or 0.0
    lo0, hi0 = today.close_rate_ci or (p0, p0)
    d = rate - p0
    d_ci = (d - float(np.hypot(rate - lo, hi0 - p0)), d + float(np.hypot(hi - rate, p0 - lo0)))  # MOVER
    n = today.handled_sales
    sales = (n * d, (n * d_ci[0], n * d_ci[1]))
    money = _money(c.price if c else None, today, aov, sales)
    return Candidate(**base, flag=flag, close_rate=rate, close_rate_ci=(lo, hi), sales_delta=sales[0],
                     sales_delta_ci=sales[1], revenue_delta=sales[0] * aov,
                     revenue_delta_ci=(sales[1][0] * aov, sales[1][1] * aov), **money)


def _money(price: Price | None, today: SegmentToday, aov: float,
           sales: tuple[float, tuple[float, float]]) -> dict[str, Any]:
    """Cost under the candidate's price, cost per sale and net gain, at the sales estimate and its bounds."""
    if price is None or today.cost is None:
        return {}

    def after(delta: float) -> tuple[float, float, float]:
        s = max(today.sales + delta, 0.0)
        cost = price.variable_cost(Volume(today.handled, today.handle_s, s, s * aov))
        net = (s * aov - cost) - (today.revenue - today.cost)  # type: ignore[operator]
        return cost, (cost / s if s > 0 else float("nan")), net

    mid, lo, hi = after(sales[0]), after(sales[1][0]), after(sales[1][1])

    def span(i: int) -> tuple[float, float]:
        a, b = lo[i], hi[i]
        return (min(a, b), max(a, b))

    return {"cost_after": mid[0], "cost_after_ci": span(0), "cost_per_sale_after": _num(mid[1]),
            "cost_per_sale_after_ci": span(1) if np.isfinite(lo[1]) and np.isfinite(hi[1]) else None,
            "net_gain": mid[2], "net_gain_ci": span(2)}


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _sl_target(c: Contract | None) -> float:
    """The candidate's service-level term, else the usual 80 %."""
    for t in c.terms if c else ():
        if t.metric == "service_level":
            return t.target
    return DEFAULT_SL


def _staffing(frame: Any, by: str, party: str, today: SegmentToday, sl: float,
              conv: Conventions) -> tuple[int | None, int | None]:
    """Agents for the segment's busiest hour alone, and extra on top of the party's own traffic then."""
    if today.peak_hour is None or today.handled == 0 or not 0 < sl < 1:
        return None, None
    aht = today.handle_s / today.handled
    target = Target(service_level=sl, threshold_s=conv.service_level_threshold_s)
    seg_rate = today.peak_calls_per_hour / 3600.0
    alone = required_agents(seg_rate, aht, target).agents
    p = frame.filter((frame[by].cast("string") == party) & frame.is_inbound & ~frame._seg)
    r = p.aggregate(n=p.count(where=p.utc_hour == today.peak_hour), days=p.utc_day.nunique(),
                    handled=p.count(where=p.answered), handle_s=p.handle_s.sum(where=p.answered)
                    ).to_pyarrow().to_pylist()[0]
    if not r["n"] or not r["handled"]:
        return alone, alone
    own_rate = r["n"] / max(int(r["days"]), 1) / 3600.0
    own_aht = float(r["handle_s"]) / r["handled"]
    mixed_aht = (seg_rate * aht + own_rate * own_aht) / (seg_rate + own_rate)
    before = required_agents(own_rate, own_aht, target).agents
    after = required_agents(seg_rate + own_rate, mixed_aht, target).agents
    return alone, after - before


def _staffing_ci(today: SegmentToday, sl: float, conv: Conventions) -> tuple[int, int] | None:
    """Agents for the busiest hour at both ends of the arrival rate's exact Poisson interval.

    The rate is ``peak_calls`` over ``days`` hours; its interval (Garwood 1936, chi-square
    quantiles) carries the uncertainty of how busy that hour really is.
    """
    if today.peak_hour is None or today.handled == 0 or not 0 < sl < 1:
        return None
    from scipy.stats import chi2

    alpha, k = 1 - conv.conf, today.peak_calls
    low = chi2.ppf(alpha / 2, 2 * k) / 2 if k > 0 else 0.0
    high = chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    aht = today.handle_s / today.handled
    target = Target(service_level=sl, threshold_s=conv.service_level_threshold_s)
    return tuple(required_agents(n / today.days / 3600.0, aht, target).agents for n in (low, high))  # type: ignore[return-value]


def _assumptions(today: SegmentToday, aov: float, adjust_for: Sequence[str], conv: Conventions) -> list[str]:
    mix = ", ".join(adjust_for) or "nothing"
    hour = f"{today.peak_hour:02d}:00 UTC" if today.peak_hour is not None else "n/a"
    return [
        f"close rates come from one logistic model over every party's handled sales calls, adjusted for {mix} "
        "(main effects: a party's edge is the same on every kind of call); kinds a party never handled are "
        "extrapolated",
        f"the receiving party handles the same {today.handled:,} calls with today's handle time "
        f"({today.handle_s / max(today.handled, 1):.0f} s a call) and today's average order value ({aov:,.2f})",
        "today's close rate is the segment's observed rate; the sales interval combines both rates' intervals "
        "as if independent (MOVER)",
        "costs are each contract's variable price on the segment's volume; monthly fees are left out (moving a "
        "segment does not change them)",
        f"staffing: Erlang C for the segment's busiest hour ({hour}, {today.peak_calls_per_hour:.1f} inbound calls "
        f"an hour over {today.days} days; interval: the rate's exact Poisson interval), answering within "
        f"{conv.service_level_threshold_s:g} s at the party's service-level term (80 % without one); handle time "
        "and the service target are taken as known",
    ]


__all__ = ["Candidate", "OutsourceEstimate", "SegmentToday", "contract_for", "estimate_outsource", "volume"]
