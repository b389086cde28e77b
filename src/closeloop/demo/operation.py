"""Pinebrook Office Systems: the demo operation as a simulator scenario.

A maker of small-office hardware (printers, routers, phone systems, storage) sells and
serves by phone from three sites, each with its own queues (the ACD splits traffic by
site, as vendor contracts do):

* ``us-chi`` — the in-house center in Chicago: inbound pre-sales, an outbound campaign on
  warm leads (trade shows, partner referrals, web forms), and the follow-up desk;
* ``ph-mnl`` — Harborline, the offshore vendor in Manila: inbound care, some inbound
  pre-sales, and the outbound campaign on purchased lists;
* ``co-med`` — Andina, the nearshore vendor in Medellín: inbound pre-sales and care, with
  its sales agents pulled into care when the care queue is long (sticky blending).

Everything here is pure: it returns a :class:`~closeloop.sim.scenario.Scenario`; leads
are attached by :mod:`closeloop.demo.leads`.
"""

from __future__ import annotations

from dataclasses import dataclass

from closeloop.demo.params import DemoParams, Effects
from closeloop.sim.conversation import ConversationModel, TalkEvent
from closeloop.sim.scenario import Agent, Center, OutcomeModel, QueueSpec, Scenario, Shift

TIMEZONE = "America/Chicago"  # arrival profiles are read on the company's clock
IN_HOUSE, OFFSHORE, NEARSHORE = "us-chi", "ph-mnl", "co-med"

CENTERS = (
    Center(IN_HOUSE, vendor="in-house", country="US", timezone="America/Chicago"),
    Center(OFFSHORE, vendor="harborline", country="PH", timezone="Asia/Manila"),
    Center(NEARSHORE, vendor="andina", country="CO", timezone="America/Bogota"),
)

# Daily shapes (Chicago hours 0-23, peak 1): sales lines open 07:00-20:00, care around the clock.
SALES_SHAPE = [0, 0, 0, 0, 0, 0, 0, .35, .6, .82, .95, 1, .92, .9, 1, .95, .85, .7, .5, .32, 0, 0, 0, 0]
CARE_SHAPE = [.06, .04, .03, .03, .04, .1, .3, .6, .85, 1, 1, .97, .92, .95, .98, .95, .85, .72, .58, .45, .32,
              .22, .14, .09]
CARE_DAY_SHAPE = [0, 0, 0, 0, 0, 0, 0, .6, .85, 1, 1, .97, .92, .95, .98, .95, .85, .72, .58, .45, 0, 0, 0, 0]
SALES_DAYS = [1.1, 1.05, 1.0, 1.0, 0.95, 0.45, 0.0]
CARE_DAYS = [1.25, 1.05, 1.0, 1.0, 0.95, 0.55, 0.35]
CARE_DAYS_NO_SUNDAY = [1.25, 1.05, 1.0, 1.0, 0.95, 0.55, 0.0]


@dataclass(frozen=True)
class Crew:
    """Agents alike: where, what they can do, when they work, the mode they start in."""

    prefix: str
    center: str
    count: int
    skills: dict[str, int]
    home: str
    start: str
    hours: float
    days: str
    close_factor: float = 1.0


def _inbound(name: str, call_type: str, center: str, peak: float, size: float, day_only: bool = False) -> QueueSpec:
    sales = call_type == "sales"
    shape, days = (SALES_SHAPE, SALES_DAYS) if sales else (CARE_SHAPE, CARE_DAYS)
    if day_only and not sales:
        shape, days = CARE_DAY_SHAPE, CARE_DAYS_NO_SUNDAY
    return QueueSpec(
        name=name, call_type=call_type, direction="inbound", skill=call_type, center=center,
        rate_per_hour=[round(peak * size * x, 3) for x in shape], day_factors=list(days), busyness_sd=0.12,
        handle_mean_s=600.0 if sales else 330.0, handle_sd_s=300.0 if sales else 190.0, wrap_s=40.0 if sales else 30.0,
        patience_mean_s=200.0 if sales else 260.0, retrial_prob=0.3, retrial_delay_s=900.0,
        close_rate=0.30, order_value_mean=640.0, order_value_sd=420.0, resolve_rate=0.78, escalate_share=0.25,
    )


def _outbound(name: str, skill: str, center: str, close_rate: float, attempts: int, reach: float) -> QueueSpec:
    return QueueSpec(
        name=name, call_type="sales", direction="outbound", skill=skill, center=center,
        handle_mean_s=330.0, handle_sd_s=200.0, wrap_s=30.0, close_rate=close_rate, order_value_mean=520.0,
        order_value_sd=360.0, reach_prob=reach, ring_s=25.0, connect_s=6.0, max_attempts=attempts,
        retry_after_s=3 * 3600.0,
    )


def queues(size: float) -> list[QueueSpec]:
    """The inbound queues (traffic from profiles) and outbound campaigns (leads attached later)."""
    return [
        _inbound("presales_us", "sales", IN_HOUSE, 40.0, size),
        _inbound("presales_co", "sales", NEARSHORE, 28.0, size),
        _inbound("presales_ph", "sales", OFFSHORE, 12.0, size),
        _inbound("care_ph", "care", OFFSHORE, 112.0, size),
        _inbound("care_co", "care", NEARSHORE, 44.0, size, day_only=True),
        _outbound("outbound_us", "outbound", IN_HOUSE, 0.20, 4, 0.35),
        _outbound("outbound_ph", "outbound", OFFSHORE, 0.20, 4, 0.35),
    ]


FOLLOWUP_QUEUE = "followup_us"


def followup_queue() -> QueueSpec:
    """The follow-up desk's campaign: prospects who did not buy, called again (leads given later)."""
    return _outbound(FOLLOWUP_QUEUE, "followup", IN_HOUSE, 0.24, 2, 0.55)


def crews(e: Effects) -> list[Crew]:
    """Every agent group at full scale (counts are scaled by :func:`agents`)."""
    care_ph = e.offshore_care_staffing
    return [
        # in-house, Chicago: pre-sales in two shifts and a Saturday crew; outbound; a few cherry-pickers
        Crew("US-P", IN_HOUSE, 14, {"sales": 7}, "presales_us", "07:00", 8.5, "mon-fri"),
        Crew("US-Q", IN_HOUSE, 11, {"sales": 7}, "presales_us", "11:30", 8.5, "mon-fri"),
        Crew("US-S", IN_HOUSE, 3, {"sales": 7}, "presales_us", "08:00", 8.0, "sat"),
        Crew("US-C", IN_HOUSE, e.cherry_pickers, {"sales": 7}, "presales_us", "10:00", e.cherry_pick_hours, "mon-fri",
             e.cherry_pick_factor),
        Crew("US-O", IN_HOUSE, 5, {"outbound": 7}, "outbound_us", "09:00", 8.5, "mon-fri"),
        # offshore, Manila (14 h ahead of Chicago: US daytime is Manila night): care, some pre-sales, outbound
        Crew("PH-E", OFFSHORE, round(13 * care_ph), {"care": 7}, "care_ph", "20:00", 9.0, "mon-fri"),
        Crew("PH-L", OFFSHORE, round(12 * care_ph), {"care": 7}, "care_ph", "00:00", 9.0, "tue-sat"),
        Crew("PH-M", OFFSHORE, round(6 * care_ph), {"care": 7}, "care_ph", "04:00", 9.0, "tue-sat"),
        Crew("PH-N", OFFSHORE, round(4 * care_ph), {"care": 6}, "care_ph", "09:00", 11.0, "mon-sun"),
        Crew("PH-W", OFFSHORE, round(6 * care_ph), {"care": 7}, "care_ph", "21:00", 9.0, "sat,sun"),
        Crew("PH-S", OFFSHORE, 4, {"sales": 6}, "presales_ph", "21:00", 9.0, "mon-fri"),
        Crew("PH-T", OFFSHORE, 3, {"sales": 6}, "presales_ph", "01:00", 9.0, "tue-sat"),
        Crew("PH-O", OFFSHORE, 8, {"outbound": 6}, "outbound_ph", "21:00", 9.0, "mon-fri"),
        # nearshore, Medellin (1 h ahead of Chicago): sales agents who also take care (blended), care agents
        Crew("CO-S", NEARSHORE, 12, {"sales": 7, "care": 6}, "presales_co", "08:00", 8.5, "mon-fri"),
        Crew("CO-T", NEARSHORE, 9, {"sales": 7, "care": 6}, "presales_co", "12:30", 8.5, "mon-fri"),
        Crew("CO-R", NEARSHORE, 6, {"care": 7}, "care_co", "08:00", 9.0, "mon-fri"),
        Crew("CO-U", NEARSHORE, 4, {"care": 7}, "care_co", "12:00", 9.0, "mon-fri"),
        Crew("CO-V", NEARSHORE, 2, {"care": 7}, "care_co", "08:00", 9.0, "sat"),
        Crew("CO-W", NEARSHORE, 2, {"sales": 7, "care": 6}, "presales_co", "08:00", 8.0, "sat"),
    ]


def followup_crews() -> list[Crew]:
    """The in-house follow-up desk (simulated in a second pass, once the first calls are known)."""
    return [
        Crew("US-F", IN_HOUSE, 4, {"followup": 7}, FOLLOWUP_QUEUE, "08:00", 9.0, "mon-sat"),
        Crew("US-G", IN_HOUSE, 3, {"followup": 7}, FOLLOWUP_QUEUE, "11:00", 9.0, "mon-fri"),
    ]


def agents(groups: list[Crew], size: float) -> list[Agent]:
    """Agents of ``groups`` with counts scaled by ``size`` (at least one per group with a count)."""
    out = []
    for g in groups:
        n = max(1, round(g.count * size)) if g.count else 0
        for i in range(n):
            out.append(Agent(f"{g.prefix}{i + 1:03d}", g.center, dict(g.skills), Shift(g.start, g.hours, g.days),
                             g.home, g.close_factor))
    return out


def conversation_model(e: Effects) -> ConversationModel:
    """The conversation events drawn on every answered sales call (effect 1's performance part, effect 3)."""
    return ConversationModel([
        TalkEvent("confusion", e.confusion_rate, e.confusion, center_prevalence={OFFSHORE: e.confusion_rate_offshore}),
        TalkEvent("repeat_request", e.repeat_rate, e.repeat_request,
                  center_prevalence={OFFSHORE: e.repeat_rate_offshore}),
        TalkEvent("value_skipped", e.value_skipped_rate, e.value_skipped,
                  center_prevalence={OFFSHORE: e.value_skipped_rate_offshore}),
        TalkEvent("competitor", e.competitor_rate, e.competitor),
        TalkEvent("price_objection", e.objection_rate, 0.0),
        TalkEvent("objection_unanswered", e.unanswered_rate, e.objection_unanswered, given="price_objection",
                  center_prevalence={OFFSHORE: e.unanswered_rate_offshore}),
    ])


def outcome_model(e: Effects) -> OutcomeModel:
    """Defaults of the simulator, with the demo's mode-switch penalty (effect 2)."""
    return OutcomeModel(switch_penalty=e.switch_penalty, switch_decay=e.switch_decay, csat_survey_rate=0.25)


def policy_params() -> dict[str, object]:
    """Sticky modes, one queue each; Andina's sales agents are pulled into care at its peaks."""
    return {
        "min_dwell_s": 600.0, "review_s": 300.0,
        "pulls": [{"from": "presales_co", "to": "care_co", "start_waiting": 2, "stop_waiting": 1,
                   "max_agents": 10, "step": 2}],
    }


def scenario(p: DemoParams) -> Scenario:
    """The first pass: every queue but the follow-up desk (leads attached by the caller)."""
    size = p.scale.size
    return Scenario(
        name="Pinebrook Office Systems", start=p.start, days=float(p.scale.days), timezone=TIMEZONE, seed=p.seed,
        centers=list(CENTERS), queues=queues(size), agents=agents(crews(p.effects), size),
        outcomes=outcome_model(p.effects), policy="sticky_blend", policy_params=policy_params(),
        conversation=conversation_model(p.effects), source="<demo>",
    )


def followup_scenario(p: DemoParams) -> Scenario:
    """The second pass: only the follow-up desk and its campaign (leads attached by the caller)."""
    return Scenario(
        name="Pinebrook follow-ups", start=p.start, days=float(p.scale.days), timezone=TIMEZONE, seed=p.seed + 1,
        centers=list(CENTERS), queues=[followup_queue()], agents=agents(followup_crews(), p.scale.size),
        outcomes=outcome_model(p.effects), policy="sticky_blend", policy_params={"review_s": 3600.0},
        conversation=conversation_model(p.effects), source="<demo follow-ups>",
    )


__all__ = ["CENTERS", "FOLLOWUP_QUEUE", "IN_HOUSE", "NEARSHORE", "OFFSHORE", "Crew", "agents", "conversation_model",
           "crews", "followup_scenario", "queues", "scenario"]
