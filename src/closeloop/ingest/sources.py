"""Open an input file as a relation of VARCHAR columns with the line each row came from.

CSV (any delimiter, header row, gzip), Parquet and JSON Lines are read by DuckDB itself,
so reading is parallel and streams larger-than-memory files. Lines that are not even
well-formed CSV (wrong number of fields, bad quoting, invalid UTF-8, longer than the
reader's line limit) are captured by DuckDB's ``store_rejects`` with their raw text.

The CSV dialect is pinned to RFC 4180, never guessed per file: fields are separated by
the delimiter (found in the header line, or given), a field may be enclosed in double
quotes, and a double quote inside one is written twice. Guessing let one file's
quoting change another file's values (``'abc'`` stored as ``abc``, ``"plain"`` kept with
its quotes after 25,000 plain rows); a pinned dialect reads every file the same way, and
a record that breaks it is rejected with its line and raw text.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from closeloop.errors import InputError, SchemaError
from closeloop.ingest.load import Rows
from closeloop.ingest.rules import lit
from closeloop.model import RecordSchema
from closeloop.warehouse.store import quote_ident as q

CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".psv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}

CSV_ERRORS = "__csv_reject_errors"
JSONL_MAX_LINE = 64 << 20
CSV_SCANS = "__csv_reject_scans"


def file_kind(path: Path) -> str:
    """'csv', 'parquet' or 'jsonl' from the file name (a trailing .gz is looked through)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".gzip"}:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in PARQUET_SUFFIXES:
        return "parquet"
    if last in JSONL_SUFFIXES:
        return "jsonl"
    if last in CSV_SUFFIXES or not last:
        return "csv"
    raise InputError(
        f"{path}: cannot tell the file type from '{last}'; use .csv/.tsv, .parquet or .jsonl (optionally .gz)"
    )


def normalise_header(name: str) -> str:
    """Header names as users write them -> canonical spelling: 'Call ID ' -> 'call_id'."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or name


@dataclass
class Source:
    """A file opened for validation.

    ``rows.sql`` selects one VARCHAR column per file column, named in canonical spelling
    (and ``__line``, the 1-based physical line, where the format numbers rows cheaply);
    see :class:`closeloop.ingest.load.Rows`.
    """

    path: Path
    kind: str
    rows: Rows
    delimiter: str = ","

    @property
    def columns(self) -> list[str]:
        return self.rows.columns


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")


DELIMITERS = (",", ";", "\t", "|")


def _open_text_bytes(path: Path) -> Any:
    return gzip.open(path, "rb") if path.suffix.lower() in {".gz", ".gzip"} else path.open("rb")


def unreadable(path: Path, exc: BaseException) -> InputError:
    """The one message for a file that cannot be read to its end (truncated gzip, I/O error)."""
    if isinstance(exc, EOFError):
        return InputError(f"{path}: the compressed file is truncated (it ends before its end-of-stream marker)")
    if isinstance(exc, (gzip.BadGzipFile, zlib.error)):
        return InputError(f"{path}: not a valid gzip file ({exc})")
    return InputError(f"{path}: cannot read ({exc})")


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a file with a header row: the candidate the header line uses most.

    Real exports have ragged or broken rows further down, which can mislead a whole-file
    sniffer; the header line is the one line that is always well-formed.
    """
    try:
        with _open_text_bytes(path) as fh:
            head = fh.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise unreadable(path, exc) from exc
    if b"\x00" in head:
        raise InputError(f"{path}: not a text file (binary content on line 1)")
    text = head.decode("utf-8", errors="replace")
    counts = {d: text.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_header(path: Path, delim: str) -> list[str]:
    """The header record's names, read with the pinned dialect (a UTF-8 BOM is dropped)."""
    try:
        with _open_text_bytes(path) as raw:
            head = raw.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise unreadable(path, exc) from exc
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: line 1 (the header) is not UTF-8 text ({exc.reason})") from exc
    if not text.strip():
        raise InputError(f"{path}: empty file or blank header line; the first line must name the columns")
    try:
        names = next(csv.reader([text.rstrip("\r\n")], delimiter=delim, quotechar='"', doublequote=True,
                                strict=True))
    except csv.Error as exc:
        raise InputError(f"{path}: line 1 (the header) is not well-formed CSV ({exc})") from exc
    return [n.strip() for n in names]


# Past this many spaces inside values, a file is taken as possibly padded (the scan would
# cost more than the per-value test it saves: names, addresses and notes are full of spaces).
PADDING_SCAN_SPACES = 100_000


def scan_limit_bytes() -> int:
    """The largest file worth scanning: a quarter of physical memory.

    The scan leaves the file in the page cache, from which DuckDB then reads it; a file
    too big to stay cached would be read from disk twice.
    """
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):  # not a POSIX system: scan up to 1 GiB
        return 1 << 30


@dataclass(frozen=True)
class CsvScan:
    """What one pass over a CSV file proved: False means surely not, True means maybe."""

    padded: bool = True
    nul: bool = True


def may_have_padding(path: Path, delim: str, chunk: int = 1 << 24) -> bool:
    """Whether a CSV file may hold a value that starts or ends with a space (see :func:`scan_csv`)."""
    return scan_csv(path, delim, chunk).padded


def scan_csv(path: Path, delim: str, chunk: int = 1 << 24) -> CsvScan:
    """Whether a CSV file may hold a padded value, and whether it may hold a NUL byte.

    Testing every value of every row for surrounding spaces costs an ingest ~10%; one
    memchr pass over the file (~0.35 s per GiB, read in chunks so memory stays flat)
    usually proves there is none: every space found sits between two bytes that are
    neither the delimiter, a quote nor a line break. Conservative: a space next to a
    quote inside a quoted value, a compressed file, one too big to stay in the page cache
    (:func:`scan_limit_bytes`), or a file full of spaces all answer
    True (values are then tested one by one). Empty strings need no scan: DuckDB reads
    an empty field, quoted or not, as NULL. The same pass looks for a NUL byte (one more
    memchr per chunk), so the per-value NUL test is skipped on files proven free of one.
    """
    if path.suffix.lower() in {".gz", ".gzip"} or path.stat().st_size > scan_limit_bytes():
        return CsvScan()
    edges = {ord(delim), ord("\n"), ord("\r"), ord('"')}
    budget = PADDING_SCAN_SPACES
    padded = nul = False
    buf = bytearray(chunk + 1)
    with path.open("rb") as fh:
        fh.readline(1 << 20)  # the header: names may hold spaces
        buf[0] = ord("\n")  # the byte before the first value is an edge
        while n := fh.readinto(memoryview(buf)[1:]):
            end = n + 1  # buf[0] is the previous chunk's last byte
            nul = nul or buf.find(b"\x00", 1, end) >= 0
            pos = -1 if padded else buf.find(b" ", 1, end)
            while pos >= 0:
                if buf[pos - 1] in edges or (pos + 1 < end and buf[pos + 1] in edges):
                    padded = True
                    break
                if pos + 1 == end:  # its next byte is in the next chunk
                    nxt = fh.read(1)
                    if not nxt or nxt[0] in edges:
                        padded = True
                        break
                    fh.seek(-1, 1)
                budget -= 1
                if not budget:
                    padded = True
                    break
                pos = buf.find(b" ", pos + 1, end)
            if padded and nul:
                break
            buf[0] = buf[end - 1]
    return CsvScan(padded, nul)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def open_csv(con: duckdb.DuckDBPyConnection, path: Path, delimiter: str | None = None) -> Source:
    """Open a delimited text file with a header row, read in the pinned RFC 4180 dialect.

    ``delimiter`` is the field separator; by default the one the header line uses most.
    The header is parsed here and handed to DuckDB with sniffing off, so nothing about
    the dialect or the columns is guessed from the rows.
    """
    _check_readable(path)
    delim = delimiter if delimiter is not None else sniff_delimiter(path)
    if len(delim) != 1 or delim in {'"', "\n", "\r"}:
        raise InputError(f"--delimiter: {delim!r} must be one character other than a quote or a line break")
    names = read_header(path, delim)
    canon = _canonical_names(path, names)
    con.execute(f"DROP TABLE IF EXISTS {CSV_ERRORS}; DROP TABLE IF EXISTS {CSV_SCANS}")
    columns = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in canon) + "}"
    reader = (
        f"read_csv({lit(str(path))}, header = true, auto_detect = false, columns = {columns}, "
        f"delim = {lit(delim)}, quote = '\"', escape = '\"', "
        f"store_rejects = true, rejects_table = {lit(CSV_ERRORS)}, rejects_scan = {lit(CSV_SCANS)}, "
        "null_padding = false, strict_mode = true)"
    )
    cols = ", ".join(q(c) for c in canon)
    # concat_ws, not a chain of ||: a chain over ~500 columns passes DuckDB's expression depth.
    rebuilt = "concat_ws(" + ", ".join([lit(delim), *(f"coalesce({q(c)}, '')" for c in canon)]) + ")"
    # A CSV row's line is its position in the stage + 2 (the header is line 1); numbering
    # rows here (row_number() OVER ()) would make DuckDB read the file on one thread.
    scan = scan_csv(path, delim)
    rows = Rows(
        sql=f"SELECT {cols} FROM {reader}", columns=canon, raw_expr=rebuilt, line="{t}rowid + 2",
        numbered_sql=f"SELECT row_number() OVER () + 1 AS __line, {cols} FROM {reader}",
        padded=scan.padded, may_have_nul=scan.nul,
    )
    return Source(path, "csv", rows, delim)


def open_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    """Open a Parquet file; values are cast to text so one validator serves every format."""
    _check_readable(path)
    reader = f"read_parquet({lit(str(path))}, file_row_number = true)"
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall() if r[0] != "file_row_number"]
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from exc
    canon = _canonical_names(path, names)
    cols = ", ".join(f"CAST({q(n)} AS VARCHAR) AS {q(c)}" for n, c in zip(names, canon, strict=True))
    rebuilt = "concat_ws(',', " + ", ".join(f"coalesce({q(c)}, '')" for c in canon) + ")"
    sql = f"SELECT file_row_number + 1 AS __line, {cols} FROM {reader}"
    return Source(path, "parquet", Rows(sql, canon, rebuilt))


def open_lines(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """SQL selecting ``__line`` and ``__raw`` for every non-blank line of a text file (JSON Lines).

    A UTF-8 byte order mark is dropped, as the CSV reader drops it. A line may be up to
    :data:`JSONL_MAX_LINE` long (one call's transcript; DuckDB's default of 2 MB is too
    short for a long call); a longer one stops the file with its line named.
    """
    _check_readable(path)
    return (
        "SELECT __line, __raw FROM (SELECT row_number() OVER () AS __line, ltrim(line, chr(65279)) AS __raw FROM "
        f"read_csv({lit(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(1), "
        "quote = '', escape = '', auto_detect = false, strict_mode = false, "
        f"max_line_size = {JSONL_MAX_LINE}, buffer_size = {2 * JSONL_MAX_LINE})) WHERE trim(__raw) <> ''"
    )


def _canonical_names(path: Path, names: list[str]) -> list[str]:
    canon = [normalise_header(n) for n in names]
    seen: set[str] = set()
    for original, c in zip(names, canon, strict=True):
        if c in seen:
            raise InputError(f"{path}: column {original!r} appears twice (as {c!r})")
        seen.add(c)
    return canon


def open_source(con: duckdb.DuckDBPyConnection, path: Path, delimiter: str | None = None) -> Source:
    """Open a canonical table file (CSV or Parquet) for validation."""
    kind = file_kind(path)
    if kind == "parquet":
        return open_parquet(con, path)
    if kind == "jsonl":
        raise InputError(f"{path}: JSON Lines is for transcripts; tables are read from CSV or Parquet")
    return open_csv(con, path, delimiter)


def require_columns(source: Source, schema: RecordSchema) -> None:
    """Refuse a file that lacks a column every row of this kind must have."""
    missing = [c for c in schema.header_columns if c not in source.columns]
    if missing:
        raise SchemaError(
            f"{source.path}: missing required column(s) {', '.join(missing)} for {schema.name} "
            f"(found: {', '.join(source.columns[:12])}{'...' if len(source.columns) > 12 else ''})"
        )
