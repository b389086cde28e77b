"""``closeloop explain outsource``: what moving a segment of calls to another party would change.

A thin edge over :func:`closeloop.metrics.outsource.estimate_outsource`; registered in the
``explain`` group by :mod:`closeloop.cli.scorecard`. Heavy imports happen inside the command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for


def outsource_cmd(
    segment: Annotated[str, typer.Option("--segment", help="The calls to move, as a SQL condition over call "
                                         "columns, e.g. \"call_type = 'sales' AND queue = 'soho'\".")],
    to: Annotated[str | None, typer.Option("--to", help="The receiving party (a value of --by, or a contract "
                                           "name).")] = None,
    compare: Annotated[str | None, typer.Option("--compare", help="Several candidates, comma-separated: "
                                                "ranked by net gain.")] = None,
    by: Annotated[str, typer.Option("--by", help="Dimension the parties are values of.")] = "vendor",
    adjust_for: Annotated[str, typer.Option("--adjust-for", help="Mix dimensions the close rate is adjusted "
                                            "for.")] = "source,product",
    min_history: Annotated[int, typer.Option("--min-history", help="Flag a party with fewer handled sales calls "
                                             "of the segment's kinds.")] = 200,
    where: Annotated[list[str] | None, typer.Option("--where", help="Only history matching COLUMN=VALUE "
                                                    "(repeatable).")] = None,
    period: Annotated[str | None, typer.Option("--period", help="Only this period of history: 2024-03, 2024-W10 "
                                               "or a day.")] = None,
    contracts: Annotated[Path | None, typer.Option("--contracts", help="Contract file with prices (default: "
                                                   "contracts.toml in the workspace).")] = None,
    conf: Annotated[float, typer.Option("--conf", help="Confidence level of intervals.")] = 0.95,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Estimate moving a segment of today's calls to another party, before anyone signs.

    For each candidate: the close rate it would reach on this segment's mix (mix-adjusted,
    with interval; flagged when it has too little comparable history), sales and revenue
    gained or lost, cost under its contract vs today's, net gain, and the agents the
    segment's busiest hour needs (Erlang C). The assumptions are printed with the result.
    """
    from closeloop.cli.scorecard import conventions, refresh_facts, selection_from, split
    from closeloop.cli.sla import load_contracts_file, period_range
    from closeloop.errors import InputError
    from closeloop.metrics import Selection, Tables
    from closeloop.metrics.outsource import estimate_outsource
    from closeloop.warehouse import open_warehouse

    parties = [*([to] if to else []), *split(compare)]
    if not parties:
        raise InputError("name the receiving party with --to PARTY (or several with --compare A,B)")
    settings = settings_for(workspace)
    conv = conventions(settings, conf=conf)
    has_file = contracts is not None or (settings.root / "contracts.toml").is_file()
    terms = load_contracts_file(settings, contracts) if has_file else []
    first, last = period_range(period)
    selection = Selection(filters=selection_from(None, where, None, None).filters, start=first, end=last)
    refresh_facts(settings, conv)
    with open_warehouse(settings, read_only=True) as wh:
        est = estimate_outsource(Tables.from_backend(wh.ibis()), conv, terms, segment, parties, by,
                                 split(adjust_for), selection, min_history)
    rows = [c.row() for c in est.candidates]
    if fmt is OutputFormat.json:
        typer.echo(json.dumps({"segment": est.segment, "today": est.today.__dict__, "candidates": rows,
                               "assumptions": est.assumptions, "notes": est.notes}, indent=2, default=_plain))
        return
    if fmt is OutputFormat.csv:
        from closeloop.cli.scorecard import flat

        emit_rows(flat(rows), fmt)
        return
    _print(est, rows)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else str(value)


def _money(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f}"


def _span(ci: Any, fmt: str = "{:,.0f}") -> str:
    if not ci or None in ci or fmt.format(ci[0]) == fmt.format(ci[1]):
        return ""
    return f"[{fmt.format(ci[0])} to {fmt.format(ci[1])}]"


def _print(est: Any, rows: list[dict[str, Any]]) -> None:
    t = est.today
    out = console()
    who = ", ".join(f"{p} ({n:,})" for p, n in t.parties.items()) or "nobody"
    rate = "n/a" if t.close_rate is None else f"{t.close_rate:.1%} {_span(t.close_rate_ci, '{:.1%}')}"
    out.print(f"segment {est.segment!r}: {t.calls:,} calls, {t.handled_sales:,} handled sales calls "
              f"(today: {who}), close rate {rate}, revenue {_money(t.revenue)}, cost {_money(t.cost)}", markup=False)
    for rank, r in enumerate(rows, 1):
        contract = f"  (contract {r['contract']!r})" if r["contract"] else ""
        out.print(f"\n{rank}. {r['party']}{contract}", markup=False)
        if r["close_rate"] is not None:
            out.print(f"   close rate on the segment's mix  {r['close_rate']:.1%} {_span(r['close_rate_ci'], '{:.1%}')}"
                      f"  (history: {r['history']:,} handled sales calls, {r['comparable']:,} comparable, "
                      f"{r['coverage']:.0%} of the segment's kinds seen)", markup=False)
            out.print(f"   sales {r['sales_delta']:+,.0f} {_span(r['sales_delta_ci'])}, revenue "
                      f"{r['revenue_delta']:+,.0f} {_span(r['revenue_delta_ci'])}", markup=False)
        if r["cost_after"] is not None:
            per_sale = "n/a" if r["cost_per_sale_after"] is None else f"{r['cost_per_sale_after']:,.2f}"
            out.print(f"   cost {_money(r['cost_after'])} {_span(r['cost_after_ci'])} vs {_money(t.cost)} today; "
                      f"per sale {per_sale}; net gain {r['net_gain']:+,.0f} {_span(r['net_gain_ci'])}", markup=False)
        if r["agents_alone"] is not None:
            ci = r["agents_alone_ci"]
            span = f" [{ci[0]} to {ci[1]}]" if ci else ""
            out.print(f"   staffing at the busiest hour for {r['service_level_target']:.0%} service level: "
                      f"{r['agents_alone']}{span} agents alone, {r['agents_extra']} more on top of its own traffic",
                      markup=False)
        if r["flag"]:
            out.print(f"   ! {r['flag']}", markup=False)
    err = console(stderr=True)
    err.print("assumptions:", markup=False)
    for a in est.assumptions:
        err.print(f"  - {a}", markup=False)
    for n in est.notes:
        err.print(f"note: {n}", markup=False)
