"""The digital twin as use-cases: ``Workspace.calibrate`` (a scenario from the workspace's calls)
and ``Workspace.validate_twin`` (simulated vs observed, per queue and hour).

Reading the calls is here; every estimate lives in :mod:`closeloop.sim.calibrate` and
:mod:`closeloop.sim.twin` (pure). docs/simulator.md, "The digital twin", says what each
figure is and where the twin misses on the real bank month.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from closeloop.errors import InputError
from closeloop.results import Column, Result, Schema, schema_of
from closeloop.workspace.base import Base

CALIBRATION = schema_of("calibration", [
    ("queue", "str", "queue"), ("calls", "int", "inbound calls used"),
    ("callbacks", "int", "calls found to be call-backs after an abandon"),
    ("busyness_sd", "float", "day-to-day arrival multiplier: standard deviation"),
    ("talk", "str", "the talk-time distribution chosen (family and mean)"),
    ("talk_ks", "float", "its Kolmogorov-Smirnov distance to the data (share of calls misplaced)"),
    ("patience", "str", "the patience distribution (abandonment as the event, served callers censored)"),
    ("retrial_prob", "float", "probability an abandoning caller calls back"),
])

_TWIN_METRICS = ("service_level", "asa", "abandonment", "occupancy")


def _validation_schema() -> Schema:
    cols = [Column("queue", "str", "queue, or 'all'"), Column("hour", "str", "hour of day (local), or 'all'"),
            Column("offered", "int", "observed calls offered"),
            Column("sim_offered", "float", "simulated calls offered (mean over replications)")]
    for m in _TWIN_METRICS:
        cols += [Column(f"{m}_obs", "float", f"{m}: observed"),
                 Column(f"{m}_obs_lo", "float", f"{m}: observed, lower end (days as clusters, 95%)"),
                 Column(f"{m}_obs_hi", "float", f"{m}: observed, upper end"),
                 Column(f"{m}_sim", "float", f"{m}: simulated mean"),
                 Column(f"{m}_sim_lo", "float", f"{m}: simulated, lower end (t over replications, 95%)"),
                 Column(f"{m}_sim_hi", "float", f"{m}: simulated, upper end"),
                 Column(f"{m}_verdict", "str", f"{m}: agrees, differs (beyond noise) or n/a")]
    return Schema("twin_validation", tuple(cols))


VALIDATION = _validation_schema()


def _day(text: str | date | None, flag: str) -> date | None:
    if text is None or isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag}: {text!r} is not a date like 1999-01-31") from None


class Twin(Base):
    """``calibrate`` and ``validate_twin`` (mixed into Workspace)."""

    def inbound_calls(self, queues: list[str] | None = None, start: datetime | None = None,
                      end: datetime | None = None, centers_only: bool = False) -> tuple[pa.Table, list[dict[str, Any]]]:
        """Inbound calls (some queues, offered in [start, end)) — or just their distinct center ids —
        and the centers' records."""
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
        with self.warehouse() as wh:
            what = "DISTINCT center_id" if centers_only else "*"
            calls = wh.query(f"SELECT {what} FROM calls WHERE {' AND '.join(where)}", params)
            centers = wh.query("SELECT center_id, country, timezone FROM centers").to_pylist()
        return calls, centers

    def calibrate(self, out: str | Path | None = None, queues: list[str] | None = None,
                  start: str | date | None = None, end: str | date | None = None, timezone: str | None = None,
                  caller_column: str | None = "lead_id", sl_threshold_s: float = 20.0,
                  callback_window_s: float = 3600.0, max_ks: float = 0.05, idle_gap_s: float = 1800.0,
                  replay: bool = False, skill_groups: bool = False) -> Result:
        """A digital-twin scenario from the calls in the workspace; one summary row per queue.

        Arrival profiles per queue and half-hour of the week with a day-to-day busyness, talk
        distributions chosen by goodness of fit, patience with abandonment as the event and
        served callers censored, staffing from handled-call concurrency, call-backs. Writes the
        scenario TOML to ``out`` when given. Extras: ``toml``, ``calibration``, ``center``,
        ``timezone``, ``start``, ``days``, ``max_agents``.
        """
        from closeloop.sim.calibrate import calibrate as fit
        from closeloop.sim.calibrate import calls_from_table, day_start, epoch_seconds, period
        from closeloop.sim.twin import to_toml

        first, last = _day(start, "start"), _day(end, "end")
        if first and last and first > last:
            raise InputError(f"start {first} is after end {last}")
        if replay and skill_groups:
            raise InputError("replay and skill groups do not combine yet: choose one")
        if timezone is not None:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InputError(f"timezone: unknown time zone {timezone!r} (an IANA name like Asia/Jerusalem)"
                                 ) from None
        ids, centers = self.inbound_calls(queues, centers_only=True)
        center_ids = sorted(set(ids["center_id"].to_pylist())) if ids.num_rows else []
        known = {c["center_id"]: c for c in centers}
        tz = timezone or next((known[c]["timezone"] for c in center_ids if c in known), "UTC")
        t0 = day_start(datetime.combine(first, datetime.min.time()), tz) if first else None
        t1 = day_start(datetime.combine(last + timedelta(days=1), datetime.min.time()), tz) if last else None
        calls, _ = self.inbound_calls(queues, t0, t1)
        if calls.num_rows == 0:
            raise InputError("no inbound calls in the workspace for these queues and dates: nothing to calibrate")
        offered = epoch_seconds(calls["offered_at"])
        p_start, p_days = period(float(offered.min()), float(offered.max()), tz)
        if t0 is not None:
            p_start = t0
        if t1 is not None:
            p_days = round((t1 - p_start).total_seconds() / 86400)
        c = calls_from_table(calls, p_start, tz, caller_column or None)
        center = center_ids[0] if len(center_ids) == 1 else "center"
        cal = fit(c, center, tz, p_start, p_days, sl_threshold_s, callback_window_s, max_ks, idle_gap_s, replay,
                  skill_groups)
        cal.country = known.get(center, {}).get("country") or "US"
        toml = to_toml(cal, f"{calls.num_rows:,} calls from the workspace")
        if out is not None:
            from closeloop.outputs import write_text

            write_text(Path(out), toml)
        rows = [{"queue": q.name, "calls": q.calls, "callbacks": q.callbacks, "busyness_sd": q.busyness_sd,
                 "talk": f"{q.talk.kind} {q.talk.mean():.0f}s", "talk_ks": q.talk_fits[0].ks,
                 "patience": f"{q.patience.kind} {q.patience.mean():.0f}s" if q.patience else "none",
                 "retrial_prob": q.retrial_prob} for q in cal.queues]
        return Result.from_rows(CALIBRATION, rows, title=f"twin of {center}: {p_days} days from {p_start.date()} "
                                f"({tz}), up to {max(cal.staffing)} agents", toml=toml, calibration=cal,
                                center=center, timezone=tz, start=p_start, days=p_days,
                                max_agents=max(cal.staffing))

    def validate_twin(self, scenario: str | Path, replications: int = 8, seed: int | None = None,
                      engine: str = "auto") -> Result:
        """Replay a scenario's period and compare it with the workspace's calls, per queue and hour.

        Both sides are computed by the same function from call records; days are clusters for
        the observed intervals, replications for the simulated ones; a verdict says whether a
        difference is more than noise. Extras: ``scenario`` (its name), ``observed_calls``.
        """
        from closeloop.sim.runner import check_engine
        from closeloop.sim.scenario import validate
        from closeloop.sim.twin import hourly, simulated_hourly, validate_twin
        from closeloop.workspace.simulation import read_scenario

        check_engine(engine)
        s = read_scenario(scenario)
        if seed is not None:
            s.seed = seed
        validate(s)
        days = math.ceil(s.days)
        names = [q.name for q in s.queues if not q.outbound]
        calls, _ = self.inbound_calls(names, s.start, s.start + timedelta(days=days))
        if calls.num_rows == 0:
            raise InputError(f"no observed inbound calls of queues {names} from {s.start} for {days} days in the "
                             "workspace: nothing to validate against")
        thresholds = {q.name: q.sl_threshold_s for q in s.queues if not q.outbound}
        observed = hourly(calls, s.timezone, s.start, days, thresholds)
        rows = validate_twin(observed, simulated_hourly(s, replications, seed, engine), names)
        # occupancy rows carry the observed value as "occupancy"; the declared column is occupancy_obs
        rows = [{("occupancy_obs" if k == "occupancy" else k): v for k, v in r.items()} for r in rows]
        return Result.from_rows(VALIDATION, rows, title=f"{s.name}: observed vs simulated, 95% intervals",
                                scenario=s.name, observed_calls=calls.num_rows)
