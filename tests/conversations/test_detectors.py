"""Every detector on hand-written transcripts: positives, near-misses and negatives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.conversations import Detector, Transcript, Turn, batch_from_transcripts, default_playbook
from closeloop.conversations.detect import Detection


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(default_playbook())


def run(detector: Detector, *turns: tuple[str, str], call_type: str = "sales", gap: float = 0.5) -> Detection:
    """One call whose turns follow each other ``gap`` seconds apart, each 2 s long."""
    out, clock = [], 0.0
    for speaker, text in turns:
        out.append(Turn(speaker, clock, clock + 2.0, text))
        clock += 2.0 + gap
    return detector.run(batch_from_transcripts([Transcript("C1", tuple(out), call_type)]))


def kinds(d: Detection) -> list[str]:
    return d.events["kind"]


@pytest.mark.parametrize(("name", "speaker", "positive", "near_miss"), [
    ("confusion", "customer", "Sorry, what? I don't get it.", "I get it, sorry, whatever works."),
    ("confusion", "customer", "Huh?", "Huh, interesting."),
    ("repeat_request", "customer", "Could you say that again please?", "I'll say it again: one more thing."),
    ("agent_lost_place", "agent", "Sorry, where was I?", "Where I live it's fine."),
    ("price_objection", "customer", "Honestly that's too expensive for me.", "It's not too expensive at all."),
    ("price_objection", "customer", "We can't afford that.", "Cheaper than I thought, to be honest."),
    ("competitor", "customer", "Vantel gives me that for less.", "Vantelli is a restaurant near me."),
    ("competitor", "agent", "Unlike NorthStar Mobile we have no contract.", "I'm with you on that."),
    ("gives_up", "customer", "Look, I'll think about it.", "I'm not interested in the basic plan, the premium one."),
    ("hold", "agent", "Can I put you on hold for a moment?", "Hold on to your receipt."),
])
def test_detector_positive_and_near_miss(detector: Detector, name: str, speaker: str, positive: str,
                                         near_miss: str) -> None:
    other = "agent" if speaker == "customer" else "customer"
    hit = run(detector, (other, "Okay."), (speaker, positive))
    miss = run(detector, (other, "Okay."), (speaker, near_miss))
    assert name in kinds(hit)
    (event,) = [e for e in zip(*hit.events.values(), strict=True) if e[2] == name]
    call_id, turn, _, category, spk, start_s, _, matched, evidence, method, _ = event
    assert (call_id, turn, category, spk, start_s, evidence, method) == ("C1", 1, "detector", speaker, 2.5,
                                                                       positive, "lexical")
    assert matched and matched.lower() in positive.lower()
    assert name not in kinds(miss)
    assert hit.features[name][0] and not miss.features[name][0]


@pytest.mark.parametrize("name", ["confusion", "price_objection", "gives_up", "repeat_request"])
def test_customer_detectors_ignore_the_agent(detector: Detector, name: str) -> None:
    phrase = {"confusion": "I'm confused", "price_objection": "too expensive", "gives_up": "I'll think about it",
              "repeat_request": "can you repeat that"}[name]
    d = run(detector, ("agent", f"Some people say {phrase}."), ("customer", "Okay."))
    assert name not in kinds(d)


def test_negative_call_has_no_detector_events(detector: Detector) -> None:
    d = run(detector, ("agent", "Okay, let me note that down."), ("customer", "Yes, that's the right address."),
            ("agent", "Perfect, thanks."), ("customer", "Mm-hm."))
    assert [k for k, c in zip(d.events["kind"], d.events["category"], strict=True) if c == "detector"] == []


def test_price_objection_answered_or_not(detector: Detector) -> None:
    answered = run(detector, ("customer", "That's too expensive."),
                   ("agent", "I hear you: it works out to a dollar a day."))
    late = run(detector, ("customer", "That's too expensive."), ("agent", "Okay."), ("customer", "Yes."),
               ("agent", "Right."), ("customer", "Hm."), ("agent", "We have a payment plan."))
    assert answered.features["price_objection"][0] and not answered.features["unanswered_price_objection"][0]
    assert late.features["unanswered_price_objection"][0]  # answer came after 2 agent turns: too late
    value = dict(zip(answered.events["kind"], answered.events["value"], strict=True))["price_objection"]
    assert value == 1.0
    assert "unanswered_price_objection" in kinds(late)


def test_price_objection_only_on_sales_calls(detector: Detector) -> None:
    care = run(detector, ("customer", "My bill is too expensive."), call_type="care")
    assert "price_objection" not in kinds(care)
    assert "price_objection" in kinds(run(detector, ("customer", "My bill is too expensive.")))


def test_script_steps_coverage_and_order(detector: Detector) -> None:
    full = run(detector, ("agent", "Thank you for calling, my name is Ann."), ("customer", "Hi."),
               ("agent", "What are you using now?"), ("customer", "Cable."),
               ("agent", "The main benefit is you'll save money."), ("customer", "Okay."),
               ("agent", "The price is 30 dollars per month."), ("customer", "Fine."),
               ("agent", "Shall we go ahead?"), ("customer", "Yes."),
               ("agent", "Great, what's the card number?"))
    assert full.metrics["script_coverage"][0] == 1.0 and full.metrics["script_in_order"][0] == 1.0
    assert not any(full.features[f"no_{s}"][0] for s in ("greeting", "value_statement", "close_attempt"))
    skipped = run(detector, ("agent", "Thank you for calling."), ("customer", "Hi."),
                  ("agent", "It costs 30 dollars a month."), ("customer", "Okay."), ("agent", "Shall we go ahead?"))
    assert skipped.features["no_value_statement"][0] and skipped.features["no_order_capture"][0]
    assert skipped.metrics["script_coverage"][0] == pytest.approx(3 / 6)
    backwards = run(detector, ("agent", "Hello."), ("customer", "Hi."), ("agent", "Shall we go ahead?"),
                    ("customer", "With what?"), ("agent", "Okay."), ("agent", "It comes with free installation."),
                    ("agent", "Sorry! Thanks for calling, this is Ann."))
    assert backwards.features["script_out_of_order"][0]
    assert backwards.features["no_greeting"][0]  # a greeting after the agent's first 3 turns is not one


def test_script_is_not_scored_on_care_calls(detector: Detector) -> None:
    d = run(detector, ("agent", "Hi."), ("customer", "My router is broken."), call_type="care")
    assert d.metrics["script_coverage"][0] != d.metrics["script_coverage"][0]  # NaN
    assert not d.features["no_value_statement"][0]


def test_dead_air_hold_interruption_monologue(detector: Detector) -> None:
    turns = (
        Turn("agent", 0.0, 3.0, "Thanks for calling."),
        Turn("customer", 10.0, 12.0, "Hi, my internet is down."),  # 7 s gap: dead air
        Turn("agent", 12.5, 14.0, "Let me put you on hold."),
        Turn("customer", 60.0, 61.0, "Hello?"),  # 46 s after a hold phrase: hold, not dead air
        Turn("agent", 60.5, 140.0, "Okay so what happened is " + "blah " * 50),  # starts 0.5 s before: interruption
        Turn("customer", 141.0, 142.0, "I see."),
    )
    d = detector.run(batch_from_transcripts([Transcript("C9", turns, "care")]))
    ev = {k: (t, v) for k, t, v in zip(d.events["kind"], d.events["turn"], d.events["value"], strict=True)}
    assert ev["dead_air"] == (1, 7.0)
    assert ev["long_hold"][0] == 3 and ev["long_hold"][1] == pytest.approx(46.0)
    assert ev["interruption"] == (4, 0.5)
    assert ev["long_monologue"][0] == 4 and ev["long_monologue"][1] == pytest.approx(79.5)
    m = {k: float(v[0]) for k, v in d.metrics.items()}
    assert m["dead_air_s"] == 7.0 and m["hold_s"] == pytest.approx(46.0) and m["interruptions"] == 1
    assert m["longest_monologue_s"] == pytest.approx(79.5)
    assert m["agent_talk_s"] == pytest.approx(3 + 1.5 + 79.5) and m["customer_talk_s"] == pytest.approx(4.0)


def test_same_speaker_short_interjection_is_not_a_gap(detector: Detector) -> None:
    turns = (Turn("agent", 0.0, 30.0, "A long explanation."), Turn("customer", 5.0, 6.0, "mm"),
             Turn("customer", 31.0, 32.0, "Okay."))
    d = detector.run(batch_from_transcripts([Transcript("C", turns, "care")]))
    assert "dead_air" not in kinds(d)  # the gap before turn 2 is from 30.0 (the agent's end), not 6.0


def test_questions_and_talk_share(detector: Detector) -> None:
    d = run(detector, ("agent", "How are you? What do you need?"), ("customer", "A phone."), gap=0.0)
    assert d.metrics["agent_questions"][0] == 2
    assert d.metrics["agent_talk_share"][0] == pytest.approx(0.5)
    assert d.metrics["agent_questions_per_min"][0] == pytest.approx(2 / (4 / 60))


def test_several_calls_keep_events_apart(detector: Detector) -> None:
    a = Transcript("A", (Turn("customer", 0, 1, "I'm confused."),), "sales")
    b = Transcript("B", (Turn("customer", 0, 1, "Fine."), Turn("customer", 2, 3, "Too expensive.")), "sales")
    d = detector.run(batch_from_transcripts([a, b]))
    assert list(zip(d.events["call_id"], d.events["turn"], d.events["kind"], strict=True))[:2] == [
        ("A", 0, "confusion"), ("B", 1, "price_objection")]
    assert d.features["confusion"].tolist() == [True, False]
    assert d.features["price_objection"].tolist() == [False, True]


_filler = st.sampled_from(["Okay.", "Yes.", "Right, I see.", "Let me note that down.", "Sure.", "Mm-hm."])


@settings(max_examples=50, deadline=None)
@given(before=st.lists(_filler, max_size=5), after=st.lists(_filler, max_size=5),
       phrase=st.sampled_from(["I'm confused", "too expensive", "I'll think about it", "Vantel"]))
def test_a_planted_phrase_is_found_wherever_it_is(before: list[str], after: list[str], phrase: str) -> None:
    """Property: one customer turn carrying a cue is found at its turn, filler never triggers."""
    detector = Detector(default_playbook())
    texts = [*before, f"Well, {phrase}, honestly.", *after]
    turns = tuple(Turn("customer", 2.0 * i, 2.0 * i + 1.0, t) for i, t in enumerate(texts))
    d = detector.run(batch_from_transcripts([Transcript("P", turns, "sales")]))
    found = [(k, t) for k, t, c in zip(d.events["kind"], d.events["turn"], d.events["category"], strict=True)
             if c == "detector" and not k.startswith("unanswered")]
    assert len(found) == 1 and found[0][1] == len(before)


def test_custom_patterns_and_unicode_boundaries() -> None:
    """Regular-expression patterns still work in a company playbook; dashes count as boundaries."""
    from closeloop.conversations import parse_playbook

    pb = parse_playbook(r"""
[detectors.order_ref]
speaker = "agent"
patterns = ['\b[a-z]{2}-\d{4}\b']
[detectors.pricey]
phrases = ["too expensive"]
""")
    d = Detector(pb)
    out = run(d, ("agent", "Your order is AB-1234, okay?"), ("customer", "Hmm\u2014too expensive\u2014really."),
              ("customer", "Too expensively priced."))
    ev = list(zip(out.events["kind"], out.events["turn"], out.events["matched"], strict=True))
    assert ("order_ref", 0, "AB-1234") in ev
    assert ("pricey", 1, "too expensive") in ev
    assert not any(k == "pricey" and t == 2 for k, t, _ in ev)
