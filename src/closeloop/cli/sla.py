"""``closeloop sla``: judge vendor contracts (contracts.toml) per period; exit 1 on any failure."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for
from closeloop.cli.scorecard import conventions, flat, parse_day, refresh_facts
from closeloop.contracts import FAIL, check_contracts, parse_contracts, summarise
from closeloop.contracts.pricing import price_row
from closeloop.errors import ConfigError, InputError
from closeloop.metrics import Tables
from closeloop.settings import Settings
from closeloop.warehouse import open_warehouse

sla_app = typer.Typer(help="Service-level agreements: check each vendor's contract terms per period.",
                      no_args_is_help=True)

ContractsOpt = Annotated[
    Path | None, typer.Option("--contracts", help="Contract file (default: contracts.toml in the workspace).")
]


def period_range(text: str | None) -> tuple[date | None, date | None]:
    """``2024-03`` (a month), ``2024-W10`` (an ISO week) or ``2024-03-04`` (a day) -> (first, last) day."""
    if not text:
        return None, None
    if m := re.fullmatch(r"(\d{4})-W(\d{1,2})", text):
        try:
            first = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise InputError(f"--period {text!r}: no such ISO week") from None
        return first, first + timedelta(days=6)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise InputError(f"--period {text!r}: month must be 01-12")
        nxt = date(year + month // 12, month % 12 + 1, 1)
        return date(year, month, 1), nxt - timedelta(days=1)
    day = parse_day(text, "--period")
    return day, day


def load_contracts_file(settings: Settings, path: Path | None):
    """Read and parse the contract file; ConfigError saying where it was looked for."""
    file = path or settings.root / "contracts.toml"
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no contract file at {file}: write one (see docs/sla.md, examples/contracts/) or pass --contracts"
        ) from None
    return parse_contracts(text, str(file))


@sla_app.command("check")
def check_cmd(
    period: Annotated[
        str | None, typer.Option("--period", help="Only this period: 2024-03 (month), 2024-W10 (week) or a day.")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD).")] = None,
    contracts: ContractsOpt = None,
    summary: Annotated[bool, typer.Option("--summary", help="One row per contract and period instead of per term.")]
    = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Judge every contract term per period: value, CI, target, pass/fail/not-enough-data, margin.

    Each row carries the money the verdict moves under the contract: ``penalty`` (what the
    breach costs: penalty + penalty_per_point x points short) or ``bonus`` (earned by a met
    term). Exits 1 when any term fails (for cron and CI), 0 otherwise; not-enough-data is not
    a failure.
    """
    settings = settings_for(workspace)
    terms = load_contracts_file(settings, contracts)
    first, last = period_range(period)
    first = first or parse_day(start, "--from")
    last = last or parse_day(end, "--to")
    refresh_facts(settings, conventions(settings))
    with open_warehouse(settings, read_only=True) as wh:
        results = check_contracts(Tables.from_backend(wh.ibis()), conventions(settings), terms, first, last)
    if not results:
        console(stderr=True).print("no calls in any contract's scope for the selected period(s)")
    rows = summarise(results) if summary else [r.row() for r in results]
    if fmt is OutputFormat.csv:  # a term with no CI still gets ci_low/ci_high: every CSV row has every column
        rows = flat([{**r, "ci": r["ci"] or [None, None]} if "ci" in r else r for r in rows])
    elif fmt is OutputFormat.table and not summary:
        rows = [_pretty(r) for r in rows]
    emit_rows(rows, fmt, title="SLA check")
    failed = [r for r in results if r.status == FAIL]
    if fmt is OutputFormat.table:
        console(stderr=True).print(
            f"{len(results)} term-periods: {len(failed)} failed, "
            f"{sum(r.status == 'pass' for r in results)} passed, "
            f"{sum(r.status not in ('pass', FAIL) for r in results)} not judged; "
            f"breaches cost {sum(-r.money for r in results if r.money < 0):,.2f}, "
            f"bonuses earned {sum(r.money for r in results if r.money > 0):,.2f}"
        )
    if failed:
        raise typer.Exit(1)


def _pretty(r: dict) -> dict:
    ci = r.pop("ci")
    if ci and None not in ci:
        r["ci"] = f"[{ci[0]:.3f}-{ci[1]:.3f}]"
    else:
        r["ci"] = ""
    r["target"] = f"{'≥' if r.pop('direction') == 'at_least' else '≤'} {r['target']:g}"
    return r


@sla_app.command("show")
def show_cmd(
    contracts: ContractsOpt = None,
    prices: Annotated[bool, typer.Option("--prices", help="List the contracts' prices instead of their terms.")]
    = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Validate the contract file and list its terms (the table also lists prices; --prices only them)."""
    settings = settings_for(workspace)
    parsed = load_contracts_file(settings, contracts)
    priced = [{"contract": c.name, **price_row(c.price)} for c in parsed if c.price]
    if prices:
        emit_rows(priced, fmt, title="prices")
        return
    rows = [
        {"contract": c.name, "scope": " & ".join(map(str, c.filters)), "judge": c.judge, "metric": t.metric,
         "direction": t.direction, "target": t.target, "period": t.period, "min_volume": t.min_volume,
         "weight": t.weight, "penalty": t.penalty, "penalty_per_point": t.penalty_per_point, "bonus": t.bonus}
        for c in parsed for t in c.terms
    ]
    emit_rows(rows, fmt, title="contracts")
    if priced and fmt is OutputFormat.table:
        emit_rows(priced, fmt, title="prices")


def register(app: typer.Typer) -> None:
    """Add the ``sla`` command group."""
    app.add_typer(sla_app, name="sla")
