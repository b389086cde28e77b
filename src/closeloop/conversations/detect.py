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

from closeloop.conversations.lexical import Hits, LexicalMatcher
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
        hits = self.matcher.find(batch.texts)
        if self.semantic is not None:
            hits = _merge(hits, self.semantic(batch, self.cues, hits))
        hits, methods = _split_method(hits)
        keep = self._applicable(batch, hits)
        hits, methods = _take(hits, keep), methods[keep]
        events = _Events(batch)
        self._word_events(batch, hits, methods, events)
        unanswered = self._answers(batch, hits, events)
        hold_after = np.zeros(batch.n_turns, dtype=bool)
        hold_idx = self._index_of("hold")
        if hold_idx is not None:
            hold_after[hits.turn[hits.cue == hold_idx]] = True
        timing = timing_events(batch, hold_after, self.playbook.settings)
        for kind, t, s, e, v in zip(timing.kind, timing.turn, timing.start_s, timing.end_s, timing.value, strict=True):
            events.add(int(t), kind, "timing", float(s), float(e), "", "timing", float(v))
        metrics = call_metrics(batch, hold_after, self.playbook.settings)
        metrics.update(self._script_metrics(batch, hits))
        features = self._features(batch, hits, unanswered, metrics, timing)
        return Detection(batch.call_ids, events.columns, metrics, features)

    def _index_of(self, name: str) -> int | None:
        for i, c in enumerate(self.cues[: self._n_detectors]):
            if c.name == name:
                return i
        return None

    def _applicable(self, batch: TurnBatch, hits: Hits) -> np.ndarray:
        """Keep hits whose speaker, call type and turn position fit their cue (vectorised)."""
        call = batch.call_index()
        t, c = hits.turn, hits.cue
        turn_speaker = _codes(batch.speakers, ("agent", "customer"))
        call_type = _codes(batch.call_types, ("sales", "care"))
        ok_speaker = (self._cue_speaker[c] == 2) | (self._cue_speaker[c] == turn_speaker[t])
        ctype = call_type[call[t]]
        ok_calls = (self._cue_calls[c] == 2) | (ctype == 2) | (self._cue_calls[c] == ctype)
        ok_position = _agent_rank(batch, call)[t] < self._cue_first[c]
        return ok_speaker & ok_calls & ok_position

    def _word_events(self, batch: TurnBatch, hits: Hits, methods: np.ndarray, events: _Events) -> None:
        limit = self._n_detectors + self._n_steps
        for t, c, s, e, m in zip(hits.turn.tolist(), hits.cue.tolist(), hits.start.tolist(), hits.end.tolist(),
                                 methods.tolist(), strict=True):
            if c >= limit:
                continue  # objection answers are not moments of their own
            category = "detector" if c < self._n_detectors else "script"
            text = batch.texts[t]
            events.add(t, self.cues[c].name, category, float(batch.start[t]), float(batch.end[t]),
                       text[s:e] if m == "lexical" else "", m, None)

    def _answers(self, batch: TurnBatch, hits: Hits, events: _Events) -> np.ndarray:
        """Mark objections the agent answered within the next agent turns; return unanswered per call."""
        unanswered = np.zeros(batch.n_calls, dtype=bool)
        window = self.playbook.settings.answer_within_turns
        call = batch.call_index()
        for obj_idx, ans_idx in self._answer_of.items():
            answered_turns = set(hits.turn[hits.cue == ans_idx].tolist())
            for t in hits.turn[hits.cue == obj_idx].tolist():
                hi = int(batch.bounds[call[t] + 1])
                agent_turns = [k for k in range(t + 1, hi) if batch.speakers[k] == "agent"][:window]
                answered = any(k in answered_turns for k in agent_turns)
                events.set_value(t, self.cues[obj_idx].name, 1.0 if answered else 0.0)
                if not answered:
                    unanswered[call[t]] = True
                    events.add(t, f"unanswered_{self.cues[obj_idx].name}", "detector", float(batch.start[t]),
                               float(batch.end[t]), "", "derived", None)
        return unanswered

    def _script_metrics(self, batch: TurnBatch, hits: Hits) -> dict[str, np.ndarray]:
        """First turn of each step per call, coverage, and whether covered steps came in order."""
        n, steps = batch.n_calls, self._n_steps
        first = np.full((n, steps), np.nan)
        call = batch.call_index()
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
        call = batch.call_index()
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
    """Columnar event collector for one batch."""

    def __init__(self, batch: TurnBatch) -> None:
        self.batch = batch
        self.columns: dict[str, list[Any]] = {c: [] for c in EVENT_COLUMNS}
        self._call = batch.call_index()
        self._where: dict[tuple[int, str], int] = {}

    def add(self, t: int, kind: str, category: str, start: float, end: float, matched: str, method: str,
            value: float | None) -> None:
        b, c = self.batch, self.columns
        self._where[(t, kind)] = len(c["call_id"])
        c["call_id"].append(b.call_ids[self._call[t]])
        c["turn"].append(int(b.turn_numbers[t]))
        c["kind"].append(kind)
        c["category"].append(category)
        c["speaker"].append(b.speakers[t])
        c["start_s"].append(start)
        c["end_s"].append(end)
        c["matched"].append(matched)
        c["evidence"].append(b.texts[t][:EVIDENCE_CHARS])
        c["method"].append(method)
        c["value"].append(value)

    def set_value(self, t: int, kind: str, value: float) -> None:
        where = self._where.get((t, kind))
        if where is not None:
            self.columns["value"][where] = value


def _codes(values: list[Any], names: tuple[str, ...]) -> np.ndarray:
    """Small-integer codes of ``values`` by position in ``names`` (anything else: len(names))."""
    lookup = {n: i for i, n in enumerate(names)}
    other = len(names)
    return np.fromiter((lookup.get(v, other) for v in values), dtype=np.int64, count=len(values))


def _agent_rank(batch: TurnBatch, call: np.ndarray) -> np.ndarray:
    """For each turn, how many agent turns came before it in its call."""
    agent = np.fromiter((s == "agent" for s in batch.speakers), dtype=np.int64, count=batch.n_turns)
    before = np.cumsum(agent) - agent
    if batch.n_turns == 0:
        return before
    return before - before[batch.bounds[:-1][call]]


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
