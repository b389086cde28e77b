"""Run a playbook over a batch of transcripts: events, per-call metrics, per-call features.

Three outputs, each for a different reader:

* **events** — one row per moment (call, turn, time, speaker, the words that matched): what a
  QA reviewer listens to and what reports quote;
* **metrics** — per-call numbers (talk share, longest monologue, script coverage, ...);
* **features** — per-call yes/no flags ("had a price objection that went unanswered",
  "skipped the value statement"): what pattern → outcome analysis relates to sales.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from closeloop.conversations.lexical import Hits, LexicalMatcher, count_char, join_normalized
from closeloop.conversations.playbook import Cue, Playbook
from closeloop.conversations.timing import call_metrics, timing_events
from closeloop.conversations.turns import TurnBatch

EVENT_COLUMNS = ("call_id", "turn", "kind", "category", "speaker", "start_s", "end_s", "matched", "evidence",
                 "method", "value")
EVIDENCE_CHARS = 300

# A semantic matcher: (batch, cues, hits found so far) -> extra hits (see semantic.py).
SemanticFn = Callable[[TurnBatch, list[Cue], Hits], Hits]


@dataclass(frozen=True)
class Feature:
    """A yes/no property of a call that pattern → outcome analysis tests."""

    name: str
    label: str
    category: str  # detector | script | timing
    calls: str  # sales | care | all


@dataclass(frozen=True)
class Detection:
    """What a playbook found in a batch of calls."""

    call_ids: list[str]
    events: dict[str, list[Any]]
    metrics: dict[str, np.ndarray]
    features: dict[str, np.ndarray]

    @property
    def n_events(self) -> int:
        """How many moments were found."""
        return len(self.events["call_id"])


class Detector:
    """A compiled playbook: build once, run on many batches."""

    def __init__(self, playbook: Playbook, semantic: SemanticFn | None = None) -> None:
        self.playbook = playbook
        answers = [Cue(**{**c.__dict__, "name": f"{owner}.answer"}) for owner, c in playbook.answers.items()]
        self.cues: list[Cue] = [*playbook.detectors, *playbook.steps, *answers]
        self._n_detectors = len(playbook.detectors)
        self._n_steps = len(playbook.steps)
        self._answer_of = {self.cues.index(next(c for c in playbook.detectors if c.name == owner)):
                           self._n_detectors + self._n_steps + i for i, owner in enumerate(playbook.answers)}
        self.matcher = LexicalMatcher(self.cues)
        self._cue_speaker = np.array([("agent", "customer", "any").index(c.speaker) for c in self.cues], dtype=np.int64)
        self._cue_calls = np.array([("sales", "care", "all").index(c.calls) for c in self.cues], dtype=np.int64)
        self._cue_first = np.array([c.first_turns or np.iinfo(np.int64).max for c in self.cues], dtype=np.int64)
        self.semantic = semantic
        self.catalog = feature_catalog(playbook)

    def run(self, batch: TurnBatch) -> Detection:
        """Detect every event, metric and feature in ``batch``."""
        big, offsets = join_normalized(batch.texts)
        hits = self.matcher.find_joined(big, offsets)
        if self.semantic is not None:
            hits = _merge(hits, self.semantic(batch, self.cues, hits))
        hits, methods = _split_method(hits)
        keep = self._applicable(batch, hits)
        hits, methods = _take(hits, keep), methods[keep]
        events = _Events(batch)
        answered, unanswered_turns, unanswered = self._answers(batch, hits)
        self._word_events(batch, hits, methods, answered, events)
        for kind, turns in unanswered_turns.items():
            events.add(turns, [kind] * len(turns), "detector", batch.start[turns], batch.end[turns], None, "derived",
                       np.full(len(turns), np.nan))
        hold_after = np.zeros(batch.n_turns, dtype=bool)
        hold_idx = self._index_of("hold")
        if hold_idx is not None:
            hold_after[hits.turn[hits.cue == hold_idx]] = True
        timing = timing_events(batch, hold_after, self.playbook.settings)
        events.add(timing.turn, timing.kind, "timing", timing.start_s, timing.end_s, None, "timing", timing.value)
        metrics = call_metrics(batch, hold_after, self.playbook.settings, count_char(big, offsets, "?"))
        metrics.update(self._script_metrics(batch, hits))
        features = self._features(batch, hits, unanswered, metrics, timing)
        return Detection(batch.call_ids, events.columns(), metrics, features)

    def _index_of(self, name: str) -> int | None:
        for i, c in enumerate(self.cues[: self._n_detectors]):
            if c.name == name:
                return i
        return None

    def _applicable(self, batch: TurnBatch, hits: Hits) -> np.ndarray:
        """Keep hits whose speaker, call type and turn position fit their cue (vectorised)."""
        call = batch.call_index
        t, c = hits.turn, hits.cue
        turn_speaker = np.where(batch.is_agent, 0, 1)
        call_type = _codes(batch.call_types, ("sales", "care"))
        ok_speaker = (self._cue_speaker[c] == 2) | (self._cue_speaker[c] == turn_speaker[t])
        ctype = call_type[call[t]]
        ok_calls = (self._cue_calls[c] == 2) | (ctype == 2) | (self._cue_calls[c] == ctype)
        ok_position = _agent_rank(batch, call)[t] < self._cue_first[c]
        array: np.ndarray = ok_speaker & ok_calls & ok_position
        return array

    def _word_events(self, batch: TurnBatch, hits: Hits, methods: np.ndarray, answered: np.ndarray,
                     events: _Events) -> None:
        """One event per kept detector or step hit (objection answers are not moments of their own)."""
        keep = hits.cue < self._n_detectors + self._n_steps
        t, c = hits.turn[keep], hits.cue[keep]
        lexical = methods[keep] == "lexical"
        texts = batch.texts
        matched = [texts[k][a:b] if lex else "" for k, a, b, lex in
                   zip(t.tolist(), hits.start[keep].tolist(), hits.end[keep].tolist(), lexical.tolist(), strict=True)]
        names = np.asarray([cue.name for cue in self.cues], dtype=object)
        categories = np.where(c < self._n_detectors, "detector", "script").astype(object)
        events.add(t, names[c].tolist(), categories.tolist(), batch.start[t], batch.end[t], matched,
                   methods[keep].tolist(), answered[keep])

    def _answers(self, batch: TurnBatch, hits: Hits) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Which objections the agent answered within the next ``answer_within_turns`` agent turns.

        Returns a value per hit (1 answered, 0 not, NaN for other hits), the turns of
        unanswered objections per derived kind, and per call whether any went unanswered.
        """
        value = np.full(len(hits.turn), np.nan)
        unanswered = np.zeros(batch.n_calls, dtype=bool)
        derived: dict[str, np.ndarray] = {}
        window = self.playbook.settings.answer_within_turns
        call = batch.call_index
        agent = batch.is_agent
        for obj_idx, ans_idx in self._answer_of.items():
            answered_turns = set(hits.turn[hits.cue == ans_idx].tolist())
            missed = []
            for k in np.flatnonzero(hits.cue == obj_idx).tolist():
                t = int(hits.turn[k])
                hi = int(batch.bounds[call[t] + 1])
                later = (t + 1 + np.flatnonzero(agent[t + 1:hi]))[:window].tolist()
                value[k] = 1.0 if any(j in answered_turns for j in later) else 0.0
                if value[k] == 0.0:
                    missed.append(t)
                    unanswered[call[t]] = True
            derived[f"unanswered_{self.cues[obj_idx].name}"] = np.asarray(missed, dtype=np.int64)
        return value, derived, unanswered

    def _script_metrics(self, batch: TurnBatch, hits: Hits) -> dict[str, np.ndarray]:
        """First turn of each step per call, coverage, and whether covered steps came in order."""
        n, steps = batch.n_calls, self._n_steps
        first = np.full((n, steps), np.nan)
        call = batch.call_index
        for s in range(steps):
            mask = hits.cue == self._n_detectors + s
            col = np.full(n, np.inf)
            np.minimum.at(col, call[hits.turn[mask]], hits.turn[mask].astype(float))
            first[:, s] = np.where(np.isinf(col), np.nan, col)
        scripted = np.array([self._script_applies(t) for t in batch.call_types], dtype=bool)
        if steps == 0:
            return {"script_coverage": np.full(n, np.nan), "script_in_order": np.full(n, np.nan)}
        coverage = np.where(scripted, np.mean(~np.isnan(first), axis=1), np.nan)
        running = np.fmax.accumulate(first, axis=1)
        earlier = np.concatenate([np.full((n, 1), np.nan), running[:, :-1]], axis=1)
        with np.errstate(invalid="ignore"):
            out_of_order = np.any(first < earlier, axis=1)
        in_order = np.where(scripted, (~out_of_order).astype(float), np.nan)
        out = {"script_coverage": coverage, "script_in_order": in_order}
        for s, cue in enumerate(self.cues[self._n_detectors:self._n_detectors + steps]):
            out[f"step_{cue.name}"] = np.where(scripted, (~np.isnan(first[:, s])).astype(float), np.nan)
        return out

    def _script_applies(self, call_type: str | None) -> bool:
        return self.playbook.script_calls == "all" or call_type is None or call_type == self.playbook.script_calls

    def _features(self, batch: TurnBatch, hits: Hits, unanswered: np.ndarray, metrics: dict[str, np.ndarray],
                  timing: Any) -> dict[str, np.ndarray]:
        n = batch.n_calls
        call = batch.call_index
        out: dict[str, np.ndarray] = {}
        for i, cue in enumerate(self.cues[: self._n_detectors]):
            flag = np.zeros(n, dtype=bool)
            flag[call[hits.turn[hits.cue == i]]] = True
            out[cue.name] = flag
            if i in self._answer_of:
                out[f"unanswered_{cue.name}"] = unanswered.copy()
        for cue in self.cues[self._n_detectors:self._n_detectors + self._n_steps]:
            out[f"no_{cue.name}"] = metrics[f"step_{cue.name}"] == 0.0
        if self._n_steps:
            out["script_out_of_order"] = metrics["script_in_order"] == 0.0
        kinds = np.asarray(timing.kind, dtype=object)
        for kind in ("dead_air", "long_hold", "interruption", "long_monologue"):
            flag = np.zeros(n, dtype=bool)
            flag[call[timing.turn[kinds == kind]]] = True
            out[kind] = flag
        settings = self.playbook.settings
        with np.errstate(invalid="ignore"):
            out["agent_talks_too_much"] = metrics["agent_talk_share"] > settings.talk_share_high
            out["few_questions"] = metrics["agent_questions_per_min"] < settings.question_rate_low
        return {name: out[name] for name in (f.name for f in self.catalog) if name in out}


def feature_catalog(playbook: Playbook) -> list[Feature]:
    """Every feature a playbook yields, with its label and the calls it applies to."""
    feats = []
    for cue in playbook.detectors:
        feats.append(Feature(cue.name, cue.label, "detector", cue.calls))
        if cue.name in playbook.answers:
            feats.append(Feature(f"unanswered_{cue.name}", f"{cue.label}, not answered", "detector", cue.calls))
    for cue in playbook.steps:
        feats.append(Feature(f"no_{cue.name}", f"Skipped: {cue.label}", "script", playbook.script_calls))
    if playbook.steps:
        feats.append(Feature("script_out_of_order", "Script steps out of order", "script", playbook.script_calls))
    s = playbook.settings
    feats += [
        Feature("dead_air", f"Dead air over {s.dead_air_s:g} s", "timing", "all"),
        Feature("long_hold", f"Silence/hold of {s.hold_s:g} s or more", "timing", "all"),
        Feature("interruption", "Interruption (overlapping turns)", "timing", "all"),
        Feature("long_monologue", f"Agent monologue over {s.long_monologue_s:g} s", "timing", "all"),
        Feature("agent_talks_too_much", f"Agent talk share over {s.talk_share_high:.0%}", "timing", "all"),
        Feature("few_questions", f"Under {s.question_rate_low:g} agent questions a minute", "timing", "all"),
    ]
    return feats


class _Events:
    """Columnar event collector: parts are added as arrays and joined once per batch."""

    def __init__(self, batch: TurnBatch) -> None:
        self.batch = batch
        self._parts: list[tuple[Any, ...]] = []

    def add(self, turns: np.ndarray, kinds: list[str], category: str | list[str], start: np.ndarray,
            end: np.ndarray, matched: list[str] | None, method: str | list[str], value: np.ndarray) -> None:
        n = len(turns)
        cats = [category] * n if isinstance(category, str) else category
        meth = [method] * n if isinstance(method, str) else method
        self._parts.append((np.asarray(turns, dtype=np.int64), list(kinds), cats, np.asarray(start, dtype=float),
                            np.asarray(end, dtype=float), matched if matched is not None else [""] * n, meth,
                            np.asarray(value, dtype=float)))

    def columns(self) -> dict[str, list[Any]]:
        b = self.batch
        parts = self._parts or [(np.zeros(0, dtype=np.int64), [], [], np.zeros(0), np.zeros(0), [], [], np.zeros(0))]
        turns = np.concatenate([p[0] for p in parts])
        value = np.concatenate([p[7] for p in parts])
        ids = np.asarray(b.call_ids, dtype=object)
        texts = b.texts
        return {
            "call_id": ids[b.call_index[turns]].tolist(),
            "turn": b.turn_numbers[turns].tolist(),
            "kind": [k for p in parts for k in p[1]],
            "category": [c for p in parts for c in p[2]],
            "speaker": np.where(b.is_agent[turns], "agent", "customer").tolist(),
            "start_s": np.concatenate([p[3] for p in parts]).tolist(),
            "end_s": np.concatenate([p[4] for p in parts]).tolist(),
            "matched": [m for p in parts for m in p[5]],
            "evidence": [texts[t][:EVIDENCE_CHARS] for t in turns.tolist()],
            "method": [m for p in parts for m in p[6]],
            "value": [None if v != v else v for v in value.tolist()],
        }


def _codes(values: list[Any], names: tuple[str, ...]) -> np.ndarray:
    """Small-integer codes of ``values`` by position in ``names`` (anything else: len(names))."""
    lookup = {n: i for i, n in enumerate(names)}
    other = len(names)
    return np.fromiter((lookup.get(v, other) for v in values), dtype=np.int64, count=len(values))


def _agent_rank(batch: TurnBatch, call: np.ndarray) -> np.ndarray:
    """For each turn, how many agent turns came before it in its call."""
    agent = batch.is_agent.astype(np.int64)
    before = np.cumsum(agent) - agent
    if batch.n_turns == 0:
        return before
    array: np.ndarray = before - before[batch.bounds[:-1][call]]
    return array


_SEMANTIC_FLAG = 1 << 40  # cue indices of semantic hits carry this bit until split off


def _merge(a: Hits, b: Hits) -> Hits:
    """Lexical hits plus semantic ones (marked so their method can be told apart)."""
    return Hits(np.concatenate([a.turn, b.turn]), np.concatenate([a.cue, b.cue | _SEMANTIC_FLAG]),
                np.concatenate([a.start, b.start]), np.concatenate([a.end, b.end]))


def _split_method(hits: Hits) -> tuple[Hits, np.ndarray]:
    semantic = (hits.cue & _SEMANTIC_FLAG) != 0
    methods = np.where(semantic, "semantic", "lexical").astype(object)
    return Hits(hits.turn, hits.cue & ~_SEMANTIC_FLAG, hits.start, hits.end), methods


def _take(hits: Hits, keep: np.ndarray) -> Hits:
    return Hits(hits.turn[keep], hits.cue[keep], hits.start[keep], hits.end[keep])
