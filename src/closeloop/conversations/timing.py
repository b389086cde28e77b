"""Timing detectors: silences, holds, overlaps, monologues, talk share, questions.

These need no words, only turn times, so they run on whole numpy arrays for a batch of
calls at once. Turns are read in their canonical (time) order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from closeloop.conversations.playbook import PlaybookSettings
from closeloop.conversations.turns import TurnBatch


@dataclass(frozen=True)
class TimingEvents:
    """Turn-level timing events of a batch (parallel arrays; ``turn`` indexes the batch)."""

    kind: list[str]
    turn: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    value: np.ndarray


def call_metrics(batch: TurnBatch, hold_after: np.ndarray, settings: PlaybookSettings,
                 questions: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-call timing metrics: talk times and share, silences, longest monologue, questions.

    ``hold_after`` marks turns an agent ended with a hold phrase: the silence after them
    is hold time, not dead air. ``questions`` is the number of "?" in each turn (counted
    here if not given).
    """
    n = batch.n_calls
    call = batch.call_index
    agent = batch.is_agent
    length = batch.end - batch.start
    agent_talk = np.bincount(call, weights=length * agent, minlength=n)
    customer_talk = np.bincount(call, weights=length * ~agent, minlength=n)
    gaps, prev_end = _gaps(batch, call)
    is_hold = (gaps >= settings.hold_s) | (_shift(hold_after, batch) & (gaps > settings.dead_air_s))
    dead = (gaps > settings.dead_air_s) & ~is_hold
    duration = np.zeros(n)
    has_turns = np.diff(batch.bounds) > 0
    first = batch.bounds[:-1][has_turns]
    if len(first):
        duration[has_turns] = np.maximum.reduceat(batch.end, first) - batch.start[first]
    if questions is None:
        questions = np.fromiter((t.count("?") for t in batch.texts), dtype=np.int64, count=batch.n_turns)
    agent_q = np.bincount(call, weights=questions * agent, minlength=n)
    total = agent_talk + customer_talk
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, agent_talk / total, np.nan)
        q_rate = np.where(duration > 0, agent_q / (duration / 60.0), np.nan)
    overlaps = _overlaps(batch, call, prev_end, settings)
    return {
        "n_turns": np.diff(batch.bounds).astype(np.int64),
        "duration_s": duration,
        "agent_talk_s": agent_talk,
        "customer_talk_s": customer_talk,
        "agent_talk_share": share,
        "longest_monologue_s": _longest_agent_run(batch, call, agent),
        "agent_questions": agent_q.astype(np.int64),
        "agent_questions_per_min": q_rate,
        "dead_air_s": np.bincount(call, weights=gaps * dead, minlength=n),
        "hold_s": np.bincount(call, weights=gaps * is_hold, minlength=n),
        "interruptions": np.bincount(call, weights=overlaps > 0, minlength=n).astype(np.int64),
    }


def timing_events(batch: TurnBatch, hold_after: np.ndarray, settings: PlaybookSettings) -> TimingEvents:
    """Dead air, long holds, interruptions and long monologues, each at the turn it happens."""
    call = batch.call_index
    gaps, prev_end = _gaps(batch, call)
    is_hold = (gaps >= settings.hold_s) | (_shift(hold_after, batch) & (gaps > settings.dead_air_s))
    dead = (gaps > settings.dead_air_s) & ~is_hold
    overlaps = _overlaps(batch, call, prev_end, settings)
    kinds: list[str] = []
    turns: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for kind, mask, value in (("dead_air", dead, gaps), ("long_hold", is_hold, gaps)):
        idx = np.flatnonzero(mask)
        kinds += [kind] * len(idx)
        turns.append(idx)
        starts.append(prev_end[idx])
        ends.append(batch.start[idx])
        values.append(value[idx])
    idx = np.flatnonzero(overlaps > 0)
    kinds += ["interruption"] * len(idx)
    turns.append(idx)
    starts.append(batch.start[idx])
    ends.append(prev_end[idx])
    values.append(overlaps[idx])
    run_first, run_dur = _agent_runs(batch, call)
    long = run_dur > settings.long_monologue_s
    kinds += ["long_monologue"] * int(long.sum())
    turns.append(run_first[long])
    starts.append(batch.start[run_first[long]])
    ends.append(batch.start[run_first[long]] + run_dur[long])
    values.append(run_dur[long])
    return TimingEvents(kinds, np.concatenate(turns), np.concatenate(starts), np.concatenate(ends),
                        np.concatenate(values))


def _shift(mask: np.ndarray, batch: TurnBatch) -> np.ndarray:
    """``mask`` moved one turn later within each call (turn i gets turn i-1's flag)."""
    out = np.zeros_like(mask)
    out[1:] = mask[:-1]
    out[batch.bounds[:-1][batch.bounds[:-1] < batch.n_turns]] = False
    return out


def _gaps(batch: TurnBatch, call: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Silence before each turn, and the latest end of any earlier turn of the same call.

    A running maximum of end times, offset per call so one ``maximum.accumulate`` serves
    the whole batch, handles overlapping turns (a short interjection inside a long turn
    does not open a "gap").
    """
    if batch.n_turns == 0:
        z = np.zeros(0)
        return z, z
    span = float(np.max(batch.end)) + 1.0
    run_max = np.maximum.accumulate(batch.end + call * span) - call * span
    prev_end = np.empty_like(batch.end)
    prev_end[1:] = run_max[:-1]
    firsts = batch.bounds[:-1][np.diff(batch.bounds) > 0]
    prev_end[firsts] = batch.start[firsts]
    return np.maximum(batch.start - prev_end, 0.0), prev_end


def _overlaps(batch: TurnBatch, call: np.ndarray, prev_end: np.ndarray, settings: PlaybookSettings) -> np.ndarray:
    """Seconds by which a turn starts before the other speaker finished (0 if none or tiny)."""
    if batch.n_turns == 0:
        return np.zeros(0)
    other = np.zeros(batch.n_turns, dtype=bool)
    sp = batch.is_agent
    other[1:] = (sp[1:] != sp[:-1]) & (call[1:] == call[:-1])
    over = np.where(other, prev_end - batch.start, 0.0)
    return np.where(over >= settings.interruption_min_s, over, 0.0)


def _agent_runs(batch: TurnBatch, call: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First turn and duration of every run of consecutive agent turns."""
    if batch.n_turns == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, np.zeros(0)
    agent = batch.is_agent
    new_run = np.ones(batch.n_turns, dtype=bool)
    new_run[1:] = (agent[1:] != agent[:-1]) | (call[1:] != call[:-1])
    heads = np.flatnonzero(new_run)
    run_end = np.maximum.reduceat(batch.end, heads)
    run_dur = run_end - batch.start[heads]
    keep = agent[heads]
    return heads[keep], run_dur[keep]


def _longest_agent_run(batch: TurnBatch, call: np.ndarray, agent: np.ndarray) -> np.ndarray:
    out = np.zeros(batch.n_calls)
    heads, dur = _agent_runs(batch, call)
    if len(heads):
        np.maximum.at(out, call[heads], dur)
    return out
