"""Scorecard and explanation commands: ``closeloop scorecard`` and ``closeloop explain ...``."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for
from closeloop.cli.money import outsource_cmd
from closeloop.errors import InputError, StorageError
from closeloop.metrics import DEFAULT_METRICS, METRICS, Conventions, ScorecardRequest, Selection, Tables, scorecard
from closeloop.metrics.explain import gap_analysis, mode_switching, volume_vs_conversion
from closeloop.metrics.selection import parse_filter
from closeloop.settings import Settings
from closeloop.warehouse import open_warehouse


class Grain(StrEnum):
    """Time grain of scorecard periods (local time of each center)."""

    day = "day"
    week = "week"
    month = "month"


ByOpt = Annotated[
    str | None, typer.Option("--by", help="Group by these dimensions, comma-separated (e.g. vendor,queue).")
]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD, center local time).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD).")]
WhereOpt = Annotated[
    list[str] | None,
    typer.Option("--where", help="Filter COLUMN=VALUE, COLUMN=V1|V2 or COLUMN!=VALUE; repeat to combine (AND)."),
]
AdjustOpt = Annotated[
    str | None,
    typer.Option("--adjust-for", help="Mix-adjust close rates for these dimensions (e.g. source,product,hour)."),
]
ConfOpt = Annotated[float, typer.Option("--conf", help="Confidence level of intervals.")]


def split(text: str | None) -> tuple[str, ...]:
    """``"a, b"`` -> ``("a", "b")``."""
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def parse_day(text: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option value, or InputError saying which option is wrong."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date (use YYYY-MM-DD)") from None


def selection_from(by: str | None, where: list[str] | None, start: str | None, end: str | None) -> Selection:
    """The Selection the common options describe."""
    return Selection(
        by=split(by), filters=tuple(parse_filter(w) for w in where or []),
        start=parse_day(start, "--from"), end=parse_day(end, "--to"),
    )


def conventions(settings: Settings, **overrides: Any) -> Conventions:
    """The workspace's metric conventions (and default time zone), with overrides."""
    return Conventions.from_settings(settings.metrics, default_timezone=settings.default_timezone, **overrides)


def refresh_facts(settings: Settings, conv: Conventions) -> None:
    """Build the stored per-call facts when the data or conventions changed since they were built.

    Why here: the first scorecard, SLA check or report after an ingest pays for the facts
    once (windows and joins over every call), later ones read them as plain columns. When
    the warehouse cannot be opened for writing (another process holds it, a read-only
    file), nothing is built: metrics are then computed on the fly, with the same results.
    """
    from closeloop.metrics.facts import build_facts, facts_current

    try:
        with open_warehouse(settings, read_only=True) as wh:
            if facts_current(wh.ibis(), conv):
                return
    except StorageError:
        return  # no warehouse yet: the command's own open says so
    try:
        with open_warehouse(settings) as wh:
            backend = wh.ibis()
            if not facts_current(backend, conv):
                with console(stderr=True).status("preparing call facts (once after new data)..."):
                    build_facts(backend, conv)
    except StorageError:
        return


def flat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CSV-friendly rows: each ``[low, high]`` pair becomes ``_low``/``_high`` columns."""
    out = []
    for r in rows:
        f: dict[str, Any] = {}
        for k, v in r.items():
            if isinstance(v, list | tuple) and len(v) == 2:
                f[f"{k}_low"], f[f"{k}_high"] = v
            else:
                f[k] = v
        out.append(f)
    return out


#: What ``--format table`` shows without ``--metrics``: what fits a terminal and answers most questions.
TABLE_METRICS = ("offered", "handled", "service_level", "abandon_rate", "asa_s", "aht_s", "close_rate", "csat")
LABELS = {
    "service_level": "service lvl", "abandon_rate": "abandon", "asa_s": "ASA s", "aht_s": "AHT s",
    "close_rate": "close rate", "csat": "CSAT", "csat_top2": "CSAT 4-5", "first_call_close": "1st-call close",
    "conversion_per_lead": "conv/lead", "revenue_per_call": "revenue/call", "resolution_rate": "resolved",
    "repeat_rate": "repeat", "data_capture": "data capture", "contacts_per_sale": "contacts/sale",
    "leads_per_sale": "leads/sale", "talk_s_per_sale": "talk s/sale", "short_abandons": "short ab.",
    "cost_per_call": "cost/call", "cost_per_sale": "cost/sale", "cost_per_lead": "cost/lead",
}


def _amount(v: float | None) -> str:
    return "…" if v is None else f"{v:,.2f}"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}"


def _cell(r: dict[str, Any], name: str, extra: str = "") -> str:
    """One metric of one row for people: ``54.5% [53.9-55.1] ▲`` for rates, plain numbers otherwise."""
    key = f"{name}_{extra}" if extra else name
    v = r.get(key)
    if f"{key}_ci" in r and name in METRICS and not METRICS[name].is_rate:  # an amount with an interval
        lo, hi = r[f"{key}_ci"]
        return "n/a" if v is None else f"{v:,.2f} [{_amount(lo)}-{_amount(hi)}]"
    if f"{key}_ci" in r:
        if v is None:
            return "n/a"
        lo, hi = r[f"{key}_ci"]
        mark = "" if extra else {"higher": " ▲", "lower": " ▼"}.get(r.get(f"{name}_sig") or "", "")
        return f"{_pct(v)}% [{_pct(lo)}-{_pct(hi)}]{mark}"
    if v is None:
        return "n/a"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"


def table_columns(rows: list[dict[str, Any]], keys: list[str], names: list[str]) -> list[tuple[str, list[str]]]:
    """(header, cells) per column: the group keys, then each metric (and its shrunk/adjusted forms)."""
    cols = [(k, [str(r[k]) if r[k] is not None else "(none)" for r in rows]) for k in keys]
    for n in names:
        label = LABELS.get(n, n)
        if any(f"{n}_ci" in r for r in rows):
            label += " % [95% CI]" if METRICS[n].is_rate else " [95% CI]"
        cols.append((label, [_cell(r, n) for r in rows]))
        for extra in ("shrunk", "adjusted"):
            if any(f"{n}_{extra}" in r for r in rows):
                cols.append((f"{LABELS.get(n, n)} {extra} %", [_cell(r, n, extra) for r in rows]))
    return cols


def print_table(rows: list[dict[str, Any]], keys: list[str], names: list[str], width: int) -> None:
    """Print the scorecard as one or more tables that fit ``width`` columns, each repeating the group keys.

    Why: squeezing twenty metrics into 80 columns folds every header and number into a
    one-character column; splitting keeps each cell on one line.
    """
    from rich.table import Table

    cols = table_columns(rows, keys, names)
    size = [max(len(h.split(" % ")[0]), *(len(c) for c in cells), 4) + 3 for h, cells in cols]
    nkeys = len(keys)
    chunks: list[list[int]] = []
    room = max(width - sum(size[:nkeys]) - 1, 20)
    for i in range(nkeys, len(cols)):
        if not chunks or sum(size[j] for j in chunks[-1]) + size[i] > room:
            chunks.append([])
        chunks[-1].append(i)
    out = console()
    for part, chunk in enumerate(chunks or [[]]):
        title = "scorecard" if len(chunks) < 2 else f"scorecard ({part + 1}/{len(chunks)})"
        table = Table(title=title, show_lines=False)
        for i in [*range(nkeys), *chunk]:
            header = cols[i][0].replace(" % [95% CI]", "\n% [95% CI]").replace(" [95% CI]", "\n[95% CI]")
            table.add_column(header, no_wrap=True, overflow="ellipsis", justify="left" if i < nkeys else "right")
        for r in range(len(rows)):
            table.add_row(*(cols[i][1][r] for i in [*range(nkeys), *chunk]))
        out.print(table)


def scorecard_cmd(
    by: ByOpt = None,
    grain: Annotated[Grain | None, typer.Option("--grain", help="Split into day, week or month periods.")] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Only this period: 2024-03 (month), 2024-W10 (week) or a day.")
    ] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    where: WhereOpt = None,
    metrics: Annotated[
        str | None,
        typer.Option("--metrics", help=f"Metrics, comma-separated, or 'all'. Known: {', '.join(METRICS)}. "
                     f"The table shows {', '.join(TABLE_METRICS)} by default; JSON and CSV every metric."),
    ] = None,
    adjust_for: AdjustOpt = None,
    pvalues: Annotated[str, typer.Option("--pvalues", help="Multiple-comparison correction: holm, bh, none.")] = "holm",
    conf: ConfOpt = 0.95,
    contracts: Annotated[
        Path | None, typer.Option("--contracts", help="Contract file with prices, for the cost metrics "
                                  "(default: contracts.toml in the workspace).")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Metrics by group and period, with 95% Wilson CIs and significance marks.

    Dimensions: center_id, vendor, country, queue, call_type, direction, agent_id, team,
    source, product, outcome, hour, weekday, and any extra call column. The table shows rates
    as percentages with their 95% CI and splits into several tables to fit the terminal;
    n/a means not measurable (no calls in the denominator). Rates marked ▲/▼
    differ from the other groups of the same period beyond noise (two-proportion test,
    Holm-corrected). Grouping by agent_id adds empirical-Bayes shrunk rates; --adjust-for
    adds mix-adjusted close rates (<name>_adjusted in JSON). Cost metrics (cost, cost_per_call,
    cost_per_sale, cost_per_lead, margin) price the calls with the contracts' [contract.price].
    See docs/metrics.md.
    """
    from closeloop.cli.sla import load_contracts_file, period_range

    settings = settings_for(workspace)
    conv = conventions(settings, conf=conf)
    first, last = period_range(period)
    chosen = split(metrics)
    if chosen == ("all",):
        chosen = DEFAULT_METRICS
    default = TABLE_METRICS if fmt is OutputFormat.table else DEFAULT_METRICS
    selection = selection_from(by, where, start, end)
    if first:
        selection = Selection(by=selection.by, filters=selection.filters, start=first, end=last)
    priced = any(METRICS[n].level == "cost" for n in chosen if n in METRICS)
    req = ScorecardRequest(
        selection=selection, grain=grain.value if grain else None,
        metrics=chosen or default, adjust_for=split(adjust_for), pvalue_method=pvalues,
        contracts=tuple(load_contracts_file(settings, contracts)) if priced else (),
    )
    refresh_facts(settings, conv)
    with open_warehouse(settings, read_only=True) as wh:
        card = scorecard(Tables.from_backend(wh.ibis()), conv, req)
    if fmt is OutputFormat.json:
        emit_rows(card.rows, fmt)
        return
    if fmt is OutputFormat.csv:
        emit_rows(flat(card.rows), fmt)
        return
    print_table(card.rows, card.keys, [m.name for m in card.metrics], console().width)
    err = console(stderr=True)
    if not chosen:
        err.print("showing the common metrics; choose others with --metrics NAME,... (or --metrics all); "
                  "--format json or csv gives every metric")
    for t in card.tests:
        if t["significant"]:
            when = f" in {t['period']}" if t["period"] else ""
            err.print(f"{t['metric']}: groups differ beyond noise{when} (chi2 p={t['pvalue']:.2g})")
    for note in card.notes:
        err.print(f"note: {note}")


explain_app = typer.Typer(help="Explain a gap: mix vs performance, mode switching, volume vs conversion.",
                          no_args_is_help=True)


@explain_app.command("gap")
def gap_cmd(
    dimension: Annotated[str, typer.Argument(help="Dimension the two groups belong to, e.g. vendor.")],
    a: Annotated[str, typer.Argument(help="First group (e.g. in-house).")],
    b: Annotated[str, typer.Argument(help="Second group (e.g. offshore-co).")],
    adjust_for: Annotated[
        str, typer.Option("--adjust-for", help="Mix dimensions, e.g. source,product,hour.")
    ] = "source",
    metric_name: Annotated[str, typer.Option("--metric", help="Rate to decompose.")] = "close_rate",
    start: FromOpt = None,
    end: ToOpt = None,
    where: WhereOpt = None,
    conf: ConfOpt = 0.95,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Split the gap between A and B into mix (different calls) and performance (same calls, worse)."""
    settings = settings_for(workspace)
    conv = conventions(settings, conf=conf)
    with open_warehouse(settings, read_only=True) as wh:
        rep = gap_analysis(Tables.from_backend(wh.ibis()), conv, dimension, a, b, split(adjust_for),
                           selection_from(None, where, start, end), metric_name)
    g = rep.gap
    summary = {
        "a": a, "b": b, "rate_a": g.rate_a, "rate_b": g.rate_b, "gap": g.gap, "gap_ci": list(g.gap_ci),
        "mix": g.mix, "mix_ci": list(g.mix_ci), "performance": g.performance,
        "performance_ci": list(g.performance_ci), "performance_pvalue": g.performance_pvalue,
        "adjusted_a": rep.adjusted[a][0], "adjusted_b": rep.adjusted[b][0],
    }
    if fmt is not OutputFormat.table:
        emit_rows([summary] if fmt is OutputFormat.json else flat([summary]), fmt)
        return
    out = console()
    out.print(f"{rep.metric} {dimension}: {a} {g.rate_a:.3f} vs {b} {g.rate_b:.3f}; gap {g.gap:+.3f} "
              f"[{g.gap_ci[0]:+.3f}, {g.gap_ci[1]:+.3f}]")
    out.print(f"  mix (different {', '.join(rep.covariates)}): {g.mix:+.3f} [{g.mix_ci[0]:+.3f}, {g.mix_ci[1]:+.3f}]")
    verdict = "more than noise" if g.performance_pvalue < 0.05 else "within noise"
    out.print(f"  performance (same calls): {g.performance:+.3f} [{g.performance_ci[0]:+.3f}, "
              f"{g.performance_ci[1]:+.3f}] — {verdict} (p={g.performance_pvalue:.2g})")
    emit_rows(rep.levels, fmt, title="mix by level")


@explain_app.command("modes")
def modes_cmd(
    break_minutes: Annotated[float, typer.Option(help="Idle minutes after which a call starts afresh.")] = 60.0,
    by: ByOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    where: WhereOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Close rate of sales calls by the agent's previous call (care/sales) and run position."""
    settings = settings_for(workspace)
    conv = conventions(settings)
    if by:
        raise InputError("explain modes does not group yet; use --where to select a vendor or center")
    with open_warehouse(settings, read_only=True) as wh:
        out = mode_switching(Tables.from_backend(wh.ibis()), conv, selection_from(None, where, start, end),
                             break_minutes)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    for key, rows in out.items():
        emit_rows(rows if fmt is OutputFormat.table else flat(rows), fmt, title=f"close rate by {key}")


@explain_app.command("volume")
def volume_cmd(
    start: FromOpt = None,
    end: ToOpt = None,
    where: WhereOpt = None,
    low_volume: Annotated[float, typer.Option(help="Flag below this share of the team's median leads.")] = 0.5,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Per agent: leads touched, sales, close rate, contacts per sale; flags high close on few leads."""
    settings = settings_for(workspace)
    conv = conventions(settings)
    with open_warehouse(settings, read_only=True) as wh:
        rows = volume_vs_conversion(Tables.from_backend(wh.ibis()), conv, selection_from(None, where, start, end),
                                    low_volume)
    emit_rows(rows if fmt is OutputFormat.json else flat(rows), fmt, title="volume vs conversion")


explain_app.command("outsource")(outsource_cmd)


def register(app: typer.Typer) -> None:
    """Add ``scorecard`` and the ``explain`` group to the root app."""
    app.command("scorecard")(scorecard_cmd)
    app.add_typer(explain_app, name="explain")
