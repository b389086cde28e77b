"""The one loading path: validate a relation of raw rows, upsert the good, keep the bad.

Each file is loaded in one transaction: either every row read ends up loaded or in
``rejects`` (with file, line, field, reason and raw text), or - if anything fails - the
warehouse is left exactly as it was. Re-loading a row with a known key replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from closeloop.errors import StorageError
from closeloop.ingest.formats import PreReject
from closeloop.ingest.rules import error_expression, lit, q, raw_select, record_checks, typed_select
from closeloop.model import RecordSchema
from closeloop.warehouse import Warehouse

STAGE = "__stage"
Progress = Callable[[str], None]

# Which references of a record should name known records: (column, table, key).
REFERENCES: dict[str, list[tuple[str, str, str]]] = {
    "calls": [("center_id", "centers", "center_id"), ("agent_id", "agents", "agent_id"),
              ("lead_id", "leads", "lead_id")],
    "agents": [("center_id", "centers", "center_id")],
}


@dataclass
class IngestResult:
    """What one file's ingest did: counts that always add up (read = loaded + rejected)."""

    record: str
    source: str
    format: str
    rows_read: int
    loaded: int
    rejected: int
    replaced: int
    orphans: dict[str, int] = field(default_factory=dict)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    ingest_id: int = 0


def _noop(_: str) -> None:
    return None


def _tz_expression(schema: RecordSchema, columns: list[str], default_tz: str) -> tuple[str, str]:
    """(JOIN clause, __tz expression) giving each row the zone of its center."""
    if "center_id" in columns and schema.name != "centers":
        join = 'LEFT JOIN centers AS __c ON __c.center_id = nullif(trim(__s."center_id"), \'\')'
        return join, f"coalesce(__c.timezone, {lit(default_tz)})"
    return "", lit(default_tz)


def stage_rows(
    con: duckdb.DuckDBPyConnection, schema: RecordSchema, source_sql: str, columns: list[str], default_tz: str,
    raw_expr: str = "__raw", persistent: bool = False,
) -> list[str]:
    """Create the stage table of typed values and error text; return the extra columns kept.

    ``raw_expr`` rebuilds a row's raw text from the source columns; it is evaluated only
    for rows that break a rule (most rows never need it, and building text is costly).
    A ``persistent`` stage can later become the record's table (see :func:`swap_into_place`).
    """
    extras = [c for c in columns if c not in schema.names and not c.startswith("__")]
    present = set(columns)
    missing = "".join(f", CAST(NULL AS VARCHAR) AS {q(f.name)}" for f in schema.fields if f.name not in present)
    join, tz = _tz_expression(schema, columns, default_tz)
    err = error_expression(record_checks(schema))
    value_cols = ", ".join(q("__v_" + f.name) for f in schema.fields)
    extra_cols = "".join(f", {q(c)}" for c in extras)
    con.execute(f"""
        CREATE OR REPLACE {"" if persistent else "TEMP "}TABLE {STAGE} AS
        SELECT __line, CASE WHEN __err <> '' THEN {raw_expr} END AS __raw, __err, {value_cols}{extra_cols}
        FROM (
            SELECT *, {err} AS __err FROM (
                SELECT *, {typed_select(schema)} FROM (
                    SELECT *, {raw_select(schema)} FROM (
                        SELECT __s.*, {tz} AS __tz{missing} FROM ({source_sql}) AS __s {join}
                    )
                )
            )
        )""")
    return extras


def prepare_line_fix(con: duckdb.DuckDBPyConnection, skipped: list[int]) -> None:
    """Define ``__fix(l)``: the physical line of a parsed row, past lines the reader skipped.

    Stage lines count parsed rows; the k-th parsed row sits on line
    ``k + 1 + #{i : L_i - i <= k}`` for skipped lines L (sorted, 1-based i). Only rows
    that end in rejects need their line, so only they are fixed.
    """
    adj = [line - i for i, line in enumerate(sorted(set(skipped)), start=1)]
    con.execute("CREATE OR REPLACE TEMP TABLE __skipped AS SELECT unnest(?::BIGINT[]) AS adj", [adj])
    con.execute("CREATE OR REPLACE TEMP MACRO __fix(l) AS l + (SELECT count(*) FROM __skipped WHERE adj <= l - 1)")
    if adj:
        con.execute(f"UPDATE {STAGE} SET __line = __fix(__line) WHERE __err <> ''")


def reject_duplicate_keys(
    con: duckdb.DuckDBPyConnection, schema: RecordSchema, source_sql: str, raw_expr: str = "__raw"
) -> int:
    """Within one file the last row of a key wins; earlier ones go to rejects, saying which line won.

    Call after :func:`prepare_line_fix`.
    """
    key = q("__v_" + schema.key)
    dupes = con.execute(
        f"SELECT count(*) - count(DISTINCT {key}) FROM {STAGE} WHERE __err = ''"
    ).fetchone()[0]  # type: ignore[index]
    if not dupes:
        return 0
    con.execute(f"""
        UPDATE {STAGE} SET __err = {lit(schema.key + ': duplicate key in this file; line ')} || __fix(d.kept) || ' kept'
        FROM (
            SELECT __line, max(__line) OVER (PARTITION BY {key}) AS kept FROM {STAGE} WHERE __err = ''
        ) AS d
        WHERE {STAGE}.__line = d.__line AND d.__line <> d.kept""")
    con.execute(f"""
        UPDATE {STAGE} SET __raw = src.__raw, __line = __fix({STAGE}.__line)
        FROM (SELECT __line, {raw_expr} AS __raw FROM ({source_sql})) AS src
        WHERE {STAGE}.__raw IS NULL AND {STAGE}.__err <> '' AND {STAGE}.__line = src.__line""")
    return int(dupes)


def count_orphans(con: duckdb.DuckDBPyConnection, schema: RecordSchema) -> dict[str, int]:
    """Loaded rows whose reference names no known record (kept, but reported)."""
    out: dict[str, int] = {}
    for column, table, key in REFERENCES.get(schema.name, []):
        n = con.execute(
            f"SELECT count(*) FROM {STAGE} AS s WHERE s.__err = '' AND s.{q('__v_' + column)} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {q(table)} AS t WHERE t.{q(key)} = s.{q('__v_' + column)})"
        ).fetchone()[0]  # type: ignore[index]
        if n:
            out[column] = int(n)
    return out


def upsert(wh: Warehouse, schema: RecordSchema, extras: list[str]) -> tuple[int, int]:
    """Replace rows whose key is in the stage, insert the valid staged rows; (loaded, replaced)."""
    con, key = wh.con, q(schema.key)
    wh.add_extra_columns(schema.name, extras)
    replaced = con.execute(
        f"DELETE FROM {q(schema.name)} WHERE {key} IN (SELECT {q('__v_' + schema.key)} FROM {STAGE} WHERE __err = '')"
    ).fetchone()[0]  # type: ignore[index]
    cols = ", ".join([f"{q('__v_' + f.name)} AS {q(f.name)}" for f in schema.fields] + [q(c) for c in extras])
    loaded = con.execute(
        f"INSERT INTO {q(schema.name)} BY NAME SELECT {cols} FROM {STAGE} WHERE __err = ''"
    ).fetchone()[0]  # type: ignore[index]
    return int(loaded), int(replaced)


def forget_earlier_rejects(con: duckdb.DuckDBPyConnection, record: str, source: str) -> None:
    """Re-ingesting a file re-decides all its rows, so its earlier rejects are replaced."""
    con.execute("DELETE FROM rejects WHERE record = ? AND source = ?", [record, source])


def can_swap_into_place(wh: Warehouse, schema: RecordSchema) -> bool:
    """A first load (empty table, no kept extra columns) can rename its stage into place."""
    return wh.columns(schema.name) == schema.names and wh.count(schema.name) == 0


def swap_into_place(wh: Warehouse, schema: RecordSchema) -> int:
    """Make the (persistent) stage the record's table instead of copying its rows: returns rows loaded.

    Call after the rejects were written: the invalid rows are dropped from the stage, the
    bookkeeping columns removed and ``__v_<name>`` renamed to ``<name>``, which leaves the
    canonical columns in order followed by the file's extras. Renames are catalogue changes,
    so a big first load writes its rows once instead of twice.
    """
    con = wh.con
    con.execute(f"DELETE FROM {STAGE} WHERE __err <> ''")
    for col in ("__line", "__raw", "__err"):
        con.execute(f"ALTER TABLE {STAGE} DROP COLUMN {col}")
    for f in schema.fields:
        con.execute(f"ALTER TABLE {STAGE} RENAME COLUMN {q('__v_' + f.name)} TO {q(f.name)}")
    con.execute(f"DROP TABLE {q(schema.name)}")
    con.execute(f"ALTER TABLE {STAGE} RENAME TO {q(schema.name)}")
    return wh.count(schema.name)


def write_rejects(con: duckdb.DuckDBPyConnection, ingest_id: int, record: str, source: str) -> int:
    """Move the stage's invalid rows to ``rejects``: field = first failing field, reason = all problems."""
    return int(con.execute(f"""
        INSERT INTO rejects
        SELECT {ingest_id}, {lit(record)}, {lit(source)}, __line, split_part(__err, ':', 1), __err, __raw
        FROM {STAGE} WHERE __err <> ''""").fetchone()[0])  # type: ignore[index]


def write_pre_rejects(
    con: duckdb.DuckDBPyConnection, ingest_id: int, record: str, source: str, rejects: list[PreReject]
) -> None:
    """Keep rows a reader or format adapter could not turn into fields."""
    if rejects:
        con.executemany(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(ingest_id, record, source, r.line, r.field, r.reason, r.raw) for r in rejects],
        )


def next_ingest_id(con: duckdb.DuckDBPyConnection) -> int:
    """A new id for the ingest log."""
    return int(con.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests").fetchone()[0])  # type: ignore[index]


def top_reasons(con: duckdb.DuckDBPyConnection, ingest_id: int, n: int = 5) -> list[tuple[str, int]]:
    """The most common reasons of one ingest's rejects (first problem of each row)."""
    rows = con.execute(
        "SELECT split_part(reason, '; ', 1) AS r, count(*) AS n FROM rejects WHERE ingest_id = ? "
        "GROUP BY r ORDER BY n DESC, r LIMIT ?",
        [ingest_id, n],
    ).fetchall()
    return [(r, int(c)) for r, c in rows]


def log_ingest(con: duckdb.DuckDBPyConnection, res: IngestResult) -> None:
    """Record the ingest in the log that `closeloop status` reads."""
    orphans = ", ".join(f"{k}={v}" for k, v in res.orphans.items()) or None
    con.execute(
        "INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [res.ingest_id, res.record, res.source, res.format, res.rows_read, res.loaded, res.rejected,
         res.replaced, orphans],
    )


def in_transaction(wh: Warehouse, work: Callable[[], IngestResult]) -> IngestResult:
    """Run ``work`` atomically: commit all of it or none of it."""
    con = wh.con
    con.begin()
    try:
        result = work()
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
        con.commit()
    except BaseException as exc:
        con.rollback()
        if isinstance(exc, duckdb.Error):
            raise StorageError(f"loading {exc.__class__.__name__}: {exc}") from exc
        raise
    return result

