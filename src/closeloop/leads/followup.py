"""The follow-up loop's rules: when a prospect who did not buy is called again, if ever.

A call that ends in ``callback`` (the prospect asked to be called back), ``no_sale`` with
interest, or ``no_answer`` (not reached yet) creates a follow-up due after a cadence delay
(24 h, then 3 and 7 days by default), moved into the calling window of the **lead's** local
time zone (not the agent's), never to a number on the do-not-call list, and never beyond the
maximum number of attempts. The decision is a pure function so the simulator, the live queue
and the tests apply the same rules.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from closeloop.errors import InputError
from closeloop.model import Outcome

# One representative zone per country, for leads whose number does not pin a zone down.
_COUNTRY_ZONE = {
    "US": "America/New_York", "CA": "America/Toronto", "GB": "Europe/London", "IE": "Europe/Dublin",
    "FR": "Europe/Paris", "DE": "Europe/Berlin", "ES": "Europe/Madrid", "PT": "Europe/Lisbon", "IT": "Europe/Rome",
    "NL": "Europe/Amsterdam", "BE": "Europe/Brussels", "MX": "America/Mexico_City", "BR": "America/Sao_Paulo",
    "AR": "America/Argentina/Buenos_Aires", "CO": "America/Bogota", "PH": "Asia/Manila", "IN": "Asia/Kolkata",
    "AU": "Australia/Sydney", "NZ": "Pacific/Auckland", "ZA": "Africa/Johannesburg", "JP": "Asia/Tokyo",
    "SG": "Asia/Singapore", "AE": "Asia/Dubai", "PL": "Europe/Warsaw", "SE": "Europe/Stockholm",
}


class Action(StrEnum):
    """What happens to a lead after an attempt."""

    SCHEDULE = "schedule"  # a follow-up is due at ``due_at``
    CLOSE = "close"  # the loop ends normally (sale, not interested)
    STOP = "stop"  # the loop ends by rule (do-not-call, attempts exhausted)


@dataclass(frozen=True)
class CadenceRules:
    """When and how often to follow up, and when calling is allowed (lead's local time)."""

    delays_h: tuple[float, ...] = (24.0, 72.0, 168.0)
    max_attempts: int = 4
    window_start: time = time(9, 0)
    window_end: time = time(20, 0)
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(6)))  # Mon=0 .. Sat=5
    retry_no_answer: bool = True

    def __post_init__(self) -> None:
        if not self.delays_h or any(d <= 0 for d in self.delays_h):
            raise InputError("cadence delays must be positive hours, e.g. 24,72,168")
        if self.max_attempts < 1:
            raise InputError("max attempts must be at least 1")
        if self.window_start >= self.window_end:
            raise InputError(f"calling window {self.window_start}-{self.window_end} is empty")
        if not self.weekdays or not set(self.weekdays) <= set(range(7)):
            raise InputError("calling days must be a non-empty subset of 0 (Monday) .. 6 (Sunday)")

    def delay(self, attempt_no: int) -> timedelta:
        """Delay after attempt ``attempt_no`` (1-based); the last delay repeats."""
        return timedelta(hours=self.delays_h[min(attempt_no, len(self.delays_h)) - 1])


@dataclass(frozen=True)
class Decision:
    """The outcome of applying the rules to one attempt."""

    action: Action
    reason: str
    due_at: datetime | None = None
    attempt_no: int | None = None  # the number the follow-up attempt will carry


def lead_timezone(phone_e164: str | None, country: str | None, default: str = "UTC") -> str:
    """The lead's IANA zone: from the number where it names one zone, else the country, else ``default``."""
    if phone_e164:
        try:
            number = phonenumbers.parse(phone_e164)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None:
            zones = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
            if zones and _equivalent(zones):
                known = [z for z in zones if z in _COUNTRY_ZONE.values()]
                return (known or zones)[0]
            country = country or phonenumbers.region_code_for_number(number)
    if country and country.upper() in _COUNTRY_ZONE:
        return _COUNTRY_ZONE[country.upper()]
    return default


def _equivalent(zones: list[str]) -> bool:
    """True when the zones keep the same clock (winter and summer), e.g. London and Jersey."""
    probes = (datetime(2025, 1, 15, 12, tzinfo=UTC), datetime(2025, 7, 15, 12, tzinfo=UTC))
    try:
        offsets = {tuple(p.astimezone(ZoneInfo(z)).utcoffset() for p in probes) for z in zones}
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return len(offsets) == 1


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {name!r}") from exc


def in_window(at: datetime, tz: str, rules: CadenceRules) -> bool:
    """True when ``at`` falls inside the calling window in zone ``tz``."""
    local = at.astimezone(_zone(tz))
    return local.weekday() in rules.weekdays and rules.window_start <= local.time() < rules.window_end


def next_in_window(at: datetime, tz: str, rules: CadenceRules) -> datetime:
    """The first moment at or after ``at`` (aware) inside the lead's calling window, in UTC."""
    if at.tzinfo is None:
        raise InputError("follow-up times must carry a time zone")
    zone = _zone(tz)
    local = at.astimezone(zone)
    for day in range(8):
        date = (local + timedelta(days=day)).date()
        if date.weekday() not in rules.weekdays:
            continue
        start = datetime.combine(date, rules.window_start, tzinfo=zone)
        end = datetime.combine(date, rules.window_end, tzinfo=zone)
        if day == 0 and local >= end:
            continue
        return max(start, local).astimezone(UTC) if day == 0 else start.astimezone(UTC)
    raise InputError("no calling window in the next week; check the calling days")  # unreachable when valid


def plan_followup(outcome: Outcome | str, attempt_no: int, ended_at: datetime, tz: str, rules: CadenceRules,
                  phone: str | None = None, dnc: Collection[str] = (), interested: bool = False,
                  requested_at: datetime | None = None) -> Decision:
    """Decide what follows attempt ``attempt_no`` that ended at ``ended_at`` with ``outcome``.

    ``requested_at`` is a time the prospect asked to be called back at; it replaces the cadence
    delay but still has to fall inside the calling window.
    """
    outcome = Outcome(outcome)
    if outcome is Outcome.SALE:
        return Decision(Action.CLOSE, "sale")
    if phone is not None and phone in dnc:
        return Decision(Action.STOP, "do_not_call")
    wants = outcome is Outcome.CALLBACK or (outcome is Outcome.NO_SALE and interested) or (
        outcome is Outcome.NO_ANSWER and rules.retry_no_answer)
    if not wants:
        return Decision(Action.CLOSE, "not_interested" if outcome is Outcome.NO_SALE else f"outcome_{outcome}")
    if attempt_no >= rules.max_attempts:
        return Decision(Action.STOP, "max_attempts")
    earliest = requested_at if requested_at is not None else ended_at + rules.delay(attempt_no)
    earliest = max(earliest, ended_at)
    return Decision(Action.SCHEDULE, str(outcome), next_in_window(earliest, tz, rules), attempt_no + 1)
