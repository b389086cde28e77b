"""``closeloop calibrate``: a digital-twin scenario from the workspace's calls; and the
``simulate --validate`` report. Thin: reading the calls is here, every estimate lives in
:mod:`closeloop.sim.calibrate` and :mod:`closeloop.sim.twin`."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for
from closeloop.errors import InputError


def _date(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag}: {text!r} is not a date like 1999-01-31") from None


def read_calls(workspace: Path | None, queues: list[str] | None, start: datetime | None, end: datetime | None,
               centers_only: bool = False) -> tuple[Any, list[dict[str, Any]]]:
    """Inbound calls of the workspace (optionally some queues, offered in [start, end)) — or with
    ``centers_only`` just their distinct center ids — and the centers' records."""
    from closeloop.warehouse import open_warehouse

    where: list[str] = ["direction = 'inbound'"]
    params: list[object] = []  # queue names and datetimes, bound in order
    if queues:
        where.append(f"queue IN ({', '.join('?' for _ in queues)})")
        params += queues
    if start is not None:
        where.append("offered_at >= ?")
        params.append(start)
    if end is not None:
        where.append("offered_at < ?")
        params.append(end)
    with open_warehouse(settings_for(workspace), read_only=True) as wh:
        what = "DISTINCT center_id" if centers_only else "*"
        calls = wh.query(f"SELECT {what} FROM calls WHERE {' AND '.join(where)}", params)
        centers = wh.query("SELECT center_id, country, timezone FROM centers").to_pylist()
    return calls, centers


def calibrate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Scenario file to write (TOML).")],
    queues: Annotated[str | None, typer.Option(help="Comma-separated queues (default: every inbound queue).")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First day (local date, e.g. 1999-01-01).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day, included (local date).")] = None,
    timezone: Annotated[str | None, typer.Option(help="The center's IANA time zone (default: its centers record, "
                                                      "else UTC).")] = None,
    caller_column: Annotated[str | None, typer.Option(help="Column naming the caller, to find call-backs "
                                                           "(e.g. bank_customer_id); default lead_id.")] = "lead_id",
    sl_threshold: Annotated[float, typer.Option(help="Service-level threshold in seconds for the queues.")] = 20.0,
    callback_window: Annotated[float, typer.Option(help="A call from the same caller within this many seconds "
                                                        "after an abandoned one is its call-back.")] = 3600.0,
    max_ks: Annotated[float, typer.Option(help="Use the data's own quantiles when the best family misplaces more "
                                               "than this share of calls (KS distance).")] = 0.05,
    idle_gap: Annotated[float, typer.Option(help="An agent idle longer than this many seconds between calls "
                                                 "counts as away (staffing from handled calls).")] = 1800.0,
    replay: Annotated[bool, typer.Option("--replay", help="Staff each half-hour of the period as it was "
                                                          "(a staffing plan) instead of a typical week of shifts.")
                      ] = False,
    skill_groups: Annotated[bool, typer.Option("--skill-groups", help="Give each agent the queues it really "
                                                                      "served and staff each skill group (instead "
                                                                      "of one generalist pool).")] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Build a digital-twin scenario from the calls already in the workspace.

    Arrival profiles per queue and half-hour of the week with a day-to-day busyness, talk
    (and wrap-up) distributions chosen by goodness of fit, patience from waits with
    abandonment as the event and served callers censored (Kaplan-Meier, censored maximum
    likelihood), staffing per half-hour from handled-call concurrency, and call-backs.
    Check it with: closeloop simulate OUT --validate. See docs/simulator.md.
    """
    from closeloop.sim.calibrate import calibrate as fit
    from closeloop.sim.calibrate import calls_from_table, day_start, period
    from closeloop.sim.twin import to_toml

    wanted = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    first, last = _date(date_from, "--from"), _date(date_to, "--to")
    if first and last and first > last:
        raise InputError(f"--from {first} is after --to {last}")
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"--timezone: unknown time zone {timezone!r} (use an IANA name like Asia/Jerusalem)"
                             ) from None
    calls, centers = read_calls(workspace, wanted, None, None, centers_only=True)
    center_ids = sorted(set(calls["center_id"].to_pylist())) if calls.num_rows else []
    known = {c["center_id"]: c for c in centers}
    tz = timezone or next((known[c]["timezone"] for c in center_ids if c in known), "UTC")
    start = day_start(datetime.combine(first, datetime.min.time()), tz) if first else None
    end = day_start(datetime.combine(last + timedelta(days=1), datetime.min.time()), tz) if last else None
    calls, _ = read_calls(workspace, wanted, start, end)
    if calls.num_rows == 0:
        raise InputError("no inbound calls in the workspace for these queues and dates: nothing to calibrate")
    from closeloop.sim.calibrate import epoch_seconds

    offered = epoch_seconds(calls["offered_at"])
    p_start, p_days = period(float(offered.min()), float(offered.max()), tz)
    if start is not None:
        p_start = start
    if end is not None:
        p_days = round((end - p_start).total_seconds() / 86400)
    c = calls_from_table(calls, p_start, tz, caller_column or None)
    center = center_ids[0] if len(center_ids) == 1 else "center"
    if replay and skill_groups:
        raise InputError("--replay and --skill-groups do not combine yet: choose one")
    cal = fit(c, center, tz, p_start, p_days, sl_threshold, callback_window, max_ks, idle_gap, replay, skill_groups)
    cal.country = known.get(center, {}).get("country") or "US"
    out.write_text(to_toml(cal, f"{calls.num_rows:,} calls from the workspace"), encoding="utf-8")
    emit_rows(_summary(cal), fmt, title=f"twin of {center}: {p_days} days from {p_start.date()} ({tz}), "
                                          f"up to {max(cal.staffing)} agents -> {out}")


def _summary(cal: Any) -> list[dict[str, Any]]:
    rows = []
    for q in cal.queues:
        rows.append({"queue": q.name, "calls": q.calls, "call-backs": q.callbacks, "busyness sd": q.busyness_sd,
                     "talk": f"{q.talk.kind} {q.talk.mean():.0f}s (D {q.talk_fits[0].ks:.3f})",
                     "patience": f"{q.patience.kind} {q.patience.mean():.0f}s" if q.patience else "none",
                     "retrial p": q.retrial_prob})
    return rows


def print_validation(s: Any, replications: int, seed: int | None, engine: str, workspace: Path | None,
                     fmt: OutputFormat) -> None:
    """Simulated vs observed SL, ASA, abandonment and occupancy per queue and hour (``simulate --validate``)."""
    from closeloop.sim.twin import hourly, simulated_hourly, validate_twin

    days = math.ceil(s.days)
    names = [q.name for q in s.queues if not q.outbound]
    calls, _ = read_calls(workspace, names, s.start, s.start + timedelta(days=days))
    if calls.num_rows == 0:
        raise InputError(f"no observed inbound calls of queues {names} from {s.start} for {days} days in the "
                         "workspace: nothing to validate against")
    err = console(stderr=True)
    err.print(f"validating {s.name}: {replications} replication(s) against {calls.num_rows:,} observed calls")
    observed = hourly(calls, s.timezone, s.start, days, {q.name: q.sl_threshold_s for q in s.queues
                                                         if not q.outbound})
    rows = validate_twin(observed, simulated_hourly(s, replications, seed, engine), names)
    if fmt is not OutputFormat.table:
        emit_rows(rows, fmt)
        return
    title = f"{s.name}: observed vs simulated, 95% intervals"
    emit_rows([_cells(r) for r in rows if r["queue"] != "all"], fmt, title=title)
    emit_rows([_cells(r) for r in rows if r["queue"] == "all"], fmt, title="occupancy: talk time / agents seen on a "
                                                                           "call in each half-hour")


_METRICS = (("service_level", "SL", True), ("asa", "ASA", False), ("abandonment", "aband.", True),
            ("occupancy", "occupancy", True))


def _cells(r: dict[str, Any]) -> dict[str, Any]:
    """One printable row: each metric's observed and simulated value with intervals, and what differs."""
    out: dict[str, Any] = {"queue": r["queue"], "hour": r["hour"]}
    if "offered" in r:
        out["offered obs/sim"] = f"{r['offered']:,}/{r['sim_offered']:,.0f}"
    differs = []
    for m, label, pct in _METRICS:
        if f"{m}_sim" not in r:
            continue
        f = (lambda x: f"{x * 100:.1f}%") if pct else (lambda x: f"{x:.1f}s")
        v = r.get(f"{m}_obs", r.get("occupancy"))
        obs = f(v) if v is not None else ""
        if r.get(f"{m}_obs_lo") is not None:
            obs += f" ({f(r[f'{m}_obs_lo'])}-{f(r[f'{m}_obs_hi'])})"
        sim = f(r[f"{m}_sim"]) if not math.isnan(r[f"{m}_sim"]) else "n/a"
        if not math.isnan(r[f"{m}_sim_lo"]):
            sim += f" ({f(r[f'{m}_sim_lo'])}-{f(r[f'{m}_sim_hi'])})"
        out[f"{label} obs"], out[f"{label} sim"] = obs, sim
        if r[f"{m}_verdict"] == "differs":
            differs.append(label)
    out["differs"] = ", ".join(differs) or "-"
    return out


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the root app."""
    app.command()(calibrate)
