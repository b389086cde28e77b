"""Ingest table records (centers, agents, leads, calls) from files, adapters or Arrow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from closeloop.errors import InputError
from closeloop.ingest import load
from closeloop.ingest.csvlines import LineMap, physical_sql
from closeloop.ingest.csvlines import line_map as csv_line_map
from closeloop.ingest.formats import AdapterOutput, PreReject
from closeloop.ingest.load import STAGE, IngestResult, Progress
from closeloop.ingest.rules import TimeWindow
from closeloop.ingest.sources import CSV_ERRORS, Source, open_source, require_columns
from closeloop.model import RECORDS, RecordSchema
from closeloop.warehouse import Warehouse
from closeloop.warehouse.store import quote_ident as q


def schema_for(record: str) -> RecordSchema:
    """The canonical schema called ``record``."""
    try:
        return RECORDS[record]
    except KeyError:
        raise InputError(f"unknown record kind {record!r}; known: {', '.join(RECORDS)}") from None


_CSV_ERROR_NAMES = {
    "MISSING COLUMNS": "too few fields",
    "TOO MANY COLUMNS": "too many fields",
    "INVALID UNICODE": "invalid UTF-8",
    "UNQUOTED VALUE": "badly quoted field",
    "LINE SIZE OVER MAXIMUM": "line too long",
}


def _structural_rejects(wh: Warehouse, source: Source) -> list[PreReject]:
    """Lines DuckDB's CSV reader could not split into the header's fields (one reject per line)."""
    if source.kind != "csv":
        return []
    rows = wh.con.execute(f"""
        SELECT line, arg_min(column_name, coalesce(column_idx, 0)), arg_min(error_type, coalesce(column_idx, 0)),
               arg_min(error_message, coalesce(column_idx, 0)), arg_min(csv_line, coalesce(column_idx, 0))
        FROM {CSV_ERRORS} GROUP BY line ORDER BY line""").fetchall()
    return [
        # In a CRLF file DuckDB's raw text starts with the previous line's '\n': no record starts so.
        PreReject(int(line), col, _structural_reason(etype, msg), raw.lstrip("\r\n") if raw else raw)
        for line, col, etype, msg, raw in rows
    ]


def _structural_reason(etype: str | None, msg: str | None) -> str:
    """'too many fields: <DuckDB's first line>' (either part may be missing)."""
    name = _CSV_ERROR_NAMES.get(etype or "", (etype or "unreadable record").lower())
    detail = (msg or "").strip().splitlines()
    return f"{name}: {detail[0]}" if detail else name


def load_source(
    wh: Warehouse, schema: RecordSchema, rows: load.Rows, source_name: str, fmt: str, default_tz: str,
    pre_rejects: list[PreReject], late_rejects: Callable[[], list[PreReject]] | None = None,
    progress: Progress = load._noop, window: TimeWindow | None = None,
    line_map: Callable[[int], LineMap] | None = None,
) -> IngestResult:
    """Validate and load one source relation as one unit (see :mod:`closeloop.ingest.load`).

    ``late_rejects`` gives rows the reader itself skipped (known only once the source was
    scanned); their lines also fix the line numbers of the rows after them. ``line_map``
    (CSV files) maps the records read to physical lines where blank lines or multi-line
    records shift them; it is asked only when a row is rejected.
    """
    progress("validating")
    staged_rows, extras = load.staged(
        wh, lambda: load.stage_rows(wh.con, schema, rows, default_tz, window=window), source_name)

    def work() -> IngestResult:
        con = wh.con
        first_load = load.can_swap_into_place(wh, schema)
        skipped = late_rejects() if late_rejects else []
        staged = int(con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0])  # type: ignore[index]
        fix = _LazyLines(con, skipped, (lambda: line_map(staged + len(skipped))) if line_map else None)
        load.reject_duplicate_keys(con, schema, staged_rows, fix)
        orphans = load.count_orphans(con, schema)
        ingest_id = load.next_ingest_id(con)
        load.forget_earlier_rejects(con, schema.name, source_name)
        invalid = con.execute(f"SELECT EXISTS (FROM {STAGE} WHERE __err <> '')").fetchone()[0]  # type: ignore[index]
        rejected = load.write_rejects(con, ingest_id, schema.name, source_name, staged_rows, fix) if invalid else 0
        pre = [*pre_rejects, *fix.physical_rejects(skipped)]
        load.write_pre_rejects(con, ingest_id, schema.name, source_name, pre)
        progress("loading")
        if first_load:
            loaded, replaced = load.swap_into_place(wh, schema), 0
        else:
            loaded, replaced = load.upsert(wh, schema, extras)
        res = IngestResult(
            record=schema.name, source=source_name, format=fmt, rows_read=int(staged) + len(pre),
            loaded=loaded, rejected=rejected + len(pre), replaced=replaced, orphans=orphans,
            ingest_id=ingest_id,
        )
        res.top_reasons = load.top_reasons(con, ingest_id)
        load.log_ingest(con, res)
        progress("committing")
        return res

    return load.in_transaction(wh, work)


class _LazyLines:
    """The line fix of :func:`closeloop.ingest.load.line_fixer`, built on first use.

    Most files reject nothing, so their line map is never computed (see
    :mod:`closeloop.ingest.csvlines`).
    """

    def __init__(self, con: Any, skipped: list[PreReject], lines: Callable[[], LineMap] | None) -> None:
        self.con, self.skipped, self.lines = con, skipped, lines
        self._map: LineMap | None = None
        self._fix: Callable[[str], str] | None = None

    def map(self) -> LineMap:
        if self._map is None:
            self._map = self.lines() if self.lines else LineMap()
        return self._map

    def __call__(self, sql: str) -> str:
        if self._fix is None:
            lines = self.map()
            fixer = load.line_fixer(self.con, [r.line for r in self.skipped if r.line is not None] + lines.blank)
            physical = physical_sql(self.con, lines)
            self._fix = lambda s: physical(fixer(s))
        return self._fix(sql)

    def physical_rejects(self, rejects: list[PreReject]) -> list[PreReject]:
        """The reader's rejects with their physical lines."""
        if not rejects or self.lines is None or not self.map().steps:
            return rejects
        return [PreReject(None if r.line is None else self.map().physical(r.line), r.field, r.reason, r.raw)
                for r in rejects]


def ingest_table_file(
    wh: Warehouse, record: str, path: Path, default_tz: str = "UTC", progress: Progress = load._noop,
    window: TimeWindow | None = None, delimiter: str | None = None,
) -> IngestResult:
    """Ingest one canonical CSV/Parquet file of a table record."""
    schema = schema_for(record)
    progress("reading")
    source = open_source(wh.con, path, delimiter)
    require_columns(source, schema)
    lines = (lambda n: csv_line_map(path, source.delimiter, n)) if source.kind == "csv" else None
    return load_source(
        wh, schema, source.rows, str(path), source.kind, default_tz, [],
        lambda: _structural_rejects(wh, source), progress, window, lines,
    )


def arrow_source_rows(wh: Warehouse, table: pa.Table, name: str) -> load.Rows:
    """Register an Arrow table and return its rows: its columns as text, plus __line/__raw."""
    wh.con.register(name, table)
    cols = [c for c in table.column_names if c not in ("__line", "__raw")]
    text = ", ".join(f"CAST({q(c)} AS VARCHAR) AS {q(c)}" for c in cols)
    line = "__line" if "__line" in table.column_names else "row_number() OVER ()"
    raw = (
        "__raw" if "__raw" in table.column_names
        else "concat_ws(',', " + ", ".join(f"coalesce(CAST({q(c)} AS VARCHAR), '')" for c in cols) + ")"
    )
    return load.Rows(f"SELECT {line} AS __line, {raw} AS __raw, {text} FROM {name}", cols)


def ingest_adapter_output(
    wh: Warehouse, out: AdapterOutput, record: str, source_name: str, fmt: str, default_tz: str,
    progress: Progress = load._noop, window: TimeWindow | None = None,
) -> IngestResult:
    """Validate and load what a format adapter read, like a canonical file."""
    schema = schema_for(record)
    rows = arrow_source_rows(wh, out.table, "__adapter_rows")
    try:
        return load_source(wh, schema, rows, source_name, fmt, default_tz, out.rejects, None, progress, window)
    finally:
        wh.con.unregister("__adapter_rows")


def ingest_arrow(
    wh: Warehouse, record: str, table: pa.Table, source: str, default_timezone: str = "UTC",
    window: TimeWindow | None = None,
) -> IngestResult:
    """Load an in-memory Arrow table of canonical columns (e.g. a simulator run) like a file."""
    return ingest_adapter_output(wh, AdapterOutput(table, [], table.num_rows), record, source, "arrow",
                                 default_timezone, window=window)
