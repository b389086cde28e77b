"""Conversation analytics: what in sales and care calls predicts the outcome.

Pure core (no file, network or terminal I/O). The public API::

    parse_playbook(text, source) -> Playbook        # a company's TOML playbook, validated
    default_playbook() -> Playbook                  # the one closeloop ships
    Detector(playbook, semantic=None).run(batch) -> Detection   # events, metrics, features
    batch_from_transcripts / batch_from_columns / batch_from_arrow -> TurnBatch
    feature_catalog(playbook) -> list[Feature]
"""

from closeloop.conversations.detect import EVENT_COLUMNS, Detection, Detector, Feature, feature_catalog
from closeloop.conversations.playbook import (
    Cue,
    Playbook,
    PlaybookSettings,
    default_playbook,
    default_playbook_text,
    normalize,
    parse_playbook,
)
from closeloop.conversations.turns import (
    Transcript,
    Turn,
    TurnBatch,
    batch_from_arrow,
    batch_from_columns,
    batch_from_transcripts,
)

__all__ = [
    "EVENT_COLUMNS",
    "Cue",
    "Detection",
    "Detector",
    "Feature",
    "Playbook",
    "PlaybookSettings",
    "Transcript",
    "Turn",
    "TurnBatch",
    "batch_from_arrow",
    "batch_from_columns",
    "batch_from_transcripts",
    "default_playbook",
    "default_playbook_text",
    "feature_catalog",
    "normalize",
    "parse_playbook",
]
