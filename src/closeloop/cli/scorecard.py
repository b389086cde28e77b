"""Scorecard and explanation commands: ``closeloop scorecard`` and ``closeloop explain ...``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import (
    FormatOpt,
    OutOpt,
    OutputFormat,
    TerminalProgress,
    WorkspaceOpt,
    check_output,
    console,
    emit,
    workspace_for,
)
from closeloop.cli.money import outsource_cmd
from closeloop.errors import InputError
from closeloop.metrics import METRICS


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
    if f"{key}_low" in r and name in METRICS and not METRICS[name].is_rate:  # an amount with an interval
        return "n/a" if v is None else f"{v:,.2f} [{_amount(r[f'{key}_low'])}-{_amount(r[f'{key}_high'])}]"
    if f"{key}_low" in r:
        if v is None:
            return "n/a"
        mark = "" if extra else {"higher": " ▲", "lower": " ▼"}.get(r.get(f"{name}_sig") or "", "")
        return f"{_pct(v)}% [{_pct(r[f'{key}_low'])}-{_pct(r[f'{key}_high'])}]{mark}"
    if v is None:
        return "n/a"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"


def table_columns(rows: list[dict[str, Any]], keys: list[str], names: list[str],
                  conf: float = 0.95) -> list[tuple[str, list[str]]]:
    """(header, cells) per column: the group keys, then each metric (and its shrunk/adjusted forms)."""
    cols = [(k, [str(r[k]) if r[k] is not None else "(none)" for r in rows]) for k in keys]
    for n in names:
        label = LABELS.get(n, n)
        if any(f"{n}_low" in r for r in rows):
            label += f" % [{conf:.0%} CI]" if METRICS[n].is_rate else f" [{conf:.0%} CI]"
        cols.append((label, [_cell(r, n) for r in rows]))
        for extra in ("shrunk", "adjusted"):
            if any(f"{n}_{extra}" in r for r in rows):
                cols.append((f"{LABELS.get(n, n)} {extra} %", [_cell(r, n, extra) for r in rows]))
    return cols


def print_table(rows: list[dict[str, Any]], keys: list[str], names: list[str], width: int,
                conf: float = 0.95) -> None:
    """Print the scorecard as one or more tables that fit ``width`` columns, each repeating the group keys.

    Why: squeezing twenty metrics into 80 columns folds every header and number into a
    one-character column; splitting keeps each cell on one line.
    """
    from rich.table import Table

    cols = table_columns(rows, keys, names, conf)
    ci = f" % [{conf:.0%} CI]"
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
            head = cols[i][0]
            header = head.replace(ci, "\n" + ci.strip()) if ci in head else head.replace(ci[2:], "\n" + ci[3:])
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
                     f"The table shows {', '.join(TABLE_METRICS)} by default; JSON, CSV and Parquet every metric."),
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
    out: OutOpt = None,
) -> None:
    """Metrics by group and period, with Wilson CIs (--conf, 95% by default) and significance marks.

    Dimensions: center_id, vendor, country, queue, call_type, direction, agent_id, team,
    source, product, outcome, hour, weekday, and any extra call column. The table shows rates
    as percentages with their CI and splits into several tables to fit the terminal;
    n/a means not measurable (no calls in the denominator). Rates marked ▲/▼ differ from the
    other groups of the same period beyond noise (two-proportion test, Holm-corrected, at
    1 - conf). Grouping by agent_id adds empirical-Bayes shrunk rates; --adjust-for adds
    mix-adjusted close rates (<name>_adjusted in JSON). Every row has every column
    (<rate>_low/_high, _sig, _p...). Cost metrics (cost, cost_per_call, cost_per_sale,
    cost_per_lead, margin) price the calls with the contracts' [contract.price]. See
    docs/metrics.md.
    """
    check_output(fmt, out)
    chosen = metrics or (",".join(TABLE_METRICS) if fmt is OutputFormat.table else None)
    with TerminalProgress() as progress:
        card = workspace_for(workspace).scorecard(
            by=by, grain=grain.value if grain else None, metrics=chosen, adjust_for=adjust_for, where=where,
            period=period, start=start, end=end, conf=conf, pvalues=pvalues, progress=progress, contracts=contracts)
    if fmt is not OutputFormat.table:
        emit(card, fmt, out)
        return
    print_table(card.rows(), card.keys, [m.name for m in card.metrics], console().width, conf)
    err = console(stderr=True)
    if not metrics:
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
    out: OutOpt = None,
) -> None:
    """Split the gap between A and B into mix (different calls) and performance (same calls, worse)."""
    check_output(fmt, out)
    rep = workspace_for(workspace).explain_gap(dimension, a, b, adjust_for=adjust_for, metric=metric_name,
                                               where=where, start=start, end=end, conf=conf)
    if fmt is not OutputFormat.table:
        emit(rep, fmt, out)
        return
    (g,) = rep.rows()
    term = console()
    pct = f"{conf:.0%}"
    term.print(f"{rep.metric} {dimension}: {a} {g['rate_a']:.3f} vs {b} {g['rate_b']:.3f}; gap {g['gap']:+.3f} "
               f"[{g['gap_low']:+.3f}, {g['gap_high']:+.3f}] ({pct} CI)")
    term.print(f"  mix (different {', '.join(rep.covariates)}): {g['mix']:+.3f} "
               f"[{g['mix_low']:+.3f}, {g['mix_high']:+.3f}]")
    verdict = "more than noise" if g["performance_pvalue"] < 1 - conf else "within noise"
    term.print(f"  performance (same calls): {g['performance']:+.3f} [{g['performance_low']:+.3f}, "
               f"{g['performance_high']:+.3f}] — {verdict} (p={g['performance_pvalue']:.2g})")
    emit(rep.levels, fmt)


@explain_app.command("modes")
def modes_cmd(
    break_minutes: Annotated[float, typer.Option(help="Idle minutes after which a call starts afresh.")] = 60.0,
    by: ByOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    where: WhereOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """Close rate of sales calls by the agent's previous call (care/sales) and run position."""
    if by:
        raise InputError("explain modes does not group yet; use --where to select a vendor or center")
    rep = workspace_for(workspace).explain_modes(break_minutes, where=where, start=start, end=end)
    emit(rep, fmt, out)
    d = rep.care_vs_sales
    if fmt is OutputFormat.table and d:
        console().print(f"after a care call vs after a sales call: {d['difference']:+.3f} "
                        f"[{d['difference_low']:+.3f}, {d['difference_high']:+.3f}] (p={d['pvalue']:.2g})")


@explain_app.command("volume")
def volume_cmd(
    start: FromOpt = None,
    end: ToOpt = None,
    where: WhereOpt = None,
    low_volume: Annotated[float, typer.Option(help="Flag below this share of the team's median leads.")] = 0.5,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """Per agent: leads touched, sales, close rate, contacts per sale; flags high close on few leads."""
    emit(workspace_for(workspace).explain_volume(where=where, start=start, end=end, low_volume=low_volume), fmt, out)


explain_app.command("outsource")(outsource_cmd)


def register(app: typer.Typer) -> None:
    """Add ``scorecard`` and the ``explain`` group to the root app."""
    app.command("scorecard")(scorecard_cmd)
    app.add_typer(explain_app, name="explain")
