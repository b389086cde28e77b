"""Phrase discovery: the words that most separate won from lost calls (or one center from the rest).

Raw frequency says which words are common, not which are *distinctive*, and a plain
log-odds ratio lets rare words dominate (a word said twice, both on won calls, has an
infinite ratio). Monroe, Colaresi & Quinn (2008, "Fightin' Words", *Political Analysis*
16:372-403, §3.5) shrink each word's log-odds toward its frequency in the whole corpus
with an informative Dirichlet prior and divide by the estimate's standard error::

    α_w  = α0 · (y_w / n)                       prior: the corpus's own word frequencies
    δ_w  = log((y_w^a + α_w) / (n^a + α0 − y_w^a − α_w))
         − log((y_w^b + α_w) / (n^b + α0 − y_w^b − α_w))
    σ²_w ≈ 1/(y_w^a + α_w) + 1/(y_w^b + α_w)
    z_w  = δ_w / σ_w

Words with |z| > 1.96 separate the groups beyond what chance would give a word that
frequent. Unigrams and bigrams are counted per side (agent / customer / both).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from closeloop.conversations.playbook import normalize
from closeloop.errors import InputError

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    "a an the and or but if so of to in on at for with is are was were be been it its it's this that i you we they "
    "he she me my your our their them us um uh ah oh mm hm huh".split()
)


@dataclass(frozen=True)
class PhraseScore:
    """One phrase's separation between group A and group B."""

    phrase: str
    count_a: int
    count_b: int
    delta: float
    z: float

    def row(self) -> dict[str, object]:
        """Flat dict for output."""
        return {"phrase": self.phrase, "count_a": self.count_a, "count_b": self.count_b, "log_odds": self.delta,
                "z": self.z}


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words: "don't")."""
    return _WORD.findall(normalize(text))


def count_ngrams(texts: Iterable[str], max_n: int = 2, stopwords: frozenset[str] = STOPWORDS) -> Counter[str]:
    """Unigram and bigram counts; n-grams made only of stopwords are dropped.

    A text may hold several turns separated by newlines: n-grams never span two turns.
    """
    counts: Counter[str] = Counter()
    for line in (part for text in texts for part in text.split("\n")):
        words = tokens(line)
        for n in range(1, max_n + 1):
            for i in range(len(words) - n + 1):
                gram = words[i:i + n]
                if all(w in stopwords for w in gram):
                    continue
                counts[" ".join(gram)] += 1
    return counts


def fightin_words(
    counts_a: Counter[str], counts_b: Counter[str], prior_scale: float = 500.0, min_count: int = 5,
) -> list[PhraseScore]:
    """Every phrase seen at least ``min_count`` times, scored; most A-like first.

    ``prior_scale`` is α0, the prior's total weight in pseudo-counts: larger shrinks rare
    words harder toward "no difference".
    """
    # sorted, and ties broken by phrase below: the same data give the same list in every process
    # (set order follows the per-process string hash)
    vocab = sorted(w for w in set(counts_a) | set(counts_b) if counts_a[w] + counts_b[w] >= min_count)
    if not vocab:
        return []
    ya = np.array([counts_a[w] for w in vocab], dtype=float)
    yb = np.array([counts_b[w] for w in vocab], dtype=float)
    na, nb = float(sum(counts_a.values())), float(sum(counts_b.values()))
    total = ya + yb
    alpha = prior_scale * total / total.sum()
    a0 = prior_scale
    delta = (np.log((ya + alpha) / (na + a0 - ya - alpha)) - np.log((yb + alpha) / (nb + a0 - yb - alpha)))
    var = 1.0 / (ya + alpha) + 1.0 / (yb + alpha)
    z = delta / np.sqrt(var)
    order = np.lexsort((np.arange(len(vocab)), -z))  # by z descending, then alphabetically
    return [PhraseScore(vocab[i], int(ya[i]), int(yb[i]), float(delta[i]), float(z[i])) for i in order]


def discover_phrases(
    texts: Sequence[str], group: Sequence[bool], top: int = 20, prior_scale: float = 500.0, min_count: int = 5,
) -> tuple[list[PhraseScore], list[PhraseScore]]:
    """The ``top`` phrases most typical of group A (``group`` True) and of group B.

    ``texts`` holds one string per call: its turns (or one side's) joined by newlines. A
    phrase is typical of A only if its z is positive and of B only if negative, so with few
    phrases the two lists never share one.
    """
    if top < 1:
        raise InputError(f"top must be at least 1, got {top}")
    a = count_ngrams(t for t, g in zip(texts, group, strict=True) if g)
    b = count_ngrams(t for t, g in zip(texts, group, strict=True) if not g)
    scores = fightin_words(a, b, prior_scale, min_count)
    return [p for p in scores if p.z > 0][:top], [p for p in reversed(scores) if p.z < 0][:top]
