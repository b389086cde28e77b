"""Validated ingestion: files and feeds into the warehouse, nothing lost.

Every row read is either loaded (replacing any earlier row with the same key) or kept in
the ``rejects`` table with its file, line, field, reason and raw text; each file is one
transaction. Canonical files are CSV/Parquet (tables) and JSON Lines (transcripts);
real-world formats go through :mod:`closeloop.ingest.formats` adapters and then the same
validation.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from closeloop.errors import InputError
from closeloop.ingest.formats import FORMATS, get_format
from closeloop.ingest.load import IngestResult, Progress, _noop
from closeloop.ingest.sources import file_kind
from closeloop.ingest.tables import ingest_adapter_output, ingest_arrow, ingest_table_file, schema_for
from closeloop.ingest.transcripts import ingest_transcript_adapter, ingest_transcript_lines
from closeloop.warehouse import Warehouse

__all__ = ["FORMATS", "IngestResult", "ingest_arrow", "ingest_file", "ingest_files"]


def check_json_lines(path: Path) -> None:
    """Refuse, with the format to use, a transcript file that is not canonical JSON Lines.

    A WebVTT file or one pretty-printed JSON document (speech-to-text output) read line by
    line would only fill rejects with junk, so it is stopped before anything is read.
    """
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".gzip")]
    if suffixes and suffixes[-1] == ".vtt":
        raise InputError(f"{path}: a WebVTT file; ingest it with --format webvtt")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if file_kind(path) != "jsonl":
        raise InputError(f"{path}: canonical transcripts are JSON Lines (.jsonl); for other formats "
                         f"pass --format ({', '.join(sorted(FORMATS))})")
    first = _first_nonblank_line(path)
    try:
        ok = first is None or isinstance(json.loads(first), dict)
    except ValueError:
        ok = False
    if not ok:
        raise InputError(
            f"{path}: line 1 is not a complete JSON object, so this is not JSON Lines (one transcript per line); "
            "for Amazon Transcribe / Contact Lens output use --format aws-call-analytics"
        )


def _first_nonblank_line(path: Path) -> str | None:
    opener = gzip.open if path.suffix.lower() in {".gz", ".gzip"} else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                return line
    return None


def ingest_file(
    wh: Warehouse, record: str, path: Path, fmt: str = "auto", default_timezone: str = "UTC",
    progress: Progress = _noop, **format_options: Any,
) -> IngestResult:
    """Ingest one file of ``record`` kind; ``fmt`` is 'auto'/'canonical' or a registered format."""
    schema_for(record)
    path = Path(path)
    if fmt in ("auto", "canonical"):
        if record == "transcripts":
            check_json_lines(path)
            return ingest_transcript_lines(wh, path, progress)
        return ingest_table_file(wh, record, path, default_timezone, progress)
    adapter = get_format(fmt)
    if adapter.record != record:
        raise InputError(f"format {fmt!r} produces {adapter.record}, not {record}")
    if format_options:
        adapter = type(adapter)(**format_options)  # type: ignore[call-arg]
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    progress("reading")
    out = adapter.read(path)
    if record == "transcripts":
        return ingest_transcript_adapter(wh, out, str(path), fmt, progress)
    return ingest_adapter_output(wh, out, record, str(path), fmt, default_timezone, progress)


def ingest_files(
    wh: Warehouse, record: str, paths: Sequence[Path], fmt: str = "auto", default_timezone: str = "UTC",
    progress: Progress = _noop, **format_options: Any,
) -> list[IngestResult]:
    """Ingest several files, each in its own transaction; stops at the first unreadable file."""
    return [ingest_file(wh, record, Path(p), fmt, default_timezone, progress, **format_options) for p in paths]
