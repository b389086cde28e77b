"""Read a line-oriented text file (plain or gzip) for a format adapter.

Adapters for real-world logs read the whole file once: the files are modest (a month of
a center's calls is megabytes) and one read lets an adapter keep each row's raw text for
the rejects table. Binary files and undecodable text are refused here, with the file's
name, so no adapter has to guess what a garbled file meant.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from closeloop.errors import InputError

_GZIP_MAGIC = b"\x1f\x8b"


def read_text_lines(path: Path, what: str) -> list[str]:
    """The lines of ``path`` (gzip looked through, CR/LF stripped); ``what`` names the format in errors."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: damaged gzip file ({exc})") from exc
    if b"\x00" in data[:65536]:
        raise InputError(f"{path}: binary data, not text ({what} expected)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Older PBXes and mainframe exports write Latin-1 caller names; every byte decodes.
        text = data.decode("latin-1")
    # Split on "\n" only: str.splitlines() would also break on form feeds and other
    # separators inside a field and shift every later line number.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]
