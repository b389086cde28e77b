"""Physical line numbers of CSV records, for the rare files where they differ from DuckDB's.

A staged CSV row's line is its position in the stage (+2, see :mod:`closeloop.ingest.load`),
and DuckDB numbers the lines it rejects by counting the line breaks outside quotes. Both
equal the line an editor shows only while every record is one line: a blank line (which
DuckDB skips without a word) shifts every staged row after it, and a record with a line
break inside a quoted value shifts everything after it. So a bad row on line 10 was
reported as line 9.

The check is cheap and only runs for files that have something to reject: the file's line
breaks are counted (~0.5 s per GiB) and compared with the records DuckDB read. Only when
they differ is the file read again with Python's :mod:`csv` in the same pinned dialect,
to find the blank lines and the records that span several lines.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from closeloop.ingest.sources import unreadable


@dataclass
class LineMap:
    """Where records sit: ``blank`` logical lines (skipped by DuckDB) and multi-line records.

    ``steps`` holds ``(logical line, extra physical lines)`` of each record spanning several
    lines; a logical line's physical line adds the extra lines of every record before it.
    """

    blank: list[int] = field(default_factory=list)
    steps: list[tuple[int, int]] = field(default_factory=list)

    def physical(self, logical: int) -> int:
        """The physical line of a logical line (Python side, for rejects the reader kept)."""
        return logical + sum(extra for at, extra in self.steps if at < logical)


def _open(path: Path, mode: str) -> io.IOBase:
    """The file (gzip looked through); in text mode, undecodable bytes are replaced, not fatal
    (DuckDB rejects their records, which must still count their lines)."""
    text = {"encoding": "utf-8", "errors": "replace", "newline": ""} if "t" in mode else {}
    if path.suffix.lower() in {".gz", ".gzip"}:
        # the stubs pick an overload by a literal mode; this one is a variable (so: Any)
        return gzip.open(path, mode, **text)  # type: ignore[call-overload,no-any-return]
    return path.open(mode, **text)  # type: ignore[call-overload,no-any-return]


def count_lines(path: Path, chunk: int = 1 << 24) -> int:
    """Physical lines of a file: its line breaks, plus one for a last line without one."""
    n, last = 0, b"\n"
    try:
        with _open(path, "rb") as fh:
            while block := fh.read(chunk):
                n += block.count(b"\n")
                last = block[-1:]
    except (OSError, EOFError) as exc:
        raise unreadable(path, exc) from exc
    return n + (last != b"\n")


def scan_lines(path: Path, delim: str) -> LineMap:
    """Read the file with Python's csv module in the pinned dialect and map its lines."""
    csv.field_size_limit(max(csv.field_size_limit(), sys.maxsize >> 1))  # a long value is a row, not an error
    out = LineMap()
    try:
        with _open(path, "rt") as fh:
            reader = csv.reader(fh, delimiter=delim, quotechar='"', doublequote=True)  # type: ignore[arg-type]
            prev = 0
            for logical, record in enumerate(reader, start=1):
                spanned = reader.line_num - prev
                prev = reader.line_num
                if not record:
                    out.blank.append(logical)
                elif spanned > 1:
                    out.steps.append((logical, spanned - 1))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error):
        return LineMap()  # not even Python's reader gets through: keep DuckDB's numbering
    return out


def line_map(path: Path, delim: str, records: int) -> LineMap:
    """The file's line map; empty (the fast answer) when each of ``records`` + header is one line."""
    if count_lines(path) == records + 1:
        return LineMap()
    return scan_lines(path, delim)


def physical_sql(con: duckdb.DuckDBPyConnection, lines: LineMap) -> Callable[[str], str]:
    """Return ``to_physical(sql)``: SQL turning a logical line into its physical line."""
    if not lines.steps:
        return lambda sql: sql
    ats = [at for at, _ in lines.steps]
    extras = [e for _, e in lines.steps]
    con.execute("CREATE OR REPLACE TEMP TABLE __line_steps AS SELECT unnest(?::BIGINT[]) AS step_line, "
                "unnest(?::BIGINT[]) AS extra", [ats, extras])
    con.execute("CREATE OR REPLACE TEMP MACRO __physical(l) AS "
                "l + coalesce((SELECT sum(extra) FROM __line_steps WHERE step_line < l), 0)")
    return lambda sql: f"__physical({sql})"
