"""Open an input file as a relation of VARCHAR columns with the line each row came from.

CSV (any delimiter, header row, gzip), Parquet and JSON Lines are read by DuckDB itself,
so reading is parallel and streams larger-than-memory files. Lines that are not even
well-formed CSV (wrong number of fields, bad quoting, invalid UTF-8) are captured by
DuckDB's ``store_rejects`` with their line numbers and raw text.
"""

from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from closeloop.errors import InputError, SchemaError
from closeloop.ingest.load import Rows
from closeloop.ingest.rules import lit, q
from closeloop.model import RecordSchema

CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".psv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}

CSV_ERRORS = "__csv_reject_errors"
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

    @property
    def columns(self) -> list[str]:
        return self.rows.columns


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")


DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a file with a header row: the candidate the header line uses most.

    Real exports have ragged or broken rows further down, which can mislead a whole-file
    sniffer; the header line is the one line that is always well-formed.
    """
    opener = gzip.open if path.suffix.lower() in {".gz", ".gzip"} else open
    try:
        with opener(path, "rb") as fh:
            head = fh.readline(1 << 20)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    if b"\x00" in head:
        raise InputError(f"{path}: not a text file (binary content on line 1)")
    text = head.decode("utf-8", errors="replace")
    counts = {d: text.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


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


def may_have_padding(path: Path, delim: str, chunk: int = 1 << 24) -> bool:
    """Whether a CSV file may hold a value that starts or ends with a space.

    Testing every value of every row for surrounding spaces costs an ingest ~10%; one
    memchr pass over the file (~0.35 s per GiB, read in chunks so memory stays flat)
    usually proves there is none: every space found sits between two bytes that are
    neither the delimiter, a quote nor a line break. Conservative: a space next to a
    quote inside a quoted value, a compressed file, one too big to stay in the page cache
    (:func:`scan_limit_bytes`), or a file full of spaces all answer
    True (values are then tested one by one). Empty strings need no scan: DuckDB reads
    an empty field, quoted or not, as NULL.
    """
    if path.suffix.lower() in {".gz", ".gzip"} or path.stat().st_size > scan_limit_bytes():
        return True
    edges = {ord(delim), ord("\n"), ord("\r"), ord('"')}
    budget = PADDING_SCAN_SPACES
    buf = bytearray(chunk + 1)
    with path.open("rb") as fh:
        fh.readline(1 << 20)  # the header: names may hold spaces
        buf[0] = ord("\n")  # the byte before the first value is an edge
        while n := fh.readinto(memoryview(buf)[1:]):
            end = n + 1  # buf[0] is the previous chunk's last byte
            pos = buf.find(b" ", 1, end)
            while pos >= 0:
                if buf[pos - 1] in edges or (pos + 1 < end and buf[pos + 1] in edges):
                    return True
                if pos + 1 == end:  # its next byte is in the next chunk
                    nxt = fh.read(1)
                    if not nxt or nxt[0] in edges:
                        return True
                    fh.seek(-1, 1)
                budget -= 1
                if not budget:
                    return True
                pos = buf.find(b" ", pos + 1, end)
            buf[0] = buf[end - 1]
    return False


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def open_csv(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    """Open a delimited text file with a header row."""
    _check_readable(path)
    delim = sniff_delimiter(path)
    con.execute(f"DROP TABLE IF EXISTS {CSV_ERRORS}; DROP TABLE IF EXISTS {CSV_SCANS}")
    reader = (
        f"read_csv({lit(str(path))}, header = true, all_varchar = true, delim = {lit(delim)}, "
        f"store_rejects = true, rejects_table = {lit(CSV_ERRORS)}, rejects_scan = {lit(CSV_SCANS)}, "
        "null_padding = false, strict_mode = true)"
    )
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a readable CSV file ({_first_line(exc)})") from exc
    canon = _canonical_names(path, names)
    cols = ", ".join(f"{q(n)} AS {q(c)}" for n, c in zip(names, canon, strict=True))
    rebuilt = f" || {lit(delim)} || ".join(f"coalesce({q(c)}, '')" for c in canon)
    # A CSV row's line is its position in the stage + 2 (the header is line 1); numbering
    # rows here (row_number() OVER ()) would make DuckDB read the file on one thread.
    rows = Rows(
        sql=f"SELECT {cols} FROM {reader}", columns=canon, raw_expr=rebuilt, line="{t}rowid + 2",
        numbered_sql=f"SELECT row_number() OVER () + 1 AS __line, {cols} FROM {reader}",
        padded=may_have_padding(path, delim),
    )
    return Source(path, "csv", rows)


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
    rebuilt = " || ',' || ".join(f"coalesce({q(c)}, '')" for c in canon)
    sql = f"SELECT file_row_number + 1 AS __line, {cols} FROM {reader}"
    return Source(path, "parquet", Rows(sql, canon, rebuilt))


def open_lines(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """SQL selecting ``__line`` and ``__raw`` for every non-blank line of a text file (JSON Lines)."""
    _check_readable(path)
    return (
        "SELECT __line, __raw FROM (SELECT row_number() OVER () AS __line, line AS __raw FROM "
        f"read_csv({lit(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(1), "
        "quote = '', escape = '', auto_detect = false, strict_mode = false)) WHERE trim(__raw) <> ''"
    )


def _canonical_names(path: Path, names: list[str]) -> list[str]:
    canon = [normalise_header(n) for n in names]
    seen: set[str] = set()
    for original, c in zip(names, canon, strict=True):
        if c in seen:
            raise InputError(f"{path}: column {original!r} appears twice (as {c!r})")
        seen.add(c)
    return canon


def open_source(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    """Open a canonical table file (CSV or Parquet) for validation."""
    kind = file_kind(path)
    if kind == "parquet":
        return open_parquet(con, path)
    if kind == "jsonl":
        raise InputError(f"{path}: JSON Lines is for transcripts; tables are read from CSV or Parquet")
    return open_csv(con, path)


def require_columns(source: Source, schema: RecordSchema) -> None:
    """Refuse a file that lacks a column every row of this kind must have."""
    missing = [c for c in schema.header_columns if c not in source.columns]
    if missing:
        raise SchemaError(
            f"{source.path}: missing required column(s) {', '.join(missing)} for {schema.name} "
            f"(found: {', '.join(source.columns[:12])}{'...' if len(source.columns) > 12 else ''})"
        )
