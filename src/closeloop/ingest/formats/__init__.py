"""Real-world file formats turned into canonical records.

A format adapter reads one file and returns the canonical columns of one record kind (as
strings or typed values) plus, for every output row, the input line it came from and its
raw text; input it cannot map at all goes straight to rejects. Everything an adapter
returns then passes through the same validation as canonical files, so a real-world
format can never load what a canonical file could not.

To add a format: write a module here with a class implementing :class:`FormatAdapter`
and add one line to :data:`FORMATS` (name -> "module:Class").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from closeloop.errors import InputError


@dataclass(frozen=True)
class PreReject:
    """Input an adapter could not map to a canonical row, kept with its reason."""

    line: int | None
    field: str | None
    reason: str
    raw: str | None


@dataclass
class AdapterOutput:
    """What an adapter read from one file.

    ``table`` has canonical column names plus ``__line`` (int64, the input line a row came
    from; for transcripts, rows of one transcript share a line) and ``__raw`` (string).
    ``units_read`` counts input units (rows, calls or transcripts) so that
    ``units_read == units loaded + units rejected`` can be checked.
    """

    table: pa.Table
    rejects: list[PreReject] = field(default_factory=list)
    units_read: int = 0


class FormatAdapter(Protocol):
    """A reader for one real-world format."""

    name: str
    record: str
    description: str

    def read(self, path: Path) -> AdapterOutput:
        """Read ``path``; raise InputError (naming the file) if it is not this format at all."""
        ...


# name -> "module:Class", imported on first use so optional dependencies stay optional.
FORMATS: dict[str, str] = {
    "asterisk-queue-log": "closeloop.ingest.formats.asterisk:AsteriskQueueLog",
    "anonymous-bank": "closeloop.ingest.formats.anonymous_bank:AnonymousBank",
    "webvtt": "closeloop.ingest.formats.webvtt:WebVTT",
    "aws-call-analytics": "closeloop.ingest.formats.aws_call_analytics:AwsCallAnalytics",
}


def get_format(name: str) -> FormatAdapter:
    """The adapter registered as ``name``."""
    try:
        target = FORMATS[name]
    except KeyError:
        known = ", ".join(["canonical", *sorted(FORMATS)])
        raise InputError(f"unknown format {name!r}; known formats: {known}") from None
    module, cls = target.split(":")
    adapter: FormatAdapter = getattr(importlib.import_module(module), cls)()
    return adapter
