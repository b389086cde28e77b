"""Validated ingestion: files and feeds into the warehouse, nothing lost.

Every row read is either loaded (replacing any earlier row with the same key) or kept in
the ``rejects`` table with its file, line, field, reason and raw text; each file is one
transaction. Canonical files are CSV/Parquet (tables) and JSON Lines (transcripts);
real-world formats go through :mod:`closeloop.ingest.formats` adapters and then the same
validation.
"""

from __future__ import annotations

import gzip
import inspect
import json
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from closeloop.errors import CloseloopError, InputError
from closeloop.ingest.formats import FORMATS, get_format
from closeloop.ingest.load import IngestResult, Progress, _noop
from closeloop.ingest.rules import TimeWindow
from closeloop.ingest.sources import file_kind, unreadable
from closeloop.ingest.tables import ingest_adapter_output, ingest_arrow, ingest_table_file, schema_for
from closeloop.ingest.transcripts import ingest_transcript_adapter, ingest_transcript_lines
from closeloop.warehouse import Warehouse

__all__ = ["FORMATS", "FilesIngestError", "IngestResult", "TimeWindow", "ingest_arrow", "ingest_file", "ingest_files"]


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
        ok = first is None or isinstance(json.loads(first.lstrip("\ufeff")), dict)
    except ValueError:
        ok = False
    if not ok:
        raise InputError(
            f"{path}: line 1 is not a complete JSON object, so this is not JSON Lines (one transcript per line); "
            "for Amazon Transcribe / Contact Lens output use --format aws-call-analytics"
        )


def _first_nonblank_line(path: Path) -> str | None:
    opener = gzip.open if path.suffix.lower() in {".gz", ".gzip"} else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    return line
    except (OSError, EOFError, zlib.error) as exc:
        raise unreadable(path, exc) from exc
    return None


def _adapter_with_options(fmt: str, adapter: Any, options: dict[str, Any]) -> Any:
    """The adapter made with ``options``; an option it does not take is bad input, named."""
    accepted = set(inspect.signature(type(adapter)).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        flags = ", ".join("--" + ("center" if o == "center_id" else o.replace("_", "-")) for o in unknown)
        raise InputError(f"{flags}: not an option of format {fmt!r} (it takes {', '.join(sorted(accepted)) or 'none'})")
    return type(adapter)(**options)


def ingest_file(
    wh: Warehouse, record: str, path: Path, fmt: str = "auto", default_timezone: str = "UTC",
    progress: Progress = _noop, *, window: TimeWindow | None = None, delimiter: str | None = None,
    **format_options: Any,
) -> IngestResult:
    """Ingest one file of ``record`` kind; ``fmt`` is 'auto'/'canonical' or a registered format.

    ``window`` is the timestamps' plausibility window (default: 1990 to two years ahead);
    ``delimiter`` a canonical CSV file's field separator (default: found in its header).
    """
    schema_for(record)
    path = Path(path)
    if fmt in ("auto", "canonical"):
        if record == "transcripts":
            check_json_lines(path)
            return ingest_transcript_lines(wh, path, progress)
        return ingest_table_file(wh, record, path, default_timezone, progress, window, delimiter)
    if delimiter is not None:
        raise InputError(f"--delimiter applies to canonical CSV files, not to format {fmt!r}")
    adapter = get_format(fmt)
    if adapter.record != record:
        raise InputError(f"format {fmt!r} produces {adapter.record}, not {record}")
    if format_options:
        adapter = _adapter_with_options(fmt, adapter, format_options)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    progress("reading")
    try:
        out = adapter.read(path)
    except (EOFError, zlib.error) as exc:
        raise unreadable(path, exc) from exc
    if record == "transcripts":
        return ingest_transcript_adapter(wh, out, str(path), fmt, progress)
    return ingest_adapter_output(wh, out, record, str(path), fmt, default_timezone, progress, window)


def ingest_files(
    wh: Warehouse, record: str, paths: Sequence[Path], fmt: str = "auto", default_timezone: str = "UTC",
    progress: Progress = _noop, *, window: TimeWindow | None = None, delimiter: str | None = None,
    **format_options: Any,
) -> list[IngestResult]:
    """Ingest several files, each in its own transaction; stops at the first unreadable file.

    The files before it stay committed: the error raised is a :class:`FilesIngestError`
    carrying their results, so a caller can say what was loaded before it stopped.
    """
    done: list[IngestResult] = []
    for p in paths:
        try:
            done.append(ingest_file(wh, record, Path(p), fmt, default_timezone, progress, window=window,
                                    delimiter=delimiter, **format_options))
        except CloseloopError as exc:
            if not done:
                raise
            raise FilesIngestError(exc, done, Path(p)) from exc
    return done


class FilesIngestError(CloseloopError):
    """A later file of a multi-file ingest failed; the earlier ones (``done``) are committed."""

    def __init__(self, cause: CloseloopError, done: list[IngestResult], failed: Path) -> None:
        self.cause, self.done, self.failed = cause, done, failed
        self.exit_code = cause.exit_code
        loaded = "; ".join(f"{Path(r.source).name}: {r.loaded:,} loaded, {r.rejected:,} rejected" for r in done)
        super().__init__(f"{cause} — stopped at {failed.name}; committed before it: {loaded}")
