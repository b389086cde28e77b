"""The one loading path: validate a relation of raw rows, upsert the good, keep the bad.

Each file is loaded as one unit: either every row read ends up loaded or in ``rejects``
(with file, line, field, reason and raw text), or - if anything fails - the warehouse's
tables are left exactly as they were. Re-loading a row with a known key replaces it.

Loading runs in two transactions. The first writes the validated rows to a stage table
no command reads (a big bulk write, committed as written); the second turns the stage
into rejects and loaded rows and is the only one that changes what users see. Deleting
the invalid rows from a committed stage is a cheap mark, whereas deleting them inside
the transaction that wrote them makes DuckDB rewrite every row group at commit. A stage
left behind by a crash between the two is dropped by the next load.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import duckdb

from closeloop.errors import InputError, StorageError
from closeloop.ingest.formats import PreReject
from closeloop.ingest.rules import (
    TimeWindow,
    error_expression,
    lit,
    nul_checks,
    raw_select,
    record_checks,
    record_failed,
    typed_select,
)
from closeloop.ingest.zones import local_offset_sql, zone_columns
from closeloop.model import RecordSchema
from closeloop.warehouse import Warehouse
from closeloop.warehouse.store import quote_ident as q

STAGE = "__stage"
T = TypeVar("T")
Progress = Callable[[str], None]

# Which references of a record should name known records: (column, table, key).
REFERENCES: dict[str, list[tuple[str, str, str]]] = {
    "calls": [("center_id", "centers", "center_id"), ("agent_id", "agents", "agent_id"),
              ("lead_id", "leads", "lead_id")],
    "agents": [("center_id", "centers", "center_id")],
    "lead_events": [("lead_id", "leads", "lead_id")],
}


@dataclass(frozen=True)
class Rows:
    """A relation of raw rows to validate: one VARCHAR column per input column.

    ``line`` is SQL over the stage giving a row's physical input line (before lines the
    reader skipped are counted in); ``{t}`` stands for the stage's qualifier. Most
    sources carry a ``__line`` column; a CSV file's line follows from the stage's row
    order instead, because numbering rows in the query would make DuckDB read the file
    on one thread. ``numbered_sql`` is ``sql`` with a ``__line`` column, read again only
    to rebuild the raw text of rows rejected late (duplicate keys); ``raw_expr`` rebuilds
    a row's raw text from its columns. ``padded`` is False only where the source is known
    to hold no empty string and no value with a space at either end, so values need no trim;
    ``may_have_nul`` is False only where the source is known to hold no NUL byte (a value
    with one is rejected, see :func:`closeloop.ingest.rules.nul_checks`).
    """

    sql: str
    columns: list[str]
    raw_expr: str = "__raw"
    line: str = "{t}__line"
    numbered_sql: str = ""
    padded: bool = True
    may_have_nul: bool = True

    def line_of(self, qualifier: str = "") -> str:
        """The line SQL, its columns qualified with ``qualifier`` (e.g. ``'s.'``)."""
        return self.line.format(t=qualifier)

    @property
    def has_line_column(self) -> bool:
        return "__line" in self.line


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


# Up to this many centers, a row's zone is found by a CASE over its center id; beyond,
# by a join, which is slower and does not keep the rows' order (see :func:`stage_rows`).
MAX_CASE_CENTERS = 1000


def _tz_expression(
    con: duckdb.DuckDBPyConnection, schema: RecordSchema, columns: list[str], default_tz: str
) -> tuple[str, str, list[str]]:
    """(JOIN clause, __tz expression, zones it can give): each row's zone for offset-less times.

    The zone is the row's center's; rows of unknown centers (and records without one) use
    the workspace's default zone.
    """
    if "center_id" not in columns or schema.name == "centers":
        return "", lit(default_tz), [default_tz]
    zones = con.execute(
        "SELECT center_id, timezone FROM centers WHERE timezone IS NOT NULL AND timezone <> ? ORDER BY center_id",
        [default_tz],
    ).fetchall()
    names = sorted({default_tz, *(z for _, z in zones)})
    if len(zones) > MAX_CASE_CENTERS:
        join = "LEFT JOIN centers AS __c ON __c.center_id = __r_center_id"
        return join, f"coalesce(__c.timezone, {lit(default_tz)})", names
    if not zones:
        return "", lit(default_tz), names
    whens = " ".join(f"WHEN {lit(c)} THEN {lit(z)}" for c, z in zones)
    return "", f"CASE __r_center_id {whens} ELSE {lit(default_tz)} END", names


def stage_rows(
    con: duckdb.DuckDBPyConnection, schema: RecordSchema, rows: Rows, default_tz: str, persistent: bool = True,
    window: TimeWindow | None = None,
) -> tuple[Rows, list[str]]:
    """Create the stage table of typed values and error text; return the rows staged and the extras kept.

    The raw text is rebuilt only for rows that break a rule (most rows never need it, and
    building text is costly). The stage keeps the source's row order, which is what gives
    a CSV row its line; where a join would break that order, the rows are numbered in the
    query instead (the returned rows say how lines are known). A ``persistent`` stage can
    later become the record's table (see :func:`swap_into_place`).
    """
    join, tz, zones = _tz_expression(con, schema, rows.columns, default_tz)
    if join and not rows.has_line_column:  # a join does not keep the order that gives CSV lines
        rows = Rows(rows.numbered_sql, rows.columns, rows.raw_expr, padded=rows.padded)
    columns = rows.columns
    extras = [c for c in columns if c not in schema.names and not c.startswith("__")]
    present = set(columns)
    missing = "".join(f", CAST(NULL AS VARCHAR) AS {q(f.name)}" for f in schema.fields if f.name not in present)
    checks, failed = record_checks(schema, window), record_failed(schema, window)
    if rows.may_have_nul:
        nul = nul_checks(schema, extras)
        checks, failed = checks + nul, " OR ".join([f"({failed})", *(f"({c.failed})" for c in nul)])
    err = error_expression(checks, failed)
    value_cols = ", ".join(q("__v_" + f.name) for f in schema.fields)
    extra_cols = "".join(f", {q(c)}" for c in extras)
    line = "__line, " if rows.has_line_column else ""
    zoned = f"""
        SELECT *, {zone_columns(con, zones)} FROM (
            SELECT __s.*, {tz} AS __tz FROM (
                SELECT *, {raw_select(schema, rows.padded)} FROM (SELECT *{missing} FROM ({rows.sql}))
            ) AS __s {join}
        )"""
    con.execute(f"""
        CREATE OR REPLACE {"" if persistent else "TEMP "}TABLE {STAGE} AS
        SELECT {line}CASE WHEN __err <> '' THEN {rows.raw_expr} END AS __raw, __err, {value_cols}{extra_cols}
        FROM (
            SELECT *, {err} AS __err FROM (
                {typed_select(schema, zoned, lambda local: local_offset_sql(con, zones, local))}
            )
        )""")
    return rows, extras


def line_fixer(con: duckdb.DuckDBPyConnection, skipped: list[int]) -> Callable[[str], str]:
    """Return ``fix(sql)``: SQL turning a row's parsed-row line into its physical line.

    Stage lines count parsed rows; the k-th parsed row sits on line
    ``k + 1 + #{i : L_i - i <= k}`` for lines L the reader skipped (sorted, 1-based i).
    Only rows that end in rejects need their line, so the fix is applied as they are written.
    """
    adj = [line - i for i, line in enumerate(sorted(set(skipped)), start=1)]
    if not adj:
        return lambda sql: sql
    con.execute("CREATE OR REPLACE TEMP TABLE __skipped AS SELECT unnest(?::BIGINT[]) AS adj", [adj])
    con.execute("CREATE OR REPLACE TEMP MACRO __fix(l) AS l + (SELECT count(*) FROM __skipped WHERE adj <= l - 1)")
    return lambda sql: f"__fix({sql})"


def _maybe_duplicate_keys(con: duckdb.DuckDBPyConnection, key: str) -> bool:
    """False when the stage's valid keys are surely distinct: their 64-bit hashes are.

    Distinct hashes prove distinct keys. Sorting the 64-bit hashes and comparing
    neighbours is ~30% cheaper than DuckDB's count(DISTINCT) over them (which is cheaper
    than over the strings: 0.8 s vs 1.2 s at 10M rows); a collision (about n^2 / 2^65: one
    in ~400,000 files of 10M rows) only sends the file to the exact count.
    """
    repeats = con.execute(f"""
        SELECT count(*) FROM (
            SELECT __h, lag(__h) OVER (ORDER BY __h) AS __prev FROM (
                SELECT hash({key}) AS __h FROM {STAGE} WHERE __err = ''))
        WHERE __h = __prev""").fetchone()[0]  # type: ignore[index]
    return bool(repeats)


def reject_duplicate_keys(
    con: duckdb.DuckDBPyConnection, schema: RecordSchema, rows: Rows, fix: Callable[[str], str]
) -> int:
    """Within one file the last row of a key wins; earlier ones go to rejects, saying which line won."""
    key = q("__v_" + schema.key)
    if not _maybe_duplicate_keys(con, key):
        return 0
    dupes = con.execute(
        f"SELECT count(*) - count(DISTINCT {key}) FROM {STAGE} WHERE __err = ''"
    ).fetchone()[0]  # type: ignore[index]
    if not dupes:
        return 0
    line, message = rows.line_of(), lit(schema.key + ": duplicate key in this file; line ")
    con.execute(f"""
        UPDATE {STAGE} SET __err = {message} || {fix("d.kept")} || ' kept'
        FROM (
            SELECT rid, kept FROM (
                SELECT rowid AS rid, {line} AS l, max({line}) OVER (PARTITION BY {key}) AS kept
                FROM {STAGE} WHERE __err = '' AND {key} IN (
                    SELECT {key} FROM {STAGE} WHERE __err = '' GROUP BY {key} HAVING count(*) > 1)
            ) WHERE l <> kept
        ) AS d
        WHERE {STAGE}.rowid = d.rid""")
    con.execute(f"""
        UPDATE {STAGE} SET __raw = src.__raw
        FROM (SELECT __line, {rows.raw_expr} AS __raw FROM ({rows.numbered_sql or rows.sql})) AS src
        WHERE {STAGE}.__raw IS NULL AND {STAGE}.__err <> '' AND {rows.line_of(STAGE + '.')} = src.__line""")
    return int(dupes)


def count_orphans(con: duckdb.DuckDBPyConnection, schema: RecordSchema) -> dict[str, int]:
    """Loaded rows whose reference names no known record (kept, but reported).

    One pass over the stage for all references; a reference to an empty table (calls
    loaded before the agents, say) makes every non-empty value an orphan, no lookup needed.
    """
    counts, joins = [], []
    for i, (column, table, key) in enumerate(REFERENCES.get(schema.name, [])):
        value = f"s.{q('__v_' + column)}"
        if con.execute(f"SELECT EXISTS (FROM {q(table)})").fetchone()[0]:  # type: ignore[index]
            joins.append(f"LEFT JOIN (SELECT DISTINCT {q(key)} AS k FROM {q(table)}) AS r{i} ON r{i}.k = {value}")
            counts.append(f"count({value}) FILTER (WHERE r{i}.k IS NULL)")
        else:
            counts.append(f"count({value})")
    if not counts:
        return {}
    row = con.execute(f"SELECT {', '.join(counts)} FROM {STAGE} AS s {' '.join(joins)} WHERE s.__err = ''").fetchone()
    columns = [c for c, _, _ in REFERENCES[schema.name]]
    return {c: int(n) for c, n in zip(columns, row, strict=True) if n}  # type: ignore[arg-type]


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
    """Make the stage the record's table instead of copying its rows: returns rows loaded.

    Call after the rejects were written: the invalid rows are dropped from the stage, the
    bookkeeping columns removed and ``__v_<name>`` renamed to ``<name>``, which leaves the
    canonical columns in order followed by the file's extras. Renames are catalogue changes,
    so a big first load writes its rows once instead of twice.
    """
    con = wh.con
    con.execute(f"DELETE FROM {STAGE} WHERE __err <> ''")
    for col in ("__line", "__raw", "__err"):
        con.execute(f"ALTER TABLE {STAGE} DROP COLUMN IF EXISTS {col}")
    for f in schema.fields:
        con.execute(f"ALTER TABLE {STAGE} RENAME COLUMN {q('__v_' + f.name)} TO {q(f.name)}")
    con.execute(f"DROP TABLE {q(schema.name)}")
    con.execute(f"ALTER TABLE {STAGE} RENAME TO {q(schema.name)}")
    return wh.count(schema.name)


def write_rejects(
    con: duckdb.DuckDBPyConnection, ingest_id: int, record: str, source: str, rows: Rows,
    fix: Callable[[str], str],
) -> int:
    """Move the stage's invalid rows to ``rejects``: field = first failing field, reason = all problems."""
    return int(con.execute(f"""
        INSERT INTO rejects
        SELECT {ingest_id}, {lit(record)}, {lit(source)}, {fix(rows.line_of())}, split_part(__err, ':', 1), __err, __raw
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


def drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Remove a stage table (also one a crashed load left behind)."""
    con.execute(f"DROP TABLE IF EXISTS {STAGE}")


def in_transaction(wh: Warehouse, work: Callable[[], IngestResult], source: str | None = None) -> IngestResult:
    """Run ``work`` atomically: commit all of it or none of it; the stage goes either way.

    ``source`` names the file ``work`` reads, if it reads one (see :func:`staged`).
    """
    con = wh.con
    con.begin()
    try:
        result = work()
        drop_stage(con)
        con.commit()
    except BaseException as exc:
        con.rollback()
        _drop_stage_quietly(con)
        _raise_mapped(exc, source)
        raise
    return result


def staged(wh: Warehouse, write: Callable[[], T], source: str | None = None) -> T:
    """Write the stage in its own transaction (see the module docstring); return ``write``'s value.

    Writing the stage reads the whole source: a file that cannot be read to its end
    (truncated gzip, bytes that are no CSV at all) is bad input naming the file, not a
    storage failure.
    """
    con = wh.con
    drop_stage(con)
    con.begin()
    try:
        out = write()
        con.commit()
    except BaseException as exc:
        con.rollback()
        _drop_stage_quietly(con)
        _raise_mapped(exc, source)
        raise
    return out


def _raise_mapped(exc: BaseException, source: str | None) -> None:
    """DuckDB's errors as ours: a source that cannot be read is bad input, the rest storage."""
    if source is not None and isinstance(exc, (duckdb.IOException, duckdb.InvalidInputException)):
        raise InputError(f"{source}: cannot be read to its end ({_first_line(exc)})") from exc
    if isinstance(exc, duckdb.Error):
        raise StorageError(f"loading {exc.__class__.__name__}: {exc}") from exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__


def _drop_stage_quietly(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the connection itself broke; the next load drops it
        drop_stage(con)
