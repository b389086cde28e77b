"""Transcripts render exactly the events the outcome model drew: the default playbook finds them, and only them."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from closeloop.conversations.detect import Detector
from closeloop.conversations.playbook import default_playbook
from closeloop.conversations.turns import Transcript, Turn, batch_from_transcripts
from closeloop.demo.transcripts import EVENTS, transcript_lines


def _cases() -> list[tuple[dict[str, bool], bool, str]]:
    out = []
    for bits in itertools.product([False, True], repeat=len(EVENTS)):
        ev = dict(zip(EVENTS, bits, strict=True))
        if ev["objection_unanswered"] and not ev["price_objection"]:
            continue
        for sale, direction in ((True, "inbound"), (False, "outbound"), (False, "inbound")):
            out.append((ev, sale, direction))
    return out


@pytest.fixture(scope="module")
def detected() -> tuple[list[tuple[dict[str, bool], bool, str]], dict[str, np.ndarray], list[str]]:
    cases = _cases() * 3
    n = len(cases)
    events = {e: np.array([c[0][e] for c in cases]) for e in EVENTS}
    lines = transcript_lines([f"C{i:04d}" for i in range(n)], ["sale" if c[1] else "no_sale" for c in cases],
                             [c[2] for c in cases], [f"A{i % 7}" for i in range(n)],
                             np.random.default_rng(1).uniform(60, 900, n), events, np.random.default_rng(2))
    transcripts = []
    for line in lines:
        obj = json.loads(line)
        turns = tuple(Turn(t["speaker"], t["start"], t["end"], t["text"]) for t in obj["turns"])
        transcripts.append(Transcript(obj["call_id"], turns, "sales"))
    found = Detector(default_playbook()).run(batch_from_transcripts(transcripts))
    return cases, {k: np.asarray(v) for k, v in found.features.items()}, lines


@pytest.mark.parametrize(("feature", "truth"), [
    ("confusion", lambda ev, sale: ev["confusion"]),
    ("repeat_request", lambda ev, sale: ev["repeat_request"]),
    ("no_value_statement", lambda ev, sale: ev["value_skipped"]),
    ("competitor", lambda ev, sale: ev["competitor"]),
    ("price_objection", lambda ev, sale: ev["price_objection"]),
    ("unanswered_price_objection", lambda ev, sale: ev["price_objection"] and ev["objection_unanswered"]),
    ("no_order_capture", lambda ev, sale: not sale),
    ("no_greeting", lambda ev, sale: False),
    ("no_needs_discovery", lambda ev, sale: False),
    ("no_price", lambda ev, sale: False),
    ("no_close_attempt", lambda ev, sale: False),
    ("agent_lost_place", lambda ev, sale: False),
    ("script_out_of_order", lambda ev, sale: False),
    ("hold", lambda ev, sale: False),
])
def test_playbook_finds_exactly_the_planted_events(detected, feature, truth) -> None:  # type: ignore[no-untyped-def]
    cases, features, _ = detected
    want = np.array([truth(ev, sale) for ev, sale, _ in cases])
    got = features[feature].astype(bool)
    assert (got == want).all(), f"{feature}: {int((got != want).sum())} of {len(want)} calls differ"


def test_turns_are_timed_in_order_within_the_talk_time(detected) -> None:  # type: ignore[no-untyped-def]
    _, _, lines = detected
    talk = np.random.default_rng(1).uniform(60, 900, len(lines))
    for line, t in zip(lines, talk, strict=True):
        turns = json.loads(line)["turns"]
        ends = [x["end"] for x in turns]
        starts = [x["start"] for x in turns]
        assert all(s < e for s, e in zip(starts, ends, strict=True))
        assert all(e <= s2 for e, s2 in zip(ends, starts[1:], strict=False))
        assert ends[-1] <= t + 0.1
        assert [x["speaker"] for x in turns[:2]] == ["agent", "customer"]
