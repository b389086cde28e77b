"""``closeloop explain outsource``: what moving a segment of calls to another party would change.

A thin edge over :meth:`closeloop.workspace.Workspace.explain_outsource`; registered in the
``explain`` group by :mod:`closeloop.cli.scorecard`.
"""

from __future__ import annotations

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
    json_text,
    workspace_for,
)


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
    out: OutOpt = None,
) -> None:
    """Estimate moving a segment of today's calls to another party, before anyone signs.

    For each candidate: the close rate it would reach on this segment's mix (mix-adjusted,
    with interval; flagged when it has too little comparable history), sales and revenue
    gained or lost, cost under its contract vs today's, net gain, and the agents the
    segment's busiest hour needs (Erlang C). The assumptions are printed with the result.
    """
    from closeloop.errors import InputError

    parties = [*([to] if to else []), *(p.strip() for p in (compare or "").split(",") if p.strip())]
    if not parties:
        raise InputError("name the receiving party with --to PARTY (or several with --compare A,B)")
    check_output(fmt, out)
    with TerminalProgress() as progress:
        est = workspace_for(workspace).explain_outsource(
            segment, parties, by=by, adjust_for=adjust_for, min_history=min_history, where=where, period=period,
            contracts=contracts, conf=conf, progress=progress)
    if fmt is OutputFormat.json and out is None:
        typer.echo(json_text({"segment": est.segment, "today": est.today, "candidates": est.rows(),
                              "assumptions": est.assumptions, "notes": est.notes}))
        return
    if fmt is not OutputFormat.table:
        emit(est, fmt, out)
        return
    _print(est, est.rows())


def _money(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f}"


def _span(r: dict[str, Any], key: str, fmt: str = "{:,.0f}") -> str:
    """``[low to high]`` of ``key`` in a flat row (empty when unknown or a single value)."""
    lo, hi = r.get(f"{key}_low"), r.get(f"{key}_high")
    if lo is None or hi is None or fmt.format(lo) == fmt.format(hi):
        return ""
    return f"[{fmt.format(lo)} to {fmt.format(hi)}]"


def _print(est: Any, rows: list[dict[str, Any]]) -> None:
    t = est.today
    out = console()
    who = ", ".join(f"{p} ({n:,})" for p, n in t["parties"].items()) or "nobody"
    lo, hi = t["close_rate_ci"] or (None, None)
    rate = "n/a" if t["close_rate"] is None else \
        f"{t['close_rate']:.1%} {_span({'r_low': lo, 'r_high': hi}, 'r', '{:.1%}')}"
    out.print(f"segment {est.segment!r}: {t['calls']:,} calls, {t['handled_sales']:,} handled sales calls "
              f"(today: {who}), close rate {rate}, revenue {_money(t['revenue'])}, cost {_money(t['cost'])}",
              markup=False)
    for rank, r in enumerate(rows, 1):
        contract = f"  (contract {r['contract']!r})" if r["contract"] else ""
        out.print(f"\n{rank}. {r['party']}{contract}", markup=False)
        if r["close_rate"] is not None:
            out.print(f"   close rate on the segment's mix  {r['close_rate']:.1%} {_span(r, 'close_rate', '{:.1%}')}"
                      f"  (history: {r['history']:,} handled sales calls, {r['comparable']:,} comparable, "
                      f"{r['coverage']:.0%} of the segment's kinds seen)", markup=False)
            out.print(f"   sales {r['sales_delta']:+,.0f} {_span(r, 'sales_delta')}, revenue "
                      f"{r['revenue_delta']:+,.0f} {_span(r, 'revenue_delta')}", markup=False)
        if r["cost_after"] is not None:
            per_sale = "n/a" if r["cost_per_sale_after"] is None else f"{r['cost_per_sale_after']:,.2f}"
            out.print(f"   cost {_money(r['cost_after'])} {_span(r, 'cost_after')} vs {_money(t['cost'])} today; "
                      f"per sale {per_sale}; net gain {r['net_gain']:+,.0f} {_span(r, 'net_gain')}", markup=False)
        if r["agents_alone"] is not None:
            span = _span(r, "agents_alone", "{}")
            span = f" {span}" if span else ""
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
