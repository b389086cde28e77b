"""Seeded synthetic calls with planted conversation effects, for tests, benchmarks and demos.

Transcripts are assembled from neutral filler lines and phrases of the default playbook,
and each call's outcome is drawn from a logistic model whose coefficients are *known*:
confusion, a skipped value statement, competitor mentions, an unanswered price objection
and a customer giving up lower the odds of a sale; repeat requests and dead air are
planted with **no** effect, so analysis can be checked both ways (true effects found
with the right sign, null ones not called significant). Center, lead source and agent
shift the base rate and correlate with the patterns (one center confuses customers more
and has weaker leads), which is what adjustment must see through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from closeloop.conversations.turns import Transcript, Turn

# Log-odds effects planted on the sale outcome.
PLANTED = {
    "confusion": -1.0,
    "no_value_statement": -0.9,
    "competitor": -0.7,
    "unanswered_price_objection": -0.6,
    "gives_up": -1.2,
    "repeat_request": 0.0,
    "dead_air": 0.0,
}
PREVALENCE = {
    "confusion": 0.18, "no_value_statement": 0.25, "competitor": 0.2, "price_objection": 0.3,
    "answered_share": 0.5, "gives_up": 0.08, "repeat_request": 0.15, "dead_air": 0.1,
}
CENTERS = {"MNL": (-0.3, 1.8), "AUS": (0.2, 1.0), "CLT": (0.0, 1.0)}  # (base log-odds shift, confusion multiplier)
SOURCES = {"web_form": 0.3, "partner": 0.0, "purchased_list": -0.6}

AGENT_FILLER = [
    "Okay, let me note that down.", "Right, I see.", "Sure, no problem at all.", "Let me just pull that up.",
    "Perfect, thanks.", "Got it.", "Alright, and the installation usually takes about a week.",
    "We cover the whole region.", "That's right.", "Thanks for waiting.", "Okay, that all looks fine.",
    "Let me confirm the spelling.", "I can see your area is covered.", "Great, thanks for that.",
]
CUSTOMER_FILLER = [
    "Okay.", "Yes.", "Sure.", "That's fine.", "Right.", "Mm-hm.", "It's a two bedroom flat.",
    "We work from home mostly.", "Yes, that's the right address.", "Okay, sounds fine.", "Uh-huh.",
    "We have three kids.", "Mostly in the evenings.", "Yes, that works.",
]
SCRIPT = {
    "greeting": ["Thank you for calling, my name is {agent}.", "Good morning, thanks for calling, this is {agent}."],
    "needs_discovery": ["What are you using now?", "Can you tell me about how you use the internet at home?",
                        "What matters most to you in a plan?"],
    "value_statement": ["The main benefit is you'll save about twenty percent, and it comes with free installation.",
                        "Customers like you get peace of mind: no contract and a guaranteed speed."],
    "price": ["The price is forty dollars per month.", "It costs thirty-five dollars a month."],
    "close_attempt": ["Would you like to go ahead today?", "Shall we get you started?"],
    "order_capture": ["Great, can I take the card number for the order?", "Lovely, what's the billing address?"],
}
CUES = {
    "confusion": ["Sorry, what? I don't understand.", "I'm confused, what does that mean?", "You lost me there."],
    "competitor": ["I'm currently with Vantel.", "Brightwave called me last week with an offer.",
                   "I got a quote from Orbis."],
    "price_objection": ["That's too expensive for us.", "Hmm, I can't afford that right now.", "That's a bit pricey."],
    "price_answer": ["I understand. With the payment plan it works out to very little per day.",
                     "I hear you, and compared to what you pay now you'll save."],
    "gives_up": ["I'll think about it.", "Just send me an email.", "I'm not interested, thanks."],
    "repeat_request": ["Can you repeat that?", "Sorry, you're breaking up.", "Could you say that again?"],
}


@dataclass
class SyntheticCalls:
    """Transcripts plus the call records and the planted truth."""

    transcripts: list[Transcript]
    calls: list[dict[str, object]]
    leads: list[dict[str, object]]
    truth: dict[str, np.ndarray] = field(default_factory=dict)


def synthetic_sales_calls(n: int, rng: np.random.Generator, turns: int = 60, agents_per_center: int = 8,
                          base_log_odds: float = -0.3) -> SyntheticCalls:
    """``n`` answered sales calls of about ``turns`` turns with the :data:`PLANTED` effects."""
    centers = list(CENTERS)
    center = rng.choice(len(centers), size=n)
    source_names = list(SOURCES)
    # weaker leads go to the offshore center more often: mix that adjustment must separate
    source = np.where(center == 0, rng.choice(3, size=n, p=[0.2, 0.3, 0.5]), rng.choice(3, size=n, p=[0.5, 0.3, 0.2]))
    agent = rng.integers(0, agents_per_center, size=n)
    agent_effect = rng.normal(0, 0.25, size=(len(centers), agents_per_center))
    conf_mult = np.array([CENTERS[c][1] for c in centers])[center]
    truth = {
        "confusion": rng.random(n) < PREVALENCE["confusion"] * conf_mult,
        "no_value_statement": rng.random(n) < PREVALENCE["no_value_statement"],
        "competitor": rng.random(n) < PREVALENCE["competitor"],
        "price_objection": rng.random(n) < PREVALENCE["price_objection"],
        "gives_up": rng.random(n) < PREVALENCE["gives_up"],
        "repeat_request": rng.random(n) < PREVALENCE["repeat_request"],
        "dead_air": rng.random(n) < PREVALENCE["dead_air"],
    }
    truth["unanswered_price_objection"] = truth["price_objection"] & (rng.random(n) >= PREVALENCE["answered_share"])
    eta = (base_log_odds + np.array([CENTERS[c][0] for c in centers])[center]
           + np.array([SOURCES[s] for s in source_names])[source] + agent_effect[center, agent])
    for name, beta in PLANTED.items():
        eta = eta + beta * truth[name]
    sale = rng.random(n) < 1.0 / (1.0 + np.exp(-eta))
    transcripts, calls, leads = [], [], []
    start = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    for i in range(n):
        call_id = f"S{i:06d}"
        agent_id = f"{centers[center[i]]}-A{agent[i]:02d}"
        flags = {k: bool(v[i]) for k, v in truth.items()}
        spoken = _turns(flags, bool(sale[i]), turns, rng)
        transcripts.append(Transcript(call_id, spoken, "sales"))
        offered = start + timedelta(minutes=2 * i)
        answered = offered + timedelta(seconds=5)
        calls.append({"call_id": call_id, "center_id": centers[center[i]], "queue": "sales", "direction": "outbound",
                      "call_type": "sales", "offered_at": offered, "answered_at": answered,
                      "ended_at": answered + timedelta(seconds=spoken[-1].end), "agent_id": agent_id,
                      "lead_id": f"L{i:06d}", "hold_s": 0.0, "wrap_s": 30.0,
                      "outcome": "sale" if sale[i] else "no_sale", "order_value": 40.0 if sale[i] else None})
        leads.append({"lead_id": f"L{i:06d}", "created_at": offered - timedelta(hours=1),
                      "source": source_names[source[i]]})
    truth["sale"] = sale
    return SyntheticCalls(transcripts, calls, leads, truth)


def _turns(flags: dict[str, bool], sale: bool, n_turns: int, rng: np.random.Generator) -> tuple[Turn, ...]:
    """Alternate agent/customer turns; script lines and planted cues at plausible places."""
    agent_lines: dict[int, str] = {0: _pick(SCRIPT["greeting"], rng).format(agent="Sam"),
                                   4: _pick(SCRIPT["needs_discovery"], rng)}
    customer_lines: dict[int, str] = {}
    if not flags["no_value_statement"]:
        agent_lines[10] = _pick(SCRIPT["value_statement"], rng)
    agent_lines[n_turns // 3] = _pick(SCRIPT["price"], rng)
    agent_lines[2 * n_turns // 3] = _pick(SCRIPT["close_attempt"], rng)
    if sale:
        agent_lines[n_turns - 6] = _pick(SCRIPT["order_capture"], rng)
    if flags["price_objection"]:
        t = n_turns // 3 + 1
        customer_lines[t] = _pick(CUES["price_objection"], rng)
        if not flags["unanswered_price_objection"]:
            agent_lines[t + 1] = _pick(CUES["price_answer"], rng)
    for name, at in (("confusion", 13), ("competitor", 7), ("repeat_request", 17), ("gives_up", n_turns - 3)):
        if flags[name]:
            customer_lines[at] = _pick(CUES[name], rng)
    dead_at = int(rng.integers(5, n_turns - 5)) if flags["dead_air"] else -1
    out, clock = [], 0.0
    for t in range(n_turns):
        agent = t % 2 == 0
        text = (agent_lines if agent else customer_lines).get(t) or _pick(AGENT_FILLER if agent else CUSTOMER_FILLER,
                                                                          rng)
        clock += 12.0 if t == dead_at else float(rng.uniform(0.2, 1.2))
        length = float(rng.uniform(1.5, 6.0)) if agent else float(rng.uniform(0.8, 3.5))
        out.append(Turn("agent" if agent else "customer", round(clock, 2), round(clock + length, 2), text))
        clock += length
    return tuple(out)


def _pick(options: list[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]
