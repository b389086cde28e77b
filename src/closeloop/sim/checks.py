"""Checks of a scenario before anything runs: one message naming file, key and problem."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from closeloop.errors import ScenarioError
from closeloop.model import ISO_COUNTRIES, CallType, Direction
from closeloop.sim.scenario import Scenario, check_ranges
from closeloop.sim.shifts import parse_days, parse_time


def _tz(path: str, key: str, name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScenarioError(path, key, f"unknown time zone {name!r} (use an IANA name like 'Asia/Manila')") from exc


def _unique(path: str, key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if not i:
            raise ScenarioError(path, key, "an id is empty")
        if i in seen:
            raise ScenarioError(path, key, f"id {i!r} appears twice")
        seen.add(i)


def check_scenario(s: Scenario) -> None:
    """Raise ScenarioError for the first mistake found; return None when the scenario is sound."""
    p = s.source
    if not s.days > 0:
        raise ScenarioError(p, "scenario.days", f"must be positive, got {s.days}")
    if isinstance(s.seed, bool) or not isinstance(s.seed, int) or s.seed < 0:
        raise ScenarioError(p, "scenario.seed", f"must be a whole number ≥ 0 (numpy's SeedSequence), got {s.seed!r}")
    _tz(p, "scenario.timezone", s.timezone)
    if not s.centers:
        raise ScenarioError(p, "centers", "at least one center is needed")
    if not s.queues:
        raise ScenarioError(p, "queues", "at least one queue is needed")
    _unique(p, "centers", [c.center_id for c in s.centers])
    _unique(p, "queues", [q.name for q in s.queues])
    _unique(p, "agents", [a.agent_id for a in s.agents])
    centers = {c.center_id for c in s.centers}
    for c in s.centers:
        key = f"centers.{c.center_id}"
        check_ranges(c, key, p)
        _tz(p, f"{key}.timezone", c.timezone)
        if c.country not in ISO_COUNTRIES:
            raise ScenarioError(p, f"{key}.country", f"{c.country!r} is not an ISO 3166-1 alpha-2 code")
    for q in s.queues:
        _check_queue(s, q, centers)
    for a in s.agents:
        _check_agent(s, a, centers)
    check_ranges(s.outcomes, "outcomes", p)
    if s.conversation is not None:
        s.conversation.check(p, centers)
    _check_coverage(s)
    _check_busyness(s)


def _check_busyness(s: Scenario) -> None:
    """Busyness groups name existing queues, each queue in one group at most."""
    names, seen = {q.name for q in s.queues}, set()
    for i, g in enumerate(s.busyness):
        check_ranges(g, f"busyness[{i}]", s.source)
        for name in g.queues:
            if name not in names:
                raise ScenarioError(s.source, f"busyness[{i}].queues",
                                    f"unknown queue {name!r}; queues: {sorted(names)}")
            if name in seen:
                raise ScenarioError(s.source, f"busyness[{i}].queues", f"queue {name!r} is already in a busyness group")
            seen.add(name)


def _check_queue(s: Scenario, q, centers: set[str]) -> None:  # type: ignore[no-untyped-def]
    p, key = s.source, f"queues.{q.name}"
    if q.call_type not in {c.value for c in CallType}:
        raise ScenarioError(p, f"{key}.call_type", f"{q.call_type!r} is not one of sales, care")
    if q.direction not in {d.value for d in Direction}:
        raise ScenarioError(p, f"{key}.direction", f"{q.direction!r} is not one of inbound, outbound")
    if q.handle_dist not in {"lognormal", "exponential"}:
        raise ScenarioError(p, f"{key}.handle_dist", f"{q.handle_dist!r} is not one of lognormal, exponential")
    check_ranges(q, key, p)
    if isinstance(q.rate_per_hour, list) and not q.rate_per_hour:
        raise ScenarioError(p, f"{key}.rate_per_hour", "an empty profile; give a number or a list of rates")
    if q.day_factors and len(q.day_factors) != 7:
        raise ScenarioError(p, f"{key}.day_factors", f"needs 7 values (Monday first), got {len(q.day_factors)}")
    _check_limits(s, q)
    if q.profile_period not in ("day", "week"):
        raise ScenarioError(p, f"{key}.profile_period", f"{q.profile_period!r} is not one of day, week")
    if q.center and q.center not in centers:
        raise ScenarioError(p, f"{key}.center", f"unknown center {q.center!r}; centers: {sorted(centers)}")
    for i, lead in enumerate(q.leads or []):
        if not lead.lead_id or lead.ready_s < 0 or not lead.quality > 0:
            raise ScenarioError(p, f"{key}.leads[{i}]", "needs a lead_id, ready_s ≥ 0 and quality > 0")


def _check_limits(s: Scenario, q) -> None:  # type: ignore[no-untyped-def]
    """Call-backs, capacity, overflow and agent selection."""
    p, key = s.source, f"queues.{q.name}"
    if q.retrial_patience not in ("fresh", "same", "remaining"):
        raise ScenarioError(p, f"{key}.retrial_patience",
                            f"{q.retrial_patience!r} is not one of fresh, same, remaining")
    if q.agent_selection not in ("longest_idle", "random", "ordered"):
        raise ScenarioError(p, f"{key}.agent_selection",
                            f"{q.agent_selection!r} is not one of longest_idle, random, ordered")
    groups = {a.group for a in s.agents if a.group}
    if q.agent_selection == "ordered" and not q.agent_order:
        raise ScenarioError(p, f"{key}.agent_order", "is required with agent_selection = ordered")
    for g in q.agent_order:
        if g not in groups:
            raise ScenarioError(p, f"{key}.agent_order", f"unknown agent group {g!r}; groups: {sorted(groups)}")
    names = [x.name for x in s.queues]
    if q.overflow_to:
        if q.overflow_to not in names or q.overflow_to == q.name:
            raise ScenarioError(p, f"{key}.overflow_to", f"{q.overflow_to!r} is not another queue; queues: {names}")
        if q.max_wait_s <= 0:
            raise ScenarioError(p, f"{key}.max_wait_s", "must be > 0 when overflow_to is set")
    if q.dial_window:
        import re

        if not q.outbound or not re.fullmatch(r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", q.dial_window):
            raise ScenarioError(p, f"{key}.dial_window", f"{q.dial_window!r}: an outbound campaign's window is like "
                                                         "`08:00-20:00`")
        try:
            for part in q.dial_window.split("-"):
                parse_time(part.strip())
        except ValueError:
            raise ScenarioError(p, f"{key}.dial_window", f"{q.dial_window!r} has a time that is not HH:MM") from None
    if q.transfer_prob > 0:
        target = next((x for x in s.queues if x.name == q.transfer_to and x.name != q.name), None)
        if target is None:
            raise ScenarioError(p, f"{key}.transfer_to", f"{q.transfer_to!r} is not another queue; queues: {names}")
        if target.outbound:
            raise ScenarioError(p, f"{key}.transfer_to", f"{q.transfer_to!r} is an outbound campaign")
        if q.conference and target.limited:
            raise ScenarioError(p, f"{key}.conference", f"a conference needs {q.transfer_to!r} without capacity "
                                                        "limits, balking or a maximum wait")
    if q.outbound and (q.limited or q.agent_selection != "longest_idle" or q.transfer_prob > 0):
        raise ScenarioError(p, key, "capacity, trunks, balking, max wait, agent selection and transfers apply to "
                                    "inbound queues")


def _check_agent(s: Scenario, a, centers: set[str]) -> None:  # type: ignore[no-untyped-def]
    p, key = s.source, f"agents.{a.agent_id}"
    if a.center_id not in centers:
        raise ScenarioError(p, f"{key}.center", f"unknown center {a.center_id!r}; centers: {sorted(centers)}")
    if not a.skills:
        raise ScenarioError(p, f"{key}.skills", "no skills (write them like `sales:8;care:5`)")
    for name, level in a.skills.items():
        if not 1 <= level <= 10:
            raise ScenarioError(p, f"{key}.skills", f"proficiency of {name!r} must be 1-10, got {level}")
    if a.plan is not None and a.shift is not None:
        raise ScenarioError(p, f"{key}.staffing", "give a shift or a staffing plan, not both")
    if not a.close_factor >= 0:
        raise ScenarioError(p, f"{key}.close_factor", "must be ≥ 0")
    if a.shift is not None:
        sh = a.shift
        try:
            parse_time(sh.start)
        except ValueError:
            raise ScenarioError(p, f"{key}.shift.start", f"{sh.start!r} is not HH:MM") from None
        try:
            parse_days(sh.days)
        except ValueError:
            raise ScenarioError(p, f"{key}.shift.days", f"{sh.days!r} is not like `mon-fri` or `sat,sun`") from None
        if not 0 < sh.hours <= 24:
            raise ScenarioError(p, f"{key}.shift.hours", f"must be in (0, 24], got {sh.hours}")


def _has_traffic(q) -> bool:  # type: ignore[no-untyped-def]
    return any(r > 0 for r in q.profile()) or bool(q.leads) or q.initial_leads > 0


def _check_coverage(s: Scenario) -> None:
    """Every queue with traffic needs at least one agent with its skill."""
    skills = {name for a in s.agents for name in a.skills}
    for q in s.queues:
        skill = q.skill or q.call_type
        if _has_traffic(q) and skill not in skills:
            raise ScenarioError(
                s.source, f"queues.{q.name}.skill",
                f"no agent has skill {skill!r}, but the queue has traffic (agents' skills: {sorted(skills)})",
            )
    needed = {q.skill or q.call_type for q in s.queues}
    for a in s.agents:
        for name in a.skills:
            if name not in needed:
                raise ScenarioError(
                    s.source, f"agents.{a.agent_id}.skills",
                    f"unknown skill {name!r}: no queue needs it (queues need {sorted(needed)})",
                )


def check_modes(s: Scenario, modes: dict[str, tuple[str, ...]] | None) -> None:
    """Agents' home modes must be modes of the policy (a policy without modes ignores them)."""
    if not modes:
        return
    for a in s.agents:
        if a.home_mode is not None and a.home_mode not in modes:
            raise ScenarioError(
                s.source, f"agents.{a.agent_id}.home_mode",
                f"{a.home_mode!r} is not a mode of policy {s.policy!r} (modes: {sorted(modes)})",
            )
