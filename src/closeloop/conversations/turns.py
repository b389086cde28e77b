"""Transcripts as the detectors read them: many calls' turns in flat columns.

Detection runs over thousands of calls at a time, so turns are kept column-wise (one
numpy array per numeric column, one list per text column) with ``bounds`` marking where
each call's turns start. That is the shape of the warehouse's ``transcripts`` table, so a
batch is one query away, and it lets timing detectors work on whole arrays at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from closeloop.errors import InputError


@dataclass(frozen=True)
class Turn:
    """One speaker turn: who spoke, when (seconds from answer), what was said."""

    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """One call's turns in time order."""

    call_id: str
    turns: tuple[Turn, ...]
    call_type: str | None = None


@dataclass(frozen=True)
class TurnBatch:
    """Turns of many calls, column-wise; call ``i`` owns turns ``bounds[i]:bounds[i+1]``."""

    call_ids: list[str]
    bounds: np.ndarray
    speakers: list[str]
    start: np.ndarray
    end: np.ndarray
    texts: list[str]
    call_types: list[str | None]
    turn_numbers: np.ndarray
    is_agent: np.ndarray = field(default=None)  # type: ignore[arg-type]  # filled from speakers if not given

    def __post_init__(self) -> None:
        if self.is_agent is None:
            agent = np.asarray(self.speakers, dtype=object) == "agent" if self.speakers else np.zeros(0, dtype=bool)
            object.__setattr__(self, "is_agent", np.asarray(agent, dtype=bool))

    @property
    def n_calls(self) -> int:
        """How many calls the batch holds."""
        return len(self.call_ids)

    @property
    def n_turns(self) -> int:
        """How many turns the batch holds."""
        return len(self.texts)

    @cached_property
    def call_index(self) -> np.ndarray:
        """For every turn, the index of its call."""
        return np.repeat(np.arange(self.n_calls), np.diff(self.bounds))

    def slice(self, lo: int, hi: int) -> TurnBatch:
        """Calls ``lo:hi`` as a batch of their own (for chunking and parallel work)."""
        a, b = int(self.bounds[lo]), int(self.bounds[hi])
        return TurnBatch(
            call_ids=self.call_ids[lo:hi],
            bounds=self.bounds[lo:hi + 1] - a,
            speakers=self.speakers[a:b],
            start=self.start[a:b],
            end=self.end[a:b],
            texts=self.texts[a:b],
            call_types=self.call_types[lo:hi],
            turn_numbers=self.turn_numbers[a:b],
            is_agent=self.is_agent[a:b],
        )

    def transcript(self, i: int) -> Transcript:
        """Call ``i`` as a :class:`Transcript` (for display and tests)."""
        a, b = int(self.bounds[i]), int(self.bounds[i + 1])
        turns = tuple(
            Turn(self.speakers[k], float(self.start[k]), float(self.end[k]), self.texts[k]) for k in range(a, b)
        )
        return Transcript(self.call_ids[i], turns, self.call_types[i])


def batch_from_transcripts(transcripts: Iterable[Transcript]) -> TurnBatch:
    """Build a batch from :class:`Transcript` objects (turns kept in the order given)."""
    call_ids: list[str] = []
    call_types: list[str | None] = []
    sizes: list[int] = []
    speakers: list[str] = []
    texts: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    for t in transcripts:
        call_ids.append(t.call_id)
        call_types.append(t.call_type)
        sizes.append(len(t.turns))
        for turn in t.turns:
            speakers.append(turn.speaker)
            starts.append(turn.start)
            ends.append(turn.end)
            texts.append(turn.text)
    bounds = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
    turn_numbers = np.arange(len(texts), dtype=np.int64) - np.repeat(bounds[:-1], sizes)
    return _checked(TurnBatch(call_ids, bounds, speakers, np.asarray(starts, float), np.asarray(ends, float),
                              texts, call_types, turn_numbers))


def batch_from_columns(
    call_id: Sequence[str],
    turn: Sequence[int],
    speaker: Sequence[str],
    start_s: Sequence[float],
    end_s: Sequence[float],
    text: Sequence[str],
    call_types: dict[str, str | None] | None = None,
) -> TurnBatch:
    """Build a batch from the warehouse's one-row-per-turn columns.

    Rows are sorted by (call_id, turn) here, so any row order is accepted; ``call_types``
    maps call_id to ``sales``/``care`` for detectors that apply to one kind of call.
    """
    n = len(call_id)
    if not all(len(c) == n for c in (turn, speaker, start_s, end_s, text)):
        raise InputError("transcript columns have different lengths")
    ids = np.asarray(call_id, dtype=object)
    turns = np.asarray(turn, dtype=np.int64)
    order = np.lexsort((turns, ids)) if n else np.zeros(0, dtype=np.int64)
    ids_sorted = ids[order]
    change = np.flatnonzero(ids_sorted[1:] != ids_sorted[:-1]) + 1 if n else np.zeros(0, dtype=np.int64)
    bounds = np.concatenate([[0], change, [n]]).astype(np.int64) if n else np.zeros(1, dtype=np.int64)
    call_ids = [str(ids_sorted[b]) for b in bounds[:-1]]
    types = call_types or {}
    sp = np.asarray(speaker, dtype=object)[order]
    tx = list(text)
    return _checked(TurnBatch(
        call_ids=call_ids,
        bounds=bounds,
        speakers=sp.tolist(),
        start=np.asarray(start_s, dtype=float)[order],
        end=np.asarray(end_s, dtype=float)[order],
        texts=[tx[i] if tx[i] is not None else "" for i in order],
        call_types=[types.get(c) for c in call_ids],
        turn_numbers=turns[order],
    ))


def batch_from_arrow(table: Any, call_types: dict[str, str | None] | None = None) -> TurnBatch:
    """Build a batch from an Arrow table with the canonical transcript columns."""
    cols = {name: table.column(name).to_pylist() for name in ("call_id", "turn", "speaker", "start_s", "end_s", "text")}
    return batch_from_columns(**cols, call_types=call_types)


def _checked(batch: TurnBatch) -> TurnBatch:
    bad = {s for s in set(batch.speakers) if s not in ("agent", "customer")}
    if bad:
        raise InputError(f"unknown speaker(s) {sorted(bad)!r}: transcripts must say 'agent' or 'customer'")
    if np.any(batch.end < batch.start) or np.any(batch.start < 0):
        raise InputError("a transcript turn has a negative time or ends before it starts")
    return batch
