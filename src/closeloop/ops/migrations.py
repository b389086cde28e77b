"""Versioned migrations of the operational store.

A small list of numbered steps and a ``ops_schema_version`` table, rather than Alembic: the
store has a handful of tables, migrations must run unattended when any command opens the store
(no ``alembic.ini`` or ``env.py`` in a user's workspace), and the same steps must run on SQLite
and PostgreSQL. Each step is a function of a connection, applied once, in order, inside one
transaction; on PostgreSQL an advisory lock keeps two processes from migrating at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, select, text

from closeloop.ops import schema

Migration = tuple[int, str, Callable[[Connection], None]]


def _v1(conn: Connection) -> None:
    for table in (schema.queue_items, schema.attempts, schema.followups, schema.dnc):
        table.create(conn, checkfirst=True)


def _v2(conn: Connection) -> None:
    # Claims only ever look at ready items: a partial index holds just those, so it stays small
    # however long the queue's history grows, and claimed rows leave it.
    conn.execute(text(
        "CREATE INDEX IF NOT EXISTS ix_lead_queue_ready ON lead_queue "
        "(campaign, escalated DESC, priority DESC, lead_created_at, id) WHERE status = 'ready'"))


def _v3(conn: Connection) -> None:
    # Every claim releases claims past their lease: a partial index of the claimed items (the
    # few in flight) finds them without reading the queue.
    conn.execute(text(
        "CREATE INDEX IF NOT EXISTS ix_lead_queue_claimed ON lead_queue (claimed_at) WHERE status = 'claimed'"))


def _v4(conn: Connection) -> None:
    for table in (schema.web_users, schema.web_sessions, schema.web_tokens, schema.web_audit, schema.web_qa_reviews,
                  schema.web_uploads):
        table.create(conn, checkfirst=True)


MIGRATIONS: list[Migration] = [
    (1, "lead queue, attempts, follow-ups, do-not-call list", _v1),
    (2, "partial index of ready queue items", _v2),
    (3, "partial index of claimed queue items (lease expiry)", _v3),
    (4, "web app: users, sessions, API tokens, audit log, QA reviews, uploads", _v4),
]
_LOCK_ID = 7_202_611  # arbitrary, constant: the advisory lock closeloop's migrations take


def current_version(conn: Connection) -> int:
    """The highest applied migration (0 for an empty store)."""
    if not inspect(conn).has_table(schema.schema_version.name):
        return 0
    got = conn.execute(select(schema.schema_version.c.version).order_by(schema.schema_version.c.version.desc()))
    row = got.first()
    return int(row[0]) if row else 0


def migrate(engine: Engine) -> int:
    """Apply every pending migration; returns the version the store is at."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
        schema.schema_version.create(conn, checkfirst=True)
        version = current_version(conn)
        for number, description, step in MIGRATIONS:
            if number > version:
                step(conn)
                conn.execute(schema.schema_version.insert().values(
                    version=number, description=description, applied_at=datetime.now(UTC)))
                version = number
    return version
