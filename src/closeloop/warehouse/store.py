"""The embedded DuckDB warehouse: canonical tables, rejects, ingest log.

Tables are created from the canonical schemas in :mod:`closeloop.model`, so there is one
definition of each record. Metric code reaches the data through :meth:`Warehouse.ibis`,
a portable Ibis backend over the same connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from closeloop.errors import StorageError
from closeloop.model import RECORDS, FieldType, RecordSchema

if TYPE_CHECKING:
    from closeloop.settings import Settings

_DUCK_TYPES = {
    FieldType.STRING: "VARCHAR",
    FieldType.TIMESTAMP: "TIMESTAMPTZ",
    FieldType.FLOAT: "DOUBLE",
    FieldType.INTEGER: "BIGINT",
}

REJECTS_DDL = """
CREATE TABLE IF NOT EXISTS rejects (
    ingest_id BIGINT NOT NULL,
    record VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    line BIGINT,
    field VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR
)"""

INGESTS_DDL = """
CREATE TABLE IF NOT EXISTS ingests (
    ingest_id BIGINT PRIMARY KEY,
    record VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    rows_read BIGINT NOT NULL,
    loaded BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    replaced BIGINT NOT NULL,
    orphans VARCHAR,
    finished_at TIMESTAMPTZ NOT NULL
)"""


def quote(identifier: str) -> str:
    """An SQL identifier quoted for DuckDB: any name, even one holding a double quote."""
    return '"' + identifier.replace('"', '""') + '"'


def storage_type(ftype: FieldType) -> str:
    """The DuckDB type that stores a logical field type."""
    return _DUCK_TYPES[ftype]


def table_ddl(schema: RecordSchema) -> str:
    """CREATE TABLE for a canonical record (no key constraint: upserts delete-then-insert)."""
    cols = ",\n    ".join(f'"{f.name}" {storage_type(f.type)}' for f in schema.fields)
    return f'CREATE TABLE IF NOT EXISTS "{schema.name}" (\n    {cols}\n)'


class Warehouse:
    """A DuckDB database holding the canonical tables of one workspace."""

    def __init__(self, path: Path | str = ":memory:", read_only: bool = False, memory_limit: str | None = None,
                 external_access: bool = True) -> None:
        self.path = str(path)
        # Without external access a query can read no file, URL or extension beyond this database
        # (what a server facing the network wants: no query it runs can reach the disk).
        config = {} if external_access else {"enable_external_access": False}
        try:
            self.con = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise StorageError(f"cannot open warehouse {self.path}: {exc}") from exc
        self.con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            try:
                self.con.execute(f"SET memory_limit = '{memory_limit}'")
            except duckdb.Error as exc:
                raise StorageError(f"warehouse.memory_limit {memory_limit!r} is not a size like '1GB': {exc}") from exc
        # Track query progress (for progress bars via query_progress) but never print it.
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET enable_progress_bar_print = false")
        if not read_only:
            self.ensure_schema()

    def ensure_schema(self) -> None:
        """Create any missing canonical table (idempotent)."""
        for schema in RECORDS.values():
            self.con.execute(table_ddl(schema))
        self.con.execute(REJECTS_DDL)
        self.con.execute(INGESTS_DDL)

    def columns(self, table: str) -> list[str]:
        """Column names of ``table`` in order (canonical first, then kept extras)."""
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return [r[0] for r in rows]

    def add_extra_columns(self, table: str, names: list[str]) -> None:
        """Keep a file's extra columns: add each unknown one as VARCHAR."""
        have = set(self.columns(table))
        for name in names:
            if name not in have:
                self.con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" VARCHAR')

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run SQL and return an Arrow table; DuckDB errors become StorageError."""
        try:
            rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
        except duckdb.Error as exc:
            raise StorageError(f"query failed: {exc}") from exc
        if rel is None:  # a statement without a result (DDL, SET...)
            return pa.table({})
        try:
            return rel.to_arrow_table()
        except duckdb.Error as exc:
            raise StorageError(f"query failed: {exc}") from exc

    def ibis(self) -> Any:
        """A portable Ibis backend over this connection (what metric code uses)."""
        import ibis

        return ibis.duckdb.from_connection(self.con)

    def store_facts(self, backend: Any, conv: Any) -> None:
        """(Re)build the stored per-call facts in one transaction (:mod:`closeloop.warehouse.facts`)."""
        from closeloop.warehouse.facts import build_facts

        build_facts(backend, conv)

    def tables(self) -> set[str]:
        """Names of the tables in the warehouse (canonical, derived and internal)."""
        return {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}

    def replace_table(self, name: str, table: pa.Table) -> None:
        """Replace a derived table (``leads_clean``, ``lead_scores``...) by ``table`` in one transaction.

        Why one transaction: a crash mid-step leaves the previous consistent table, never a
        missing or half-written one.
        """
        self.replace_tables({name: table})

    def replace_tables(self, tables: dict[str, pa.Table]) -> None:
        """Replace several derived tables together: all of them or none (one transaction)."""
        from closeloop.errors import map_errors

        with map_errors(f"writing {', '.join(tables)}"):
            self.con.execute("BEGIN TRANSACTION")
            try:
                for name, table in tables.items():
                    view = f"_cl_upload_{len(name)}"
                    self.con.register(view, table)
                    try:
                        self.con.execute(f'CREATE OR REPLACE TABLE {quote(name)} AS SELECT * FROM "{view}"')
                    finally:
                        self.con.unregister(view)
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise

    def count(self, table: str) -> int:
        """Row count of a table."""
        return int(self.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]

    def close(self) -> None:
        """Close the connection (checkpointing the file)."""
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_warehouse(settings: Settings, read_only: bool = False) -> Warehouse:
    """Open the warehouse a workspace's settings point at."""
    return Warehouse(settings.warehouse_path(), read_only=read_only, memory_limit=settings.warehouse_memory_limit,
                     external_access=settings.warehouse_external_access)
