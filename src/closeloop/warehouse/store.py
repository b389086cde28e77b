"""The embedded DuckDB warehouse: canonical tables, rejects, ingest log.

Tables are created from the canonical schemas in :mod:`closeloop.model`, so there is one
definition of each record. Metric code reaches the data through :meth:`Warehouse.ibis`,
a portable Ibis backend over the same connection.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
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


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (any text, a lone double quote included)."""
    return '"' + name.replace('"', '""') + '"'


def storage_type(ftype: FieldType) -> str:
    """The DuckDB type that stores a logical field type."""
    return _DUCK_TYPES[ftype]


def table_ddl(schema: RecordSchema) -> str:
    """CREATE TABLE for a canonical record (no key constraint: upserts delete-then-insert)."""
    cols = ",\n    ".join(f"{quote_ident(f.name)} {storage_type(f.type)}" for f in schema.fields)
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(schema.name)} (\n    {cols}\n)"


class Warehouse:
    """A DuckDB database holding the canonical tables of one workspace."""

    def __init__(
        self, path: Path | str = ":memory:", read_only: bool = False, memory_limit: str | None = None,
        wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None, secured: bool = False,
        external_access: bool = True,
    ) -> None:
        self.path = str(path)
        config: dict[str, Any] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if not external_access:  # the web server: no query it runs can read a file, URL or extension
            config.update(enable_external_access=False, autoinstall_known_extensions=False)
        if secured:  # DuckDB's securing guide: no files, no network, no extensions...
            read_only = True
            config.update(enable_external_access=False, autoinstall_known_extensions=False,
                          autoload_known_extensions=False, allow_community_extensions=False)
        self.con = _connect(self.path, read_only, config, wait_s, on_wait or _say_waiting)
        # The zone is set here, not in the config: ICU (built in) is only loaded once connected.
        self.con.execute("SET TimeZone = 'UTC'")
        if secured:  # ... and no statement may turn any of that back on
            self.con.execute("SET lock_configuration = true")
        else:
            # Track query progress (for progress bars via query_progress) but never print it.
            self.con.execute("SET enable_progress_bar = true")
            self.con.execute("SET enable_progress_bar_print = false")
        if not read_only:
            self.ensure_schema()

    @classmethod
    def secured(cls, path: Path | str, memory_limit: str | None = None, wait_s: float = 0.0) -> Warehouse:
        """A read-only connection for SQL a user types: it can read the warehouse and nothing else.

        External access is off (no COPY TO, read_csv, ATTACH, httpfs: nothing outside the
        database file), extensions can be neither installed nor loaded, and the
        configuration is locked so that no statement can turn any of it back on.
        """
        return cls(path, memory_limit=memory_limit, wait_s=wait_s, secured=True)

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
                self.con.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(name)} VARCHAR")

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
                        self.con.execute(f'CREATE OR REPLACE TABLE {quote_ident(name)} AS SELECT * FROM "{view}"')
                    finally:
                        self.con.unregister(view)
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise

    def count(self, table: str) -> int:
        """Row count of a table."""
        return int(self.con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()[0])  # type: ignore[index]

    def size(self) -> dict[str, int]:
        """Bytes of the database file: ``file``, ``used`` by data and ``free`` (reusable, reclaimed by compact)."""
        _name, _size, block, total, used, free, *_ = self.con.execute("PRAGMA database_size").fetchone()  # type: ignore[misc]
        on_disk = os.path.getsize(self.path) if self.path != ":memory:" and os.path.exists(self.path) else 0
        return {"file": on_disk, "used": int(used) * int(block), "free": int(free) * int(block),
                "blocks": int(total)}

    def close(self) -> None:
        """Close the connection (checkpointing the file)."""
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def _say_waiting(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _connect(path: str, read_only: bool, config: dict[str, Any], wait_s: float,
             on_wait: Callable[[str], None]) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to ``wait_s`` while another process holds the file's lock.

    DuckDB lets one process write a database file and none read it meanwhile. A second
    ingest (or a `status` during an ingest) waits for the first, saying who holds the lock,
    rather than failing at once; past ``wait_s`` it fails naming the holder.
    """
    deadline, said = time.monotonic() + wait_s, False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            holder = _LOCK_HOLDER.search(str(exc))
            if holder is None:
                raise StorageError(f"cannot open warehouse {path}: {exc}") from exc
            who = f"pid {holder.group(2)}"
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"warehouse {path} is in use by another closeloop process ({who}); only one process may "
                    f"write it at a time (waited {wait_s:g} s: [warehouse] lock_timeout_s)") from exc
            if not said:
                on_wait(f"another process is using the warehouse ({who}), waiting up to {wait_s:g} s...")
                said = True
            time.sleep(0.2)
        except duckdb.Error as exc:
            if "memory_limit" in config and "memory" in str(exc).lower():
                raise StorageError(f"warehouse.memory_limit {config['memory_limit']!r} is not a size like '1GB': "
                                   f"{exc}") from exc
            raise StorageError(f"cannot open warehouse {path}: {exc}") from exc


def open_warehouse(settings: Settings, read_only: bool = False) -> Warehouse:
    """Open the warehouse a workspace's settings point at (waiting out another process's lock)."""
    return Warehouse(settings.warehouse_path(), read_only=read_only, memory_limit=settings.warehouse_memory_limit,
                     wait_s=settings.warehouse_lock_timeout_s, external_access=settings.warehouse_external_access)


def open_secured(settings: Settings) -> Warehouse:
    """The workspace's warehouse on a secured read-only connection (see :meth:`Warehouse.secured`)."""
    return Warehouse.secured(settings.warehouse_path(), settings.warehouse_memory_limit,
                             settings.warehouse_lock_timeout_s)


# Past this much free space, and more free than used, a load compacts the file after itself.
COMPACT_MIN_FREE = 64 << 20


def worth_compacting(size: dict[str, int]) -> bool:
    """Whether a warehouse (``Warehouse.size()``) holds enough free space to be worth a compaction.

    Interrupted loads leave their stage's space free inside the file: once it passes
    64 MiB and the data used, the next successful ingest compacts (copies the data once).
    """
    return size["free"] > max(COMPACT_MIN_FREE, size["used"])


def compact(path: Path) -> tuple[int, int]:
    """Rewrite a warehouse file without its free blocks; returns (bytes before, bytes after).

    DuckDB reuses the blocks a dropped table (an interrupted load's stage) frees, but
    never gives them back to the file system; copying the database into a new file does.
    The copy is made beside the file and renamed over it, so a crash leaves the old file.
    """
    before = path.stat().st_size
    tmp = path.with_name(path.name + ".compact")
    tmp.unlink(missing_ok=True)
    try:
        con = _connect(str(path), False, {}, 0.0, _say_waiting)
        try:
            con.execute("CHECKPOINT")
            con.execute(f"ATTACH {_lit(str(tmp))} AS __compact")
            con.execute(f"COPY FROM DATABASE {quote_ident(con.execute('SELECT current_database()').fetchone()[0])} "  # type: ignore[index]
                        "TO __compact")
            con.execute("DETACH __compact")
        finally:
            con.close()
        os.replace(tmp, path)
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot compact warehouse {path}: {exc}") from exc
    Path(str(path) + ".wal").unlink(missing_ok=True)
    return before, path.stat().st_size


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
