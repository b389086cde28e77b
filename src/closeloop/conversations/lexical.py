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


def count_char(big: str, offsets: np.ndarray, char: str) -> np.ndarray:
    """How often ``char`` occurs in each turn of a joined string (vectorised)."""
    codes = np.frombuffer(big.encode("utf-32-le"), dtype=np.uint32)
    where = np.flatnonzero(codes == ord(char))
    return np.bincount(np.searchsorted(offsets, where, side="right") - 1, minlength=len(offsets)).astype(np.int64)


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
        # Per key (by id): length, boundary needs, and its (cue, is_exclude) entries in CSR form,
        # so hits are post-processed as arrays rather than one by one.
        self._length = np.array([len(k) for k in keys], dtype=np.int64)
        self._need_left = np.array([k[0].isalnum() for k in keys], dtype=bool)
        self._need_right = np.array([k[-1].isalnum() for k in keys], dtype=bool)
        sizes = [len(v) for v in keys.values()]
        self._entry_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._entry_cue = np.array([c for v in keys.values() for c, _ in v], dtype=np.int64)
        self._entry_excl = np.array([x for v in keys.values() for _, x in v], dtype=bool)
        for key_id, key in enumerate(keys):
            self._automaton.add_word(key, key_id)
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
        return self.find_joined(*join_normalized(texts))

    def find_joined(self, big: str, offsets: np.ndarray) -> Hits:
        """Like :meth:`find` on the output of :func:`join_normalized` (when the caller needs it too)."""
        s, e, c = self._phrase_hits(big)
        extra_s, extra_e, extra_c = [], [], []
        for idx, rx in self._patterns:
            for m in rx.finditer(big):
                if m.end() > m.start():
                    extra_s.append(m.start())
                    extra_e.append(m.end())
                    extra_c.append(idx)
        if extra_s:
            s = np.concatenate([s, np.asarray(extra_s, dtype=np.int64)])
            e = np.concatenate([e, np.asarray(extra_e, dtype=np.int64)])
            c = np.concatenate([c, np.asarray(extra_c, dtype=np.int64)])
        if not len(s):
            z = np.zeros(0, dtype=np.int64)
            return Hits(z, z, z, z)
        turn = np.searchsorted(offsets, s, side="right") - 1
        order = np.lexsort((s, c, turn))
        turn, c, s, e = turn[order], c[order], s[order], e[order]
        first = np.ones(len(turn), dtype=bool)
        first[1:] = (turn[1:] != turn[:-1]) | (c[1:] != c[:-1])
        base = offsets[turn]
        return Hits(turn[first], c[first], (s - base)[first], (e - base)[first])

    def _phrase_hits(self, big: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, cue) of every phrase occurrence on word boundaries, exclusions applied."""
        z = np.zeros(0, dtype=np.int64)
        if self._empty:
            return z, z, z
        found = np.array(list(self._automaton.iter(big)), dtype=np.int64).reshape(-1, 2)
        if not len(found):
            return z, z, z
        last, key = found[:, 0], found[:, 1]
        first = last - self._length[key] + 1
        word = _word_chars(big)  # word[i + 1] is big[i]; the ends are padding
        ok = ~(self._need_left[key] & word[first]) & ~(self._need_right[key] & word[last + 2])
        first, last, key = first[ok], last[ok], key[ok]
        counts = self._entry_ptr[key + 1] - self._entry_ptr[key]
        hit = np.repeat(np.arange(len(key)), counts)
        entry = self._entry_ptr[key][hit] + np.arange(len(hit)) - np.repeat(np.cumsum(counts) - counts, counts)
        cue, excl = self._entry_cue[entry], self._entry_excl[entry]
        starts, ends = first[hit], last[hit] + 1
        if excl.any():
            keep = _not_vetoed(starts, ends, cue, excl)
            return starts[keep], ends[keep], cue[keep]
        return starts, ends, cue


# Characters treated as word characters for phrase boundaries: ASCII letters and digits,
# and any non-ASCII character except common punctuation and spaces (dashes, quotes, NBSP).
_ASCII_WORD = np.array([chr(i).isalnum() for i in range(128)], dtype=bool)


def _word_chars(big: str) -> np.ndarray:
    codes = np.frombuffer(big.encode("utf-32-le"), dtype=np.uint32)
    word = np.zeros(len(codes) + 2, dtype=bool)
    ascii_ = codes < 128
    inner = np.where(ascii_, _ASCII_WORD[np.where(ascii_, codes, 0)], True)
    inner &= ~(((codes >= 0x2000) & (codes <= 0x206F)) | (codes == 0xA0) | ((codes >= 0x3000) & (codes <= 0x303F)))
    word[1:-1] = inner
    return word


def _not_vetoed(starts: np.ndarray, ends: np.ndarray, cue: np.ndarray, excl: np.ndarray) -> np.ndarray:
    """Mask of matches that no exclude phrase of the same cue overlaps."""
    keep = ~excl
    vetoed_cues = np.unique(cue[excl])
    check = np.flatnonzero(keep & np.isin(cue, vetoed_cues))
    if len(check):
        vetoes = list(zip(starts[excl].tolist(), ends[excl].tolist(), cue[excl].tolist(), strict=True))
        idx = check.tolist()
        kept = _kept_indices(starts[idx].tolist(), ends[idx].tolist(), cue[idx].tolist(), vetoes)
        dropped = set(range(len(idx))) - set(kept)
        keep[[idx[i] for i in dropped]] = False
    return keep


def _kept_indices(
    starts: list[int], ends: list[int], cues: list[int], vetoes: list[tuple[int, int, int]],
) -> list[int]:
    """Indices of matches no exclude span of the same cue overlaps (bisect on sorted spans)."""
    by_cue: dict[int, list[tuple[int, int]]] = {}
    for vs, ve, idx in vetoes:
        by_cue.setdefault(idx, []).append((vs, ve))
    index = {}
    for idx, spans in by_cue.items():
        spans.sort()
        index[idx] = ([vs for vs, _ in spans], [ve for _, ve in spans], max(ve - vs for vs, ve in spans))
    kept = []
    for i, (s, e, c) in enumerate(zip(starts, ends, cues, strict=True)):
        found = index.get(c)
        if found is not None:
            vss, ves, width = found
            lo, hi = bisect_left(vss, s - width), bisect_left(vss, e)
            if any(ve > s for ve in ves[lo:hi]):
                continue
        kept.append(i)
    return kept
