"""Follow-up rules: cadence, calling windows in the lead's time zone, do-not-call, attempt caps."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.errors import InputError
from closeloop.leads.followup import (
    Action,
    CadenceRules,
    in_window,
    lead_timezone,
    next_in_window,
    plan_followup,
)

RULES = CadenceRules()  # 24 h, 72 h, 168 h; 4 attempts; 09:00-20:00 Mon-Sat
NY = "America/New_York"


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(NY)).astimezone(UTC)


def test_cadence_24h_then_3_then_7_days() -> None:
    t = ny(2025, 3, 4, 10, 0)  # Tuesday
    first = plan_followup("no_sale", 1, t, NY, RULES, interested=True)
    assert (first.action, first.attempt_no, first.due_at) == (Action.SCHEDULE, 2, ny(2025, 3, 5, 10, 0))
    second = plan_followup("callback", 2, first.due_at, NY, RULES)
    assert second.due_at == ny(2025, 3, 8, 10, 0)  # 3 days later, a Saturday: allowed
    third = plan_followup("no_answer", 3, second.due_at, NY, RULES)
    # 168 h later; the clocks went forward on the 9th, so 10:00 EST becomes 11:00 EDT (delays are elapsed time)
    assert third.due_at == ny(2025, 3, 15, 11, 0)
    assert plan_followup("no_answer", 4, third.due_at, NY, RULES).action is Action.STOP


def test_windows_move_to_next_allowed_local_time() -> None:
    # 19:30 + 24 h is 19:30 next day: inside. 20:30 + 24 h -> next day 20:30 -> following day 09:00.
    late = plan_followup("callback", 1, ny(2025, 3, 4, 20, 30), NY, RULES)
    assert late.due_at == ny(2025, 3, 6, 9, 0)
    # Saturday evening + 24 h = Sunday: not a calling day -> Monday 09:00
    weekend = plan_followup("callback", 1, ny(2025, 3, 8, 12, 0), NY, RULES)
    assert weekend.due_at == ny(2025, 3, 10, 9, 0)


def test_window_is_the_leads_local_time_not_ours() -> None:
    ended = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)  # 14:00 UTC = 22:00 in Manila, 09:00 in New York
    manila = plan_followup("callback", 1, ended, "Asia/Manila", RULES, requested_at=ended)
    assert manila.due_at == datetime(2025, 3, 5, 9, 0, tzinfo=ZoneInfo("Asia/Manila")).astimezone(UTC)
    new_york = plan_followup("callback", 1, ended, NY, RULES, requested_at=ended)
    assert new_york.due_at == ended


def test_daylight_saving_change_keeps_local_opening_time() -> None:
    # 2025-03-09 is the US spring-forward Sunday; Saturday 21:00 + 24 h -> Monday 09:00 EDT (13:00 UTC)
    due = plan_followup("callback", 1, ny(2025, 3, 8, 21, 0), NY, RULES).due_at
    assert due == datetime(2025, 3, 10, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outcome", "interested", "attempt", "phone", "action", "reason"),
    [
        ("sale", False, 1, None, Action.CLOSE, "sale"),
        ("no_sale", False, 1, None, Action.CLOSE, "not_interested"),
        ("no_sale", True, 1, "+12125550100", Action.STOP, "do_not_call"),
        ("callback", False, 4, None, Action.STOP, "max_attempts"),
        ("callback", False, 3, None, Action.SCHEDULE, "callback"),
    ],
)
def test_loop_ends(outcome: str, interested: bool, attempt: int, phone: str | None, action: Action,
                   reason: str) -> None:
    got = plan_followup(outcome, attempt, ny(2025, 3, 4, 10), NY, RULES, phone=phone, dnc={"+12125550100"},
                        interested=interested)
    assert (got.action, got.reason) == (action, reason)
    assert (got.due_at is None) == (action is not Action.SCHEDULE)


def test_requested_callback_time_is_kept_when_allowed() -> None:
    asked = ny(2025, 3, 4, 17, 30)
    got = plan_followup("callback", 1, ny(2025, 3, 4, 10), NY, RULES, requested_at=asked)
    assert got.due_at == asked
    early = plan_followup("callback", 1, ny(2025, 3, 4, 10), NY, RULES, requested_at=ny(2025, 3, 4, 7, 0))
    assert early.due_at == ny(2025, 3, 4, 10)  # never before the call ended, and inside the window


def test_lead_timezone() -> None:
    assert lead_timezone("+14155550100", None) == "America/Los_Angeles"
    assert lead_timezone("+447911123456", None) == "Europe/London"
    assert lead_timezone(None, "PH") == "Asia/Manila"
    assert lead_timezone(None, None, default="Europe/Paris") == "Europe/Paris"


def test_rules_are_checked() -> None:
    with pytest.raises(InputError):
        CadenceRules(delays_h=())
    with pytest.raises(InputError):
        CadenceRules(window_start=time(20), window_end=time(9))
    with pytest.raises(InputError):
        CadenceRules(weekdays=frozenset({7}))
    with pytest.raises(InputError):
        next_in_window(datetime(2025, 1, 1), NY, RULES)


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(0, 60 * 24 * 400),
    tz=st.sampled_from([NY, "Asia/Manila", "Europe/London", "Australia/Sydney", "America/Los_Angeles"]),
    attempt=st.integers(1, 3),
    outcome=st.sampled_from(["callback", "no_answer"]),
)
def test_scheduled_follow_ups_always_fall_in_window(minutes: int, tz: str, attempt: int, outcome: str) -> None:
    ended = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    got = plan_followup(outcome, attempt, ended, tz, RULES)
    assert got.action is Action.SCHEDULE and got.attempt_no == attempt + 1
    assert in_window(got.due_at, tz, RULES)
    assert got.due_at >= ended + RULES.delay(attempt)
    assert got.due_at <= ended + RULES.delay(attempt) + timedelta(days=3)  # at most a closed Sunday + night
