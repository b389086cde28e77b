"""Scenarios as Python objects: centers, queues, agents, shifts, leads, outcome model, policy.

A TOML file (see :mod:`closeloop.sim.scenario_file`) is read into these dataclasses, and a
program (the demo builder, a notebook) can make them directly — e.g. pass its own lead list
with per-lead quality, or per-center and per-agent close factors. :func:`validate` checks
a scenario before anything runs and raises :class:`ScenarioError` naming the key.

Every field carries its documentation and allowed range in ``metadata`` so the file
reader, the checks and ``docs/simulator.md`` agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from closeloop.errors import ScenarioError
from closeloop.model import CallType, Direction, parse_skills
from closeloop.routing import AgentDef, Policy, PolicyParamError, QueueDef, make_policy
from closeloop.sim.conversation import ConversationModel
from closeloop.sim.dists import Dist


def _f(default: Any, doc: str, lo: float | None = None, hi: float | None = None, **kw: Any) -> Any:
    meta = {"doc": doc, "min": lo, "max": hi}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


@dataclass
class Center:
    """A site; its factors scale handle time and the odds of a sale for its agents."""

    center_id: str
    vendor: str = _f("in-house", "Owning vendor (`in-house` for own sites).")
    country: str = _f("US", "ISO 3166-1 alpha-2 country.")
    timezone: str = _f("UTC", "IANA time zone; shift times are read in it.")
    close_factor: float = _f(1.0, "Odds multiplier on a sale for calls its agents take.", 0.0)
    handle_factor: float = _f(1.0, "Multiplier on handle time of its agents.", 0.01)


@dataclass
class Shift:
    """When an agent works: ``start`` (HH:MM, center time), ``hours``, ``days`` (e.g. mon-fri)."""

    start: str = _f("00:00", "Start time HH:MM in the center's time zone.")
    hours: float = _f(24.0, "Length of the shift in hours.", 0.0, 24.0)
    days: str = _f("mon-sun", "Days it is worked: `mon-fri`, `sat,sun`, `mon-sun`.")


@dataclass(frozen=True)
class StaffPlan:
    """Agents on duty per piece of ``interval_s`` from the scenario's start (the last holds).

    Shared by the agents of one group: at a rise, off-duty agents join; at a drop, idle
    agents leave at once and then the first busy ones to become free (not given shifts)."""

    key: int
    interval_s: float
    levels: tuple[int, ...]

    def level(self, t: float) -> int:
        """Agents wanted at time ``t``."""
        return self.levels[min(int(t // self.interval_s), len(self.levels) - 1)]


@dataclass
class Agent:
    """One agent. ``skills`` is `sales:8;care:5`; the `sales` level is its sales skill."""

    agent_id: str
    center_id: str
    skills: dict[str, int]
    shift: Shift | None = None
    home_mode: str | None = None
    close_factor: float = 1.0
    group: str = ""
    plan: StaffPlan | None = None


@dataclass
class AgentGroup:
    """``count`` agents alike, with ids ``{prefix}{n}``; expanded by :meth:`Scenario.agent_list`."""

    center: str = _f("", "Center id the agents work in.")
    count: int = _f(1, "How many agents.", 0)
    skills: str = _f("", "Skills with proficiency 1-10, e.g. `sales:8;care:4`.")
    prefix: str = _f("", "Agent id prefix (default: center id + '-A').")
    home_mode: str = _f("", "Mode the agents start in and return to (blending policies).")
    close_factor: float = _f(1.0, "Odds multiplier on a sale for these agents.", 0.0)
    group: str = _f("", "Group name, for `agent_order` preferences of queues.")
    staffing: list[int] = _f([], "Agents on duty per `staffing_interval_s` from the start (instead of a shift); "  # noqa: RUF009
                             "at a drop the first agents to become free leave.", 0)
    staffing_interval_s: float = _f(1800.0, "Length of each `staffing` piece.", 60.0)
    shift: Shift | None = None


@dataclass
class Lead:
    """A lead: dialled by an outbound queue, or calling in on an inbound one at ``ready_s``."""

    lead_id: str
    ready_s: float = 0.0
    quality: float = 1.0
    source: str = "list"


@dataclass
class QueueSpec:
    """A queue or outbound campaign: its traffic, handle times, patience and outcomes."""

    name: str
    call_type: str = _f("sales", "`sales` or `care`.")
    direction: str = _f("inbound", "`inbound` or `outbound`.")
    skill: str = _f("", "Agent skill it needs (default: the call type).")
    priority: int = _f(0, "Higher is served first in global order.")
    center: str = _f("", "Center recorded on calls nobody answered (default: the first center).")
    rate_per_hour: float | list[float] = _f(  # noqa: RUF009
        0.0, "Arrivals (leads, for outbound) per hour: a number, or a daily profile of equal pieces.", 0.0
    )
    profile_period: str = _f("day", "What `rate_per_hour` as a list spans: `day`, or `week` (Monday 00:00 first).")
    day_factors: list[float] = _f([], "Seven multipliers, Monday first (empty: all 1).", 0.0)  # noqa: RUF009
    busyness_sd: float = _f(0.0, "Std. dev. of a day-to-day busyness factor (gamma, mean 1).", 0.0, 2.0)
    initial_leads: int = _f(0, "Outbound: leads already in the list at the start.", 0)
    handle_dist: str = _f("lognormal", "`lognormal` or `exponential` talk time.")
    handle_mean_s: float = _f(300.0, "Mean talk time (proficiency 5, handle_factor 1).", 1.0)
    handle_sd_s: float = _f(180.0, "Std. dev. of talk time (lognormal).", 0.0)
    wrap_s: float = _f(0.0, "After-call work per answered call.", 0.0)
    patience_mean_s: float = _f(0.0, "Mean caller patience (exponential); 0 = callers never hang up.", 0.0)
    retrial_prob: float = _f(0.0, "Probability a caller who abandoned, was blocked or balked calls back.", 0.0, 1.0)
    retrial_delay_s: float = _f(600.0, "Mean delay before a call-back (exponential; see `retrial_delay`).", 0.0)
    max_retrials: int = _f(3, "Call-backs per caller at most (-1 = unlimited).", -1)
    retrial_patience: str = _f("fresh", "`fresh`: a call-back draws a new patience; `same`: keeps the first one; "
                                        "`remaining`: keeps what is left after the time already waited.")
    capacity: int = _f(-1, "Waiting places; a caller finding them full is blocked (-1 = unlimited).", -1)
    trunks: int = _f(-1, "Lines held by this queue's calls waiting or talking; none free = blocked (-1 = unlimited).",
                     -1)
    balk_prob: list[float] = _f([], "P(balk) of a caller finding n waiting, n = 0, 1, ...; the last repeats.",  # noqa: RUF009
                                0.0, 1.0)
    max_wait_s: float = _f(0.0, "After this wait a caller leaves a message, or overflows (0 = no limit).", 0.0)
    overflow_to: str = _f("", "Queue a caller moves to after `max_wait_s` (empty: leaves a message).")
    agent_selection: str = _f("longest_idle", "Which free agent takes an arrival: `longest_idle`, `random`, "
                              "`ordered` (first group of `agent_order` with a free agent).")
    agent_order: list[str] = _f([], "Agent group names in order of preference (`agent_selection = ordered`).")  # noqa: RUF009
    transfer_prob: float = _f(0.0, "Probability an answered call is transferred to `transfer_to` after its talk.",
                              0.0, 1.0)
    transfer_to: str = _f("", "Queue a transferred call joins (it waits there and gets that queue's talk time).")
    conference: bool = _f(False, "The first agent stays on a transferred call until the second agent's talk ends.")
    talk: Dist | None = None
    wrap: Dist | None = None
    patience: Dist | None = None
    retrial_delay: Dist | None = None
    sl_threshold_s: float = _f(20.0, "Service-level threshold (answered within).", 0.0)
    close_rate: float = _f(0.2, "Sale probability of a warmed-up average agent on a quality-1 lead.", 0.0, 1.0)
    order_value_mean: float = _f(100.0, "Mean order value of a sale (lognormal).", 0.0)
    order_value_sd: float = _f(50.0, "Std. dev. of order value.", 0.0)
    resolve_rate: float = _f(0.75, "Care: resolution probability for an average agent.", 0.0, 1.0)
    escalate_share: float = _f(0.2, "Care: share of unresolved calls that are escalated.", 0.0, 1.0)
    lead_quality_sd: float = _f(0.0, "Std. dev. of lead quality (lognormal, mean 1) when no lead list.", 0.0)
    reach_prob: float = _f(0.35, "Outbound: probability a dial reaches the customer.", 0.0, 1.0)
    ring_s: float = _f(25.0, "Outbound: seconds an unanswered dial takes.", 0.0)
    connect_s: float = _f(6.0, "Outbound: seconds from dial to answer when reached.", 0.0)
    max_attempts: int = _f(3, "Outbound: dials per lead at most.", 1, 20)
    dial_window: str = _f("", "Outbound: dial only between these local times, `HH:MM-HH:MM` (empty: always).")
    right_party_prob: float = _f(1.0, "Outbound: share of reached dials that reach the right person.", 0.0, 1.0)
    wrong_party_s: float = _f(30.0, "Outbound: seconds a dial that reached the wrong person takes after connecting.",
                              0.0)
    retry_after_s: float = _f(3600.0, "Outbound: seconds before redialling an unreached lead.", 0.0)
    leads: list[Lead] | None = None

    def to_def(self) -> QueueDef:
        """The routing view of this queue."""
        return QueueDef(self.name, CallType(self.call_type), Direction(self.direction),
                        self.skill or self.call_type, self.priority, self.agent_selection, tuple(self.agent_order))

    @property
    def outbound(self) -> bool:
        """True for an outbound campaign."""
        return self.direction == Direction.OUTBOUND

    def talk_dist(self) -> Dist:
        """Talk time at proficiency 5 (``talk``, else the legacy ``handle_*`` fields)."""
        if self.talk is not None:
            return self.talk
        if self.handle_dist == "exponential":
            return Dist("exponential", (("mean", self.handle_mean_s),))
        return Dist("lognormal", (("mean", self.handle_mean_s), ("sd", self.handle_sd_s)))

    def patience_dist(self) -> Dist | None:
        """Patience (``patience``, else exponential ``patience_mean_s``); None: callers never hang up."""
        if self.patience is not None:
            return self.patience
        return Dist("exponential", (("mean", self.patience_mean_s),)) if self.patience_mean_s > 0 else None

    def delay_dist(self) -> Dist:
        """Delay before a call-back (``retrial_delay``, else exponential ``retrial_delay_s``)."""
        if self.retrial_delay is not None:
            return self.retrial_delay
        if self.retrial_delay_s > 0:
            return Dist("exponential", (("mean", self.retrial_delay_s),))
        return Dist("fixed", (("value", 0.0),))

    @property
    def limited(self) -> bool:
        """True when callers can be turned away or moved on (capacity, trunks, balking, max wait)."""
        return self.capacity >= 0 or self.trunks >= 0 or bool(self.balk_prob) or self.max_wait_s > 0

    def profile(self) -> list[float]:
        """The daily arrival profile in calls per hour (one or more equal pieces)."""
        r = self.rate_per_hour
        return [float(r)] if isinstance(r, int | float) else [float(x) for x in r]


@dataclass
class Busyness:
    """A day-level arrival multiplier (gamma, mean 1) shared by ``queues``: correlated days.

    It multiplies each queue's own ``busyness_sd`` factor; a queue is in at most one group."""

    queues: list[str] = _f([], "Queues whose arrivals share the day's factor.")  # noqa: RUF009
    sd: float = _f(0.0, "Std. dev. of the shared day factor (gamma, mean 1).", 0.0, 2.0)


@dataclass
class OutcomeModel:
    """How sales, resolution and CSAT are drawn (see docs/simulator.md for the formulas)."""

    skill_effect: float = _f(0.8, "Log-odds of a sale per unit of (level - 5.5) / 4.5 of sales skill.")
    quality_effect: float = _f(1.0, "Log-odds of a sale per unit of log lead quality.")
    wait_effect: float = _f(0.1, "Log-odds lost per minute the caller waited.", 0.0)
    switch_penalty: float = _f(0.7, "Log-odds lost on the first sales call after a care call.", 0.0)
    switch_decay: float = _f(0.5, "Share of the penalty left after each further sales call.", 0.0, 1.0)
    callback_share: float = _f(0.1, "Share of lost sales recorded as `callback`.", 0.0, 1.0)
    care_skill_effect: float = _f(0.6, "Log-odds of resolution per unit of (level - 5.5) / 4.5.")
    handle_skill_effect: float = _f(0.2, "Handle time x (1 + e (5 - level) / 5).", 0.0, 0.9)
    csat_survey_rate: float = _f(0.3, "Share of answered calls with a CSAT score.", 0.0, 1.0)
    csat_base: float = _f(3.6, "Mean latent CSAT of an unresolved / lost call with no wait.")
    csat_success: float = _f(0.8, "CSAT added by a sale or a resolution.")
    csat_wait: float = _f(0.15, "CSAT lost per minute waited (capped at 10 minutes).", 0.0)
    csat_noise: float = _f(0.8, "Std. dev. of the latent CSAT noise.", 0.0)


@dataclass
class Scenario:
    """Everything a simulation needs. ``start`` is aware (UTC if naive)."""

    name: str = "scenario"
    start: datetime = field(default_factory=lambda: datetime(2026, 1, 5, tzinfo=UTC))
    days: float = 1.0
    timezone: str = "UTC"
    seed: int = 1
    centers: list[Center] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    outcomes: OutcomeModel = field(default_factory=OutcomeModel)
    policy: str = "global_order"
    policy_params: dict[str, Any] = field(default_factory=dict)
    source: str = "<python>"
    conversation: ConversationModel | None = None  # events on sales calls that move the sale (Python only)
    busyness: list[Busyness] = field(default_factory=list)

    @property
    def horizon_s(self) -> float:
        """Length of the simulated period in seconds."""
        return self.days * 86400.0

    def queue_defs(self) -> list[QueueDef]:
        """Routing views of the queues."""
        return [q.to_def() for q in self.queues]

    def agent_defs(self) -> list[AgentDef]:
        """Routing views of the agents."""
        return [AgentDef(a.agent_id, a.center_id, a.skills, a.home_mode, a.group) for a in self.agents]

    def make_policy(self, name: str | None = None, params: dict[str, Any] | None = None) -> Policy:
        """Build (and check against the scenario) the scenario's policy or another one."""
        use_name = name or self.policy
        use_params = self.policy_params if name is None or name == self.policy else {}
        if params is not None:
            use_params = params
        try:
            pol = make_policy(use_name, **use_params)
            pol.setup(self.queue_defs(), self.agent_defs())
        except PolicyParamError as exc:
            key = "policy" if exc.key == "policy" else f"policy.{exc.key}"
            raise ScenarioError(self.source, key, exc.problem) from exc
        return pol


def expand_groups(groups: list[AgentGroup]) -> list[Agent]:
    """Agents from groups, ids ``{prefix}{n:03d}`` numbered per prefix."""
    out: list[Agent] = []
    seen: dict[str, int] = {}
    for i, g in enumerate(groups):
        prefix = g.prefix or f"{g.center}-A"
        skills = parse_skills(g.skills)
        plan = StaffPlan(i, g.staffing_interval_s, tuple(g.staffing)) if g.staffing else None
        for _ in range(max(g.count, max(g.staffing, default=0))):
            seen[prefix] = seen.get(prefix, 0) + 1
            out.append(Agent(f"{prefix}{seen[prefix]:03d}", g.center, dict(skills), g.shift,
                             g.home_mode or None, g.close_factor, g.group, plan))
    return out


def check_ranges(obj: Any, key: str, path: str) -> None:
    """Check every numeric field of a dataclass against its metadata range."""
    for f in fields(obj):
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        value = getattr(obj, f.name)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if not isinstance(v, int | float) or isinstance(v, bool):
                continue
            where = f"{key}.{f.name}"
            if math.isnan(v):
                raise ScenarioError(path, where, "is not a number")
            if lo is not None and v < lo:
                raise ScenarioError(path, where, f"{v} is below the minimum {lo}")
            if hi is not None and v > hi:
                raise ScenarioError(path, where, f"{v} is above the maximum {hi}")


def validate(s: Scenario) -> Policy:
    """Check the whole scenario before anything runs; return its built policy."""
    from closeloop.sim.checks import check_modes, check_scenario

    check_scenario(s)
    policy = s.make_policy()
    check_modes(s, policy.modes)
    return policy


__all__ = [
    "Agent", "AgentGroup", "Busyness", "Center", "Lead", "OutcomeModel", "QueueSpec", "Scenario",
    "Shift", "StaffPlan", "check_ranges", "expand_groups", "validate",
]
