"""Opening the operational store: one SQLAlchemy engine, SQLite by default, PostgreSQL in production.

SQLite is set up for a work queue shared by several processes: WAL journal (readers never block
the writer), a busy timeout (writers wait instead of failing), and every transaction started with
``BEGIN IMMEDIATE`` so that a claim takes the write lock up front rather than failing half-way
when two claimers upgrade their read locks at once. PostgreSQL needs none of this: claims use
``FOR UPDATE SKIP LOCKED`` (see :mod:`closeloop.ops.queue`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from closeloop.errors import ConfigError, StorageError
from closeloop.ops import schema
from closeloop.ops.migrations import migrate
from closeloop.urls import mask_urls


def utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime (naive values, as SQLite returns them, are UTC by construction)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """An engine for ``url`` with the settings a concurrent work queue needs.

    Every message names the URL with its password masked (:func:`closeloop.urls.mask_urls`).
    """
    shown = mask_urls(repr(url))
    try:
        parsed = make_url(url)
        _ = parsed.port  # a port that is no number fails here, not deep in the driver
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"ops.url {shown} is not a database URL (sqlite:///FILE, postgresql+psycopg://"
                          f"USER:PASSWORD@HOST:PORT/DB): {mask_urls(str(exc))}") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise ConfigError("ops.url: an in-memory SQLite store cannot be shared; give a file, sqlite:///ops.sqlite")
            engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                                   connect_args={"timeout": 60, "check_same_thread": False})
            _sqlite_setup(engine)
            return engine
        if parsed.get_backend_name() == "postgresql":
            return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"ops.url {shown}: database driver not installed ({exc}); "
                          "use postgresql+psycopg:// (psycopg 3 is installed with closeloop)") from exc
    raise ConfigError(f"ops.url {shown}: only sqlite:/// and postgresql+psycopg:// stores are supported")


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# psycopg prepares a statement after this many runs unless told (``prepare=True``): never, here.
_ONLY_WHEN_ASKED = 2**31 - 1


def _generic_plans(dbapi_conn: Any, _record: Any) -> None:
    """Prepared claims run their generic plan from the first execution (no five custom plans first)."""
    dbapi_conn.execute("SET plan_cache_mode = force_generic_plan")
    dbapi_conn.commit()


class OpsStore:
    """The operational store of a workspace: queue, attempts, follow-ups, do-not-call list."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        # Single statements that are atomic on their own (a PostgreSQL claim) skip BEGIN/COMMIT
        # round trips; on SQLite every write keeps BEGIN IMMEDIATE.
        # A pool of its own, born in autocommit, so a claim costs one round trip (switching a
        # pooled connection's isolation level and resetting it on return costs several). The
        # claim prepares itself on each connection through libpq, with a literal LIMIT so that
        # its generic plan is the good one (see closeloop.ops.queue._pg_claim_sql), and the
        # session always uses that plan instead of re-planning the first five runs. psycopg
        # prepares nothing here implicitly; the threshold is a number, not None, because None
        # also turns off an explicit ``prepare=True`` (that is how claims once went unprepared,
        # parsed and planned on every call).
        self.statement_engine = self.engine
        if self.engine.dialect.name == "postgresql":
            self.statement_engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800,
                                                  isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                                                  connect_args={"prepare_threshold": _ONLY_WHEN_ASKED})
            event.listen(self.statement_engine, "connect", _generic_plans)
        try:
            self.version = migrate(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StorageError(f"cannot open the operational store {make_url(url).render_as_string()}: "
                               f"{mask_urls(str(exc))}") from exc

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def add_dnc(self, phones: list[str], reason: str = "", at: datetime | None = None) -> int:
        """Put numbers (E.164) on the do-not-call list; returns how many were new."""
        at = utc(at) or datetime.now(UTC)
        with self.engine.begin() as conn:
            have = set(conn.scalars(select(schema.dnc.c.phone).where(schema.dnc.c.phone.in_(phones))))
            new = sorted(set(phones) - have)
            if new:
                conn.execute(schema.dnc.insert(), [{"phone": p, "added_at": at, "reason": reason} for p in new])
        return len(new)

    def dnc_numbers(self) -> set[str]:
        """Every number on the do-not-call list."""
        with self.engine.connect() as conn:
            return set(conn.scalars(select(schema.dnc.c.phone)))

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()
        self.statement_engine.dispose()

    def __enter__(self) -> OpsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
