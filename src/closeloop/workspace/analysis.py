"""Explain use-cases of the :class:`~closeloop.workspace.Workspace`: scorecards, gaps, SLA, report.

Each method takes Python values, computes through the metric core and returns a
:class:`~closeloop.results.Result` whose columns are declared here (the scorecard's follow
from the metrics asked for, so a rate always brings its interval columns, in every row).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop.errors import InputError
from closeloop.results import Column, Result, Schema, schema_of
from closeloop.workspace.base import Base

if TYPE_CHECKING:
    from closeloop.workspace.base import Progress

Where = Sequence[str] | Mapping[str, str | Sequence[str]] | None

#: Dimensions whose values are numbers (hour of day, day of week); every other one is text.
_INT_DIMENSIONS = frozenset({"hour", "weekday"})


def period_range(text: str | None) -> tuple[date | None, date | None]:
    """``2024-03`` (a month), ``2024-W10`` (an ISO week) or ``2024-03-04`` (a day) -> (first, last) day."""
    if not text:
        return None, None
    if m := re.fullmatch(r"(\d{4})-W(\d{1,2})", text):
        try:
            first = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise InputError(f"period {text!r}: no such ISO week") from None
        return first, first + timedelta(days=6)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise InputError(f"period {text!r}: month must be 01-12")
        nxt = date(year + month // 12, month % 12 + 1, 1)
        return date(year, month, 1), nxt - timedelta(days=1)
    day = to_date(text, "period")
    return day, day


def to_date(value: str | date | None, what: str) -> date | None:
    """A day from ``YYYY-MM-DD`` text or a date; InputError naming ``what`` otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{what} {value!r} is not a date (use YYYY-MM-DD)") from None


def names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"a, b"`` or ``["a", "b"]`` -> ``("a", "b")``."""
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(p.strip() for p in parts if p.strip())


def selection(by: str | Sequence[str] | None = None, where: Where = None, start: str | date | None = None,
              end: str | date | None = None, period: str | None = None) -> Any:
    """The metric core's Selection from library arguments.

    ``where`` is a list of ``COLUMN=VALUE`` / ``COLUMN=V1|V2`` / ``COLUMN!=VALUE`` texts or a
    mapping ``{column: value or [values]}``; ``period`` (a month, ISO week or day) wins over
    ``start``/``end``.
    """
    from closeloop.metrics import Selection
    from closeloop.metrics.selection import Filter, parse_filter

    if isinstance(where, Mapping):
        filters = tuple(Filter(k, (v,) if isinstance(v, str) else tuple(v)) for k, v in where.items())
    else:
        filters = tuple(parse_filter(w) for w in where or ())
    first, last = period_range(period)
    return Selection(by=names(by), filters=filters, start=first or to_date(start, "start"),
                     end=last or to_date(end, "end"))


def scorecard_schema(keys: Sequence[str], metrics: Sequence[Any], rates_tested: bool, shrunk: Sequence[str],
                     adjusted: Sequence[str], conf: float) -> Schema:
    """The scorecard's columns for these groups and metrics (every rate with its interval)."""
    pct = f"{conf:.0%}"
    cols = [Column("period", "date", "first day of the period (center local time)") if k == "period" else
            Column(k, "int" if k in _INT_DIMENSIONS else "str", f"group: {k}") for k in keys]
    for m in metrics:
        doc = m.doc.split(".")[0]
        cols.append(Column(m.name, "int" if m.kind == "count" else "float", doc))
        if m.kind == "count":
            continue
        cols.append(Column(f"{m.name}_n", "int", f"{m.name}: calls (or leads) in the denominator"))
        if m.name == "cost_per_sale":
            cols += [Column("cost_per_sale_low", "float", f"cost_per_sale: cost over the upper end of the sales "
                            f"count's {pct} Wilson interval"),
                     Column("cost_per_sale_high", "float", "cost_per_sale: cost over its lower end (null: open)")]
        if m.is_rate:
            cols += [Column(f"{m.name}_low", "float", f"{m.name}: lower end of the {pct} Wilson interval"),
                     Column(f"{m.name}_high", "float", f"{m.name}: upper end of the {pct} Wilson interval")]
            if rates_tested:
                cols += [Column(f"{m.name}_sig", "str", f"{m.name}: higher/lower than the rest of the period "
                                "beyond noise (two-proportion test, corrected), else null"),
                         Column(f"{m.name}_p", "float", f"{m.name}: corrected p-value of that test")]
        for extra, what in (("shrunk", "empirical-Bayes shrunk towards the team"),
                            ("adjusted", "mix-adjusted (logistic model over the adjustment dimensions)")):
            if m.name in (shrunk if extra == "shrunk" else adjusted):
                cols += [Column(f"{m.name}_{extra}", "float", f"{m.name}: {what}"),
                         Column(f"{m.name}_{extra}_low", "float", f"{m.name}: {extra}, lower end ({pct})"),
                         Column(f"{m.name}_{extra}_high", "float", f"{m.name}: {extra}, upper end ({pct})")]
    return Schema("scorecard", tuple(cols))


def flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """``{"x_ci": [lo, hi]}`` -> ``{"x_low": lo, "x_high": hi}``; other keys unchanged."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if k.endswith("_ci"):
            lo, hi = v if v else (None, None)
            out[f"{k[:-3]}_low"], out[f"{k[:-3]}_high"] = lo, hi
        else:
            out[k] = v
    return out


GAP = schema_of("gap", [
    ("a", "str", "first group"), ("b", "str", "second group"),
    ("rate_a", "float", "the metric in group a"), ("rate_b", "float", "the metric in group b"),
    ("gap", "float", "rate_a - rate_b"), ("gap_low", "float", "gap: lower end"), ("gap_high", "float", "upper end"),
    ("mix", "float", "part of the gap due to different calls (mix)"),
    ("mix_low", "float", "mix: lower end"), ("mix_high", "float", "mix: upper end"),
    ("performance", "float", "part due to different results on the same calls"),
    ("performance_low", "float", "performance: lower end"), ("performance_high", "float", "upper end"),
    ("performance_pvalue", "float", "p-value that the performance part is zero"),
    ("adjusted_a", "float", "group a's rate on the pooled mix"), ("adjusted_b", "float", "group b's on it"),
])

GAP_LEVELS = schema_of("gap_levels", [
    ("covariate", "str", "adjustment dimension"), ("level", "str", "its value"),
    ("share_a", "float", "share of a's calls at this level"), ("n_a", "int", "a's calls at this level"),
    ("rate_a", "float", "a's rate at this level"),
    ("share_b", "float", "share of b's calls at this level"), ("n_b", "int", "b's calls at this level"),
    ("rate_b", "float", "b's rate at this level"),
])

MODES = schema_of("modes", [
    ("by", "str", "previous (the agent's previous call type) or position (the call's place in a run)"),
    ("level", "str", "the value of that grouping"),
    ("calls", "int", "sales calls"), ("sales", "int", "of which sales"),
    ("close_rate", "float", "sales / calls"), ("close_rate_low", "float", "lower end of the Wilson interval"),
    ("close_rate_high", "float", "upper end"), ("chi2_pvalue", "float", "chi-square test across the levels"),
])

VOLUME = schema_of("volume", [
    ("agent_id", "str", "agent"), ("team", "str", "the agent's team"),
    ("leads_touched", "int", "distinct leads the agent called"), ("contacts", "int", "sales contacts"),
    ("sales", "int", "sales"), ("close_rate", "float", "sales / contacts"),
    ("close_rate_low", "float", "lower end"), ("close_rate_high", "float", "upper end"),
    ("contacts_per_sale", "float", "contacts / sales"),
    ("leads_vs_team_median", "float", "leads touched / the team's median"),
    ("flag", "str", "why the agent stands out (high close on few leads), else null"),
])

SLA = schema_of("sla_check", [
    ("contract", "str", "contract name"), ("period", "date", "first day of the period"),
    ("metric", "str", "the term's metric"), ("value", "float", "measured value"),
    ("low", "float", "lower end of its interval"), ("high", "float", "upper end"),
    ("n", "int", "calls in the denominator"), ("target", "float", "the contract's target"),
    ("direction", "str", "at_least or at_most"), ("status", "str", "pass, fail, not_enough_data or within_noise"),
    ("margin", "float", "value - target, signed so that positive is good"),
    ("weight", "float", "the term's weight in the score"),
    ("penalty", "float", "what the breach costs: penalty + penalty_per_point x points short (0 unless failed)"),
    ("bonus", "float", "bonus earned by a met term (0 unless passed)"),
])

SLA_SUMMARY = schema_of("sla_summary", [
    ("contract", "str", "contract name"), ("period", "date", "first day of the period"),
    ("terms", "int", "terms judged this period"), ("passed", "int", "terms passed"), ("failed", "int", "failed"),
    ("not_judged", "int", "not enough data or within noise"),
    ("score", "float", "weighted share of judged terms passed"), ("penalty", "float", "breaches' cost"),
    ("bonus", "float", "bonuses earned"),
])

TERMS = schema_of("contract_terms", [
    ("contract", "str", "contract name"), ("scope", "str", "which calls it covers"),
    ("judge", "str", "how a term is judged (point or interval)"), ("metric", "str", "metric"),
    ("direction", "str", "at_least or at_most"), ("target", "float", "target"), ("period", "str", "period grain"),
    ("min_volume", "int", "fewest calls to judge"), ("weight", "float", "weight"), ("penalty", "float", "penalty"),
    ("penalty_per_point", "float", "owed per point short of the target"), ("bonus", "float", "earned when met"),
])

PRICES = schema_of("contract_prices", [
    ("contract", "str", "contract name"), ("currency", "str", "currency of every amount"),
    ("per_handled_minute", "float", "per talk + hold + wrap minute"),
    ("per_productive_hour", "float", "per billed agent hour (handle hours / occupancy)"),
    ("loaded_cost_per_agent_hour", "float", "in-house cost per paid agent hour"),
    ("occupancy", "float", "handle time / agent time"), ("per_call", "float", "per handled call"),
    ("per_sale", "float", "flat per sale"), ("commission", "float", "share of order value"),
    ("monthly_fixed", "float", "fee per month"),
])


@dataclass(frozen=True)
class ReportResult:
    """A written report: where, its size and the summary lines printed on a terminal."""

    path: Path
    size_bytes: int
    summary: list[str]


class Analysis(Base):
    """Scorecards, explanations, SLA checks and the report (mixed into Workspace)."""

    def scorecard(self, by: str | Sequence[str] | None = None, grain: str | None = None,
                  metrics: str | Sequence[str] | None = None, adjust_for: str | Sequence[str] | None = None,
                  where: Where = None, period: str | None = None, start: str | date | None = None,
                  end: str | date | None = None, conf: float = 0.95, pvalues: str = "holm",
                  progress: Progress | None = None, contracts: str | Path | None = None) -> Result:
        """Metrics by group and period, rates with Wilson intervals and significance marks.

        ``metrics``: names, ``"all"`` or None (the default set). Grouping by ``agent_id`` adds
        shrunk rates; ``adjust_for`` adds mix-adjusted ones. Cost metrics (cost, cost_per_sale...)
        price the calls with the contract file's prices (``contracts``, default contracts.toml).
        Extras: ``tests`` (one chi-square per metric and period), ``notes``, ``metrics`` (the
        Metric definitions).
        """
        from closeloop.metrics import DEFAULT_METRICS, ScorecardRequest, scorecard
        from closeloop.metrics.scorecard import ADJUSTABLE, SHRUNK

        if grain not in (None, "day", "week", "month"):
            raise InputError(f"grain {grain!r}: use day, week or month")
        if not 0.5 <= conf < 1:
            raise InputError(f"conf {conf}: a confidence level between 0.5 and 1 (e.g. 0.95)")
        chosen = names(metrics)
        if chosen == ("all",) or not chosen:
            chosen = DEFAULT_METRICS
        sel = selection(by, where, start, end, period)
        from closeloop.metrics import METRICS

        priced = any(METRICS[n].level == "cost" for n in chosen if n in METRICS)
        req = ScorecardRequest(selection=sel, grain=grain, metrics=chosen, adjust_for=names(adjust_for),
                               pvalue_method=pvalues, alpha=1 - conf,
                               contracts=tuple(self.contracts(contracts)) if priced else ())
        conv = self.conventions(conf=conf)
        with self.fact_tables(conv, progress or _quiet()) as tables:
            card = scorecard(tables, conv, req)
        shrunk = SHRUNK if "agent_id" in sel.by else ()
        adjusted = ADJUSTABLE if req.adjust_for and sel.by else ()
        schema = scorecard_schema(card.keys, card.metrics, bool(sel.by), shrunk, adjusted, conf)
        rows = [flatten(r) for r in card.rows]
        return Result.from_rows(schema, rows, title="scorecard", tests=card.tests, notes=card.notes,
                                metrics=card.metrics, keys=card.keys, conf=conf)

    def explain_gap(self, dimension: str, a: str, b: str, adjust_for: str | Sequence[str] = "source",
                    metric: str = "close_rate", where: Where = None, start: str | date | None = None,
                    end: str | date | None = None, conf: float = 0.95) -> Result:
        """Split the gap between groups A and B into mix (different calls) and performance.

        One row (the decomposition); extras: ``levels`` (a Result: both groups' shares and
        rates per level of each covariate), ``covariates``, ``metric``.
        """
        from closeloop.metrics.explain import gap_analysis

        conv = self.conventions(conf=conf)
        with self.warehouse() as wh:
            rep = gap_analysis(self.tables(wh), conv, dimension, a, b, names(adjust_for),
                               selection(None, where, start, end), metric)
        g = rep.gap
        row = {"a": a, "b": b, "rate_a": g.rate_a, "rate_b": g.rate_b, "gap": g.gap, "gap_ci": g.gap_ci,
               "mix": g.mix, "mix_ci": g.mix_ci, "performance": g.performance, "performance_ci": g.performance_ci,
               "performance_pvalue": g.performance_pvalue, "adjusted_a": rep.adjusted[a][0],
               "adjusted_b": rep.adjusted[b][0]}
        levels = Result.from_rows(GAP_LEVELS, rep.levels, title="mix by level")
        return Result.from_rows(GAP, [flatten(row)], title=f"{rep.metric} gap by {dimension}", levels=levels,
                                covariates=rep.covariates, metric=rep.metric, dimension=dimension, conf=conf)

    def explain_modes(self, break_minutes: float = 60.0, where: Where = None, start: str | date | None = None,
                      end: str | date | None = None) -> Result:
        """Close rate of sales calls by the agent's previous call (care/sales) and run position.

        Extras: ``care_vs_sales`` (difference after a care call vs after a sales call, its
        interval and p-value).
        """
        from closeloop.metrics.explain import mode_switching

        with self.warehouse() as wh:
            out = mode_switching(self.tables(wh), self.conventions(), selection(None, where, start, end),
                                 break_minutes)
        rows = [{"by": key, "level": str(r[key]), **flatten({k: v for k, v in r.items() if k != key})}
                for key in ("previous", "position") for r in out.get(key, [])]
        contrast = [flatten(r) for r in out.get("care_vs_sales", [])]
        return Result.from_rows(MODES, rows, title="close rate by previous call and run position",
                                care_vs_sales=contrast[0] if contrast else None)

    def explain_volume(self, where: Where = None, start: str | date | None = None, end: str | date | None = None,
                       low_volume: float = 0.5) -> Result:
        """Per agent: leads touched, sales, close rate, contacts per sale; flags high close on few leads."""
        from closeloop.metrics.explain import volume_vs_conversion

        with self.warehouse() as wh:
            rows = volume_vs_conversion(self.tables(wh), self.conventions(), selection(None, where, start, end),
                                        low_volume)
        return Result.from_rows(VOLUME, [flatten(r) for r in rows], title="volume vs conversion")

    def sla_terms(self, contracts: str | Path | None = None) -> Result:
        """The contract file's terms, validated, one row per term."""
        rows = [{"contract": c.name, "scope": " & ".join(map(str, c.filters)), "judge": c.judge,
                 "metric": t.metric, "direction": t.direction, "target": t.target, "period": t.period,
                 "min_volume": t.min_volume, "weight": t.weight, "penalty": t.penalty,
                 "penalty_per_point": t.penalty_per_point, "bonus": t.bonus}
                for c in self.contracts(contracts) for t in c.terms]
        return Result.from_rows(TERMS, rows, title="contracts")

    def sla_prices(self, contracts: str | Path | None = None) -> Result:
        """The contract file's prices, one row per priced contract (docs/sla.md, "Prices")."""
        from dataclasses import asdict

        rows = [{"contract": c.name, **asdict(c.price)} for c in self.contracts(contracts) if c.price]
        return Result.from_rows(PRICES, rows, title="prices")

    def sla_check(self, period: str | None = None, start: str | date | None = None, end: str | date | None = None,
                  contracts: str | Path | None = None, summary: bool = False,
                  progress: Progress | None = None) -> Result:
        """Judge every contract term per period: value, interval, target, status, margin.

        Extras: ``failed`` (how many term-periods failed), ``passed``, ``not_judged``,
        ``penalties`` (what the breaches cost under the contracts) and ``bonuses`` (earned).
        """
        from closeloop.contracts import FAIL, check_contracts, summarise

        terms = self.contracts(contracts)
        sel = selection(None, None, start, end, period)
        conv = self.conventions()
        with self.fact_tables(conv, progress or _quiet()) as tables:
            results = check_contracts(tables, conv, terms, sel.start, sel.end)
        counts: dict[str, float] = {"failed": sum(r.status == FAIL for r in results),
                  "passed": sum(r.status == "pass" for r in results)}
        counts["not_judged"] = len(results) - counts["failed"] - counts["passed"]
        counts["penalties"] = sum(-r.money for r in results if r.money < 0)
        counts["bonuses"] = sum(r.money for r in results if r.money > 0)
        if summary:
            return Result.from_rows(SLA_SUMMARY, summarise(results), title="SLA summary", **counts)
        rows = []
        for r in results:
            row = r.row()
            low, high = row.pop("ci") or (None, None)
            rows.append(row | {"low": low, "high": high})
        return Result.from_rows(SLA, rows, title="SLA check", **counts)

    def report(self, out: str | Path = "report.html", period: str | None = None, start: str | date | None = None,
               end: str | date | None = None, where: Where = None, contracts: str | Path | None = None,
               title: str | None = None, progress: Progress | None = None, vendor: str | None = None) -> ReportResult:
        """Write the self-contained HTML report; contracts.toml in the workspace adds the SLA section.

        ``vendor``: the vendor review pack — only that vendor's calls and contracts, with its
        trend since the contract start; ``period`` may then be ``week`` or ``month`` (the
        latest one in the data).
        """
        from closeloop.metrics import Selection
        from closeloop.metrics.selection import Filter
        from closeloop.outputs import check_target, owned_paths, write_text
        from closeloop.report import ReportContext, render_report
        from closeloop.report.vendor import latest_period, vendor_contracts

        check_target(Path(out), owned_paths(self.settings))  # refuse a bad target before the work
        latest = period in ("week", "month")
        sel = selection(None, where, start, end, None if latest else period)
        if vendor:
            sel = Selection(filters=(*sel.filters, Filter("vendor", (vendor,))), start=sel.start, end=sel.end)
        terms = None
        if contracts is not None or (self.root / "contracts.toml").is_file():
            terms = self.contracts(contracts)
            terms = vendor_contracts(terms, vendor) if vendor else terms
        conv = self.conventions()
        steps = progress or _quiet()
        with self.fact_tables(conv, steps) as tables:
            steps.step("building the report")
            title = title or (f"Vendor review: {vendor}" if vendor else None)
            extra: dict[str, Any] = {"title": title} if title else {}  # else the report's default title
            ctx = ReportContext(tables, conv, sel, terms, **extra)
            if latest:
                first, last = latest_period(ctx, str(period))
                ctx = ReportContext(tables, conv, Selection(filters=sel.filters, start=first, end=last), terms,
                                    **extra)
            rep = render_report(ctx)
        path = Path(out)
        write_text(path, rep.html, owned_paths(self.settings))
        return ReportResult(path, len(rep.html.encode("utf-8")), list(rep.summary))


def _quiet() -> Progress:
    from closeloop.workspace.base import QUIET

    return QUIET
