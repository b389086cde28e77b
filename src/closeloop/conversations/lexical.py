"""Lexical matching: every phrase of every cue found in one pass over many turns.

Why not a regular expression per phrase: a playbook holds hundreds of phrases, and
searching each turn once per phrase costs hundreds of scans per turn. Instead all phrases
go into one Aho–Corasick automaton (``pyahocorasick``), the turns of a whole batch are
joined into one normalised string (turns separated by newlines), and a single scan finds
every occurrence of every phrase. A hit is kept when it stands on word boundaries and no
``exclude`` phrase of the same cue overlaps it. The few regular-expression ``patterns``
run once per cue over the same joined string, in multi-line mode, so ``^``/``$`` anchor
at turn boundaries.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

import ahocorasick
import numpy as np

from closeloop.conversations.playbook import Cue, normalize

_SEP = "\x1e"  # joins raw turn texts; becomes "\n" after normalisation


@dataclass(frozen=True)
class Hits:
    """Matches in a batch: parallel arrays, one entry per (turn, cue) kept."""

    turn: np.ndarray  # index of the turn in the batch
    cue: np.ndarray  # index of the cue in the matcher's list
    start: np.ndarray  # character offset of the match inside the turn text
    end: np.ndarray


def join_normalized(texts: list[str]) -> tuple[str, np.ndarray]:
    """One normalised string holding all turns, and each turn's start offset in it."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        np.cumsum(lengths[:-1] + 1, out=offsets[1:])
    raw = _SEP.join(texts)
    big = normalize(raw)
    if len(big) != len(raw):  # a character whose lower case is longer; rare, so do it turn by turn
        big = _SEP.join(normalize(t) for t in texts)
    return big.replace(_SEP, "\n"), offsets


class LexicalMatcher:
    """Finds the phrases and patterns of a list of cues in batches of turns."""

    def __init__(self, cues: list[Cue]) -> None:
        self.cues = list(cues)
        self._automaton = ahocorasick.Automaton()
        keys: dict[str, list[tuple[int, bool]]] = {}
        for idx, cue in enumerate(self.cues):
            for phrase in cue.phrases:
                keys.setdefault(phrase, []).append((idx, False))
            for phrase in cue.exclude:
                keys.setdefault(phrase, []).append((idx, True))
        for key, entries in keys.items():
            need_left, need_right = key[0].isalnum(), key[-1].isalnum()
            self._automaton.add_word(key, (len(key), tuple(entries), need_left, need_right))
        self._empty = not keys
        if keys:
            self._automaton.make_automaton()
        self._patterns = [
            (idx, re.compile("|".join(f"(?:{p})" for p in cue.patterns), re.MULTILINE))
            for idx, cue in enumerate(self.cues)
            if cue.patterns
        ]

    def find(self, texts: list[str]) -> Hits:
        """All kept matches in ``texts`` (one string per turn), first per (turn, cue)."""
        big, offsets = join_normalized(texts)
        starts, ends, cues = self._phrase_hits(big)
        for idx, rx in self._patterns:
            for m in rx.finditer(big):
                if m.end() > m.start():
                    starts.append(m.start())
                    ends.append(m.end())
                    cues.append(idx)
        if not starts:
            z = np.zeros(0, dtype=np.int64)
            return Hits(z, z, z, z)
        s = np.asarray(starts, dtype=np.int64)
        e = np.asarray(ends, dtype=np.int64)
        c = np.asarray(cues, dtype=np.int64)
        turn = np.searchsorted(offsets, s, side="right") - 1
        order = np.lexsort((s, c, turn))
        turn, c, s, e = turn[order], c[order], s[order], e[order]
        first = np.ones(len(turn), dtype=bool)
        first[1:] = (turn[1:] != turn[:-1]) | (c[1:] != c[:-1])
        base = offsets[turn]
        return Hits(turn[first], c[first], (s - base)[first], (e - base)[first])

    def _phrase_hits(self, big: str) -> tuple[list[int], list[int], list[int]]:
        starts: list[int] = []
        ends: list[int] = []
        cues: list[int] = []
        if self._empty:
            return starts, ends, cues
        vetoes: list[tuple[int, int, int]] = []
        last = len(big) - 1
        for end, (length, entries, need_left, need_right) in self._automaton.iter(big):
            begin = end - length + 1
            if need_left and begin > 0 and big[begin - 1].isalnum():
                continue
            if need_right and end < last and big[end + 1].isalnum():
                continue
            for idx, is_exclude in entries:
                if is_exclude:
                    vetoes.append((begin, end + 1, idx))
                else:
                    starts.append(begin)
                    ends.append(end + 1)
                    cues.append(idx)
        if vetoes:
            starts, ends, cues = _apply_vetoes(starts, ends, cues, vetoes)
        return starts, ends, cues


def _apply_vetoes(
    starts: list[int], ends: list[int], cues: list[int], vetoes: list[tuple[int, int, int]]
) -> tuple[list[int], list[int], list[int]]:
    """Drop every match that an exclude phrase of the same cue overlaps (bisect on sorted spans)."""
    by_cue: dict[int, list[tuple[int, int]]] = {}
    for vs, ve, idx in vetoes:
        by_cue.setdefault(idx, []).append((vs, ve))
    index = {}
    for idx, spans in by_cue.items():
        spans.sort()
        index[idx] = ([vs for vs, _ in spans], [ve for _, ve in spans], max(ve - vs for vs, ve in spans))
    keep_s, keep_e, keep_c = [], [], []
    for s, e, c in zip(starts, ends, cues, strict=True):
        found = index.get(c)
        if found is not None:
            vss, ves, width = found
            lo, hi = bisect_left(vss, s - width), bisect_left(vss, e)
            if any(ve > s for ve in ves[lo:hi]):
                continue
        keep_s.append(s)
        keep_e.append(e)
        keep_c.append(c)
    return keep_s, keep_e, keep_c
