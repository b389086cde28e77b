"""What is said on a sales call, drawn inside the outcome model so it can drive the sale.

An optional :class:`ConversationModel` on a scenario (``Scenario.conversation``) lists
conversation events — the customer confused, the value statement skipped, a competitor
named, a price objection left unanswered — each with a prevalence per center and a
log-odds effect on the sale. :func:`draw_events` draws them for every answered sales call
from their own random stream indexed by (caller, attempt), like every other outcome draw,
and returns the flags and their summed effect; :mod:`closeloop.sim.outcomes` adds that to
the sale's log-odds and keeps the flags on :class:`~closeloop.sim.outcomes.Outcomes`, so
a transcript generator can render the events that actually moved the outcome.

An event with ``given`` is drawn only on calls where that other event happened (an
unanswered objection needs an objection); its prevalence is then conditional.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from closeloop.errors import ScenarioError


@dataclass
class TalkEvent:
    """One kind of moment on a sales call: how often (per center) and what it does to the sale."""

    name: str
    prevalence: float
    effect: float = 0.0
    given: str = ""
    center_prevalence: dict[str, float] = field(default_factory=dict)

    def rate(self, center_id: str) -> float:
        """Prevalence on calls taken by an agent of ``center_id``."""
        return self.center_prevalence.get(center_id, self.prevalence)


@dataclass
class ConversationModel:
    """Events drawn on answered sales calls, in order (a ``given`` event comes after its parent)."""

    events: list[TalkEvent] = field(default_factory=list)

    def check(self, path: str, centers: set[str]) -> None:
        """Raise ScenarioError for a prevalence outside 0-1, an unknown center or parent."""
        seen: set[str] = set()
        for e in self.events:
            key = f"conversation.{e.name}"
            if e.name in seen:
                raise ScenarioError(path, key, "event appears twice")
            if e.given and e.given not in seen:
                raise ScenarioError(path, f"{key}.given", f"{e.given!r} is not an event listed before it")
            for c, p in [("", e.prevalence), *e.center_prevalence.items()]:
                if c and c not in centers:
                    raise ScenarioError(path, f"{key}.center_prevalence", f"unknown center {c!r}")
                if not 0.0 <= p <= 1.0:
                    raise ScenarioError(path, f"{key}.prevalence", f"{p} is not a probability")
            seen.add(e.name)


def draw_events(
    model: ConversationModel, center_index: np.ndarray, centers: list[str], u: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Event flags for calls taken in ``centers[center_index]`` and their summed log-odds effect.

    ``u`` holds one uniform per call and event (columns in ``model.events`` order).
    """
    n = len(center_index)
    flags: dict[str, np.ndarray] = {}
    shift = np.zeros(n)
    for k, e in enumerate(model.events):
        p = np.array([e.rate(c) for c in centers])[center_index] if n else np.zeros(0)
        hit = u[:, k] < p
        if e.given:
            hit &= flags[e.given]
        flags[e.name] = hit
        shift += e.effect * hit
    return flags, shift


def event_uniforms(seed: np.random.SeedSequence, n_fresh: int, width: int, n_events: int) -> np.ndarray:
    """Uniforms [caller, attempt, event] from a stream derived from (not spawned off) ``seed``.

    Deriving by spawn key leaves ``seed`` untouched, so the other outcome draws are the same
    with or without a conversation model.
    """
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 0xC0), pool_size=seed.pool_size)
    return np.random.default_rng(child).random((n_fresh, width, max(n_events, 1)), dtype=np.float32)


__all__ = ["ConversationModel", "TalkEvent", "draw_events", "event_uniforms"]
