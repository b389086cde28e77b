"""Transcripts of answered sales calls, rendered from the events that drove each outcome.

The outcome model drew each call's conversation events (confusion, a repeat request, a
skipped value statement, a competitor, a price objection answered or not) and its
outcome; this module only *renders* them as speaker turns with times, so what the
conversation detectors find is what moved the sale. The customer cues (confusion,
repeats, objections, competitors, brush-offs) are the phrase bank of
:mod:`closeloop.conversations.synthetic`; the script lines and small talk are Pinebrook's
own (office printers and routers), written to hit the default playbook's script steps
and nothing else. Turn times are scaled to the call's talk time.
"""

from __future__ import annotations

import json

import numpy as np

from closeloop.conversations.synthetic import CUES
from closeloop.leads.synthetic import FIRST

SCRIPT = {
    "greeting_in": ["Thank you for calling Pinebrook Office Systems, my name is {agent}, how can I help?",
                    "Good morning, thanks for calling Pinebrook, this is {agent}."],
    "greeting_out": ["Hi, this is {agent} calling from Pinebrook Office Systems.",
                     "Good afternoon, this is {agent} from Pinebrook Office Systems, thanks for taking my call."],
    "needs_discovery": ["What are you using now?", "How many people work in your office?",
                        "Can you tell me about how you print and share files today?"],
    "value_statement": ["The main benefit is you'll save on toner, and it comes with free installation.",
                        "Customers like you get peace of mind: next-day replacement is guaranteed."],
    "price": ["The price is three hundred and ninety dollars.", "It costs forty-five dollars per month on the plan."],
    "close_attempt": ["Would you like to go ahead today?", "Shall we get you started?"],
    "order_capture": ["Great, I'll take the card number for the order now.",
                      "Lovely, and the shipping address, please."],
}
PRICE_ANSWER = [CUES["price_answer"][0], "That's a fair question: the plan lets you pay in installments."]
AGENT_FILLER = [
    "Okay, let me note that down.", "Right, I see.", "Sure, no problem at all.", "Perfect, thanks.", "Got it.",
    "Our printers handle up to forty pages a minute.",
    "The router covers an office of about three thousand square feet.",
    "Delivery usually takes three to five business days.", "That model works with Windows and Mac.",
    "Okay, that all looks fine.", "Great, thanks for that.",
]
AGENT_REPHRASE = ["Okay, in other words, it prints and scans in one box.", "Sure, so put simply, it just works."]
CUSTOMER_FILLER = [
    "Okay.", "Yes.", "Sure.", "That's fine.", "Right.", "Mm-hm.", "We're an office of twelve people.",
    "Mostly invoices and contracts.", "Our old printer keeps jamming.", "We have two floors.", "Okay, sounds fine.",
    "Uh-huh.", "Yes, that works.",
]
CUSTOMER_OPEN = ["I'm looking at options for our office.", "We need a new printer for the office.",
                 "I filled in the form on your website.", "Okay, I have a couple of minutes."]
YES = ["Yes, let's do it.", "Okay, that sounds good to me."]
NO = ["No, not today, thanks.", "Hmm, it's not for us right now."]
AGENT_BYE = {True: "You're all set, thanks for your order.", False: "Alright, thanks for your time."}
EVENTS = ("confusion", "repeat_request", "value_skipped", "competitor", "price_objection", "objection_unanswered")


def _pick(options: list[str], r: float) -> str:
    return options[int(r * len(options)) % len(options)]


def call_turns(ev: dict[str, bool], sale: bool, inbound: bool, agent_name: str, u: list[float]
               ) -> list[tuple[str, str]]:
    """(speaker, text) turns of one call, alternating agent/customer, with its events in place."""
    a: list[tuple[str, str]] = []
    k = iter(u)

    def pair(agent: str, customer: str) -> None:
        a.append(("agent", agent))
        a.append(("customer", customer))

    greet = SCRIPT["greeting_in" if inbound else "greeting_out"]
    pair(_pick(greet, next(k)).format(agent=agent_name), _pick(CUSTOMER_OPEN, next(k)))
    pair(_pick(SCRIPT["needs_discovery"], next(k)),
         _pick(CUES["competitor"], next(k)) if ev["competitor"] else _pick(CUSTOMER_FILLER, next(k)))
    for _ in range(2 + int(next(k) * 4)):  # small talk about the office and its needs
        pair(_pick(AGENT_FILLER, next(k)), _pick(CUSTOMER_FILLER, next(k)))
    pair(_pick(AGENT_FILLER, next(k)), _pick(CUES["confusion"], next(k)) if ev["confusion"]
         else _pick(CUSTOMER_FILLER, next(k)))
    if ev["confusion"]:
        pair(_pick(AGENT_REPHRASE, next(k)), _pick(CUSTOMER_FILLER, next(k)))
    value = _pick(AGENT_FILLER, next(k)) if ev["value_skipped"] else _pick(SCRIPT["value_statement"], next(k))
    pair(value, _pick(CUES["repeat_request"], next(k)) if ev["repeat_request"] else _pick(CUSTOMER_FILLER, next(k)))
    if ev["repeat_request"]:
        pair(_pick(AGENT_REPHRASE, next(k)), _pick(CUSTOMER_FILLER, next(k)))
    pair(_pick(SCRIPT["price"], next(k)), _pick(CUES["price_objection"], next(k)) if ev["price_objection"]
         else _pick(CUSTOMER_FILLER, next(k)))
    if ev["price_objection"]:
        first = _pick(AGENT_FILLER, next(k)) if ev["objection_unanswered"] else _pick(PRICE_ANSWER, next(k))
        pair(first, _pick(CUSTOMER_FILLER, next(k)))
        pair(_pick(AGENT_FILLER, next(k)), _pick(CUSTOMER_FILLER, next(k)))
    reply = _pick(YES, next(k)) if sale else (_pick(CUES["gives_up"], next(k)) if next(k) < 0.5
                                              else _pick(NO, next(k)))
    pair(_pick(SCRIPT["close_attempt"], next(k)), reply)
    if sale:
        pair(_pick(SCRIPT["order_capture"], next(k)), _pick(CUSTOMER_FILLER, next(k)))
    pair(AGENT_BYE[sale], "Thanks, bye.")
    return a


def _timed_lines(call_id: list[str], turns: list[list[tuple[str, str]]], talk_s: np.ndarray,
                 rng: np.random.Generator) -> list[str]:
    """JSON lines with turn times: lengths from word counts, stretched (pauses kept natural) to the talk time."""
    sizes = np.array([len(t) for t in turns], dtype=np.int64)
    flat = [x for t in turns for x in t]
    texts = sorted({x[1] for x in flat})
    code = {x: i for i, x in enumerate(texts)}
    idx = np.array([code[x[1]] for x in flat], dtype=np.int64)
    words = np.array([len(x.split()) for x in texts], dtype=float)[idx]
    u = rng.random((2, len(flat)))
    length = 0.6 + words / 2.6 * (0.8 + 0.4 * u[0])
    gap = 0.2 + 0.8 * u[1]
    call = np.repeat(np.arange(len(turns)), sizes)
    gap_sum = np.bincount(call, gap, len(turns))
    len_sum = np.bincount(call, length, len(turns))
    f = np.maximum(talk_s - gap_sum, 1.0) / len_sum
    length = length * f[call]
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    cum = np.cumsum(gap + length)
    before = np.r_[0.0, cum[:-1]]
    base = before[first][call]  # time already used by earlier calls in the flat arrays
    end = cum - base
    start = end - length
    tail = [',"text":' + json.dumps(x) + "}" for x in texts]
    head = {s: '{"speaker":"' + s + '","start":' for s in ("agent", "customer")}
    start_s = [f"{x:.1f}" for x in start.tolist()]
    end_s = [f"{x:.1f}" for x in end.tolist()]
    turn = [head[s] + b + ',"end":' + e + tail[c]
            for (s, _), b, e, c in zip(flat, start_s, end_s, idx.tolist(), strict=True)]
    out, pos = [], 0
    for cid, n in zip(call_id, sizes.tolist(), strict=True):
        out.append(f'{{"call_id":{json.dumps(cid)},"turns":[{",".join(turn[pos:pos + n])}]}}')
        pos += n
    return out


def transcript_lines(call_id: list[str], outcome: list[str], direction: list[str], agent_id: list[str],
                     talk_s: np.ndarray, events: dict[str, np.ndarray], rng: np.random.Generator) -> list[str]:
    """One canonical JSON line per call: ``{"call_id": ..., "turns": [...]}`` (events index like call_id)."""
    n = len(call_id)
    u_turn = rng.random((n, 48)).tolist()
    flags = {e: events[e].tolist() for e in EVENTS}
    names = {a: FIRST[hash_index(a, len(FIRST))] for a in set(agent_id)}
    turns = [call_turns({e: flags[e][i] for e in EVENTS}, outcome[i] == "sale", direction[i] == "inbound",
                        names[agent_id[i]], u_turn[i]) for i in range(n)]
    return _timed_lines(call_id, turns, np.asarray(talk_s, dtype=float), rng)


def hash_index(text: str, n: int) -> int:
    """A stable index from a string (Python's ``hash`` changes between runs)."""
    h = 0
    for ch in text:
        h = (h * 31 + ord(ch)) % 1_000_003
    return h % n


__all__ = ["EVENTS", "SCRIPT", "call_turns", "transcript_lines"]
