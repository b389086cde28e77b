"""Ingest table records (centers, agents, leads, calls) from files, adapters or Arrow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from closeloop.errors import InputError
from closeloop.ingest import load
from closeloop.ingest.formats import AdapterOutput, PreReject
from closeloop.ingest.load import STAGE, IngestResult, Progress
from closeloop.ingest.rules import q
from closeloop.ingest.sources import CSV_ERRORS, Source, open_source, require_columns
from closeloop.model import RECORDS, RecordSchema
from closeloop.warehouse import Warehouse


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
        SELECT line, arg_min(column_name, column_idx), arg_min(error_type, column_idx),
               arg_min(error_message, column_idx), arg_min(csv_line, column_idx)
        FROM {CSV_ERRORS} GROUP BY line ORDER BY line""").fetchall()
    return [
        PreReject(int(line), col, f"{_CSV_ERROR_NAMES.get(etype, etype.lower())}: {msg.splitlines()[0]}", raw)
        for line, col, etype, msg, raw in rows
    ]


def load_source(
    wh: Warehouse, schema: RecordSchema, rows: load.Rows, source_name: str, fmt: str, default_tz: str,
    pre_rejects: list[PreReject], late_rejects: Callable[[], list[PreReject]] | None = None,
    progress: Progress = load._noop,
) -> IngestResult:
    """Validate and load one source relation as one unit (see :mod:`closeloop.ingest.load`).

    ``late_rejects`` gives rows the reader itself skipped (known only once the source was
    scanned); their lines also fix the line numbers of the rows after them.
    """
    progress("validating")
    staged_rows, extras = load.staged(wh, lambda: load.stage_rows(wh.con, schema, rows, default_tz))

    def work() -> IngestResult:
        con = wh.con
        first_load = load.can_swap_into_place(wh, schema)
        skipped = late_rejects() if late_rejects else []
        pre = [*pre_rejects, *skipped]
        fix = load.line_fixer(con, [r.line for r in skipped if r.line is not None])
        load.reject_duplicate_keys(con, schema, staged_rows, fix)
        orphans = load.count_orphans(con, schema)
        ingest_id = load.next_ingest_id(con)
        load.forget_earlier_rejects(con, schema.name, source_name)
        rejected = load.write_rejects(con, ingest_id, schema.name, source_name, staged_rows, fix)
        load.write_pre_rejects(con, ingest_id, schema.name, source_name, pre)
        staged = con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]  # type: ignore[index]
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


def ingest_table_file(
    wh: Warehouse, record: str, path: Path, default_tz: str = "UTC", progress: Progress = load._noop
) -> IngestResult:
    """Ingest one canonical CSV/Parquet file of a table record."""
    schema = schema_for(record)
    progress("reading")
    source = open_source(wh.con, path)
    require_columns(source, schema)
    return load_source(
        wh, schema, source.rows, str(path), source.kind, default_tz, [],
        lambda: _structural_rejects(wh, source), progress,
    )


def arrow_source_rows(wh: Warehouse, table: pa.Table, name: str) -> load.Rows:
    """Register an Arrow table and return its rows: its columns as text, plus __line/__raw."""
    wh.con.register(name, table)
    cols = [c for c in table.column_names if c not in ("__line", "__raw")]
    text = ", ".join(f"CAST({q(c)} AS VARCHAR) AS {q(c)}" for c in cols)
    line = "__line" if "__line" in table.column_names else "row_number() OVER ()"
    raw = (
        "__raw" if "__raw" in table.column_names
        else " || ',' || ".join(f"coalesce(CAST({q(c)} AS VARCHAR), '')" for c in cols)
    )
    return load.Rows(f"SELECT {line} AS __line, {raw} AS __raw, {text} FROM {name}", cols)


def ingest_adapter_output(
    wh: Warehouse, out: AdapterOutput, record: str, source_name: str, fmt: str, default_tz: str,
    progress: Progress = load._noop,
) -> IngestResult:
    """Validate and load what a format adapter read, like a canonical file."""
    schema = schema_for(record)
    rows = arrow_source_rows(wh, out.table, "__adapter_rows")
    try:
        return load_source(wh, schema, rows, source_name, fmt, default_tz, out.rejects, None, progress)
    finally:
        wh.con.unregister("__adapter_rows")


def ingest_arrow(
    wh: Warehouse, record: str, table: pa.Table, source: str, default_timezone: str = "UTC",
) -> IngestResult:
    """Load an in-memory Arrow table of canonical columns (e.g. a simulator run) like a file."""
    return ingest_adapter_output(wh, AdapterOutput(table, [], table.num_rows), record, source, "arrow",
                                 default_timezone)
