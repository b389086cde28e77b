"""Shifts to on-duty intervals in simulation seconds, read in each center's time zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_days(text: str) -> frozenset[int]:
    """``"mon-fri"`` / ``"sat,sun"`` / ``"mon-sun"`` -> weekday numbers (Monday 0). ValueError if bad."""
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            i, j = _DAYS.index(a), _DAYS.index(b)
            out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        else:
            out.add(_DAYS.index(part))
    if not out:
        raise ValueError(text)
    return frozenset(out)


def parse_time(text: str) -> tuple[int, int]:
    """``"08:30"`` -> (8, 30); ValueError if not HH:MM."""
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(text)
    return int(m.group(1)), int(m.group(2))


def duty_intervals(
    start: datetime, horizon_s: float, timezone: str, shift_start: str, hours: float, days: str,
) -> list[tuple[float, float]]:
    """On-duty (from, to) seconds after ``start`` within [0, horizon), merged where they touch.

    A shift starting the day before ``start`` and running into it counts, so night shifts
    work from the first second.
    """
    if hours >= 24.0 and len(parse_days(days)) == 7:
        return [(0.0, horizon_s)]
    tz = ZoneInfo(timezone)
    hh, mm = parse_time(shift_start)
    weekdays = parse_days(days)
    local0 = start.astimezone(tz).date() - timedelta(days=1)
    out: list[tuple[float, float]] = []
    n_days = int(horizon_s // 86400) + 3
    for d in range(n_days):
        day = local0 + timedelta(days=d)
        if day.weekday() not in weekdays:
            continue
        begin = datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)
        a = (begin - start).total_seconds()
        b = a + hours * 3600.0
        a, b = max(a, 0.0), min(b, horizon_s)
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
