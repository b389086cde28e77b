"""Tables of the operational store (SQLAlchemy Core; the same DDL on SQLite and PostgreSQL).

Times are stored as UTC: ``timestamptz`` on PostgreSQL, ISO text on SQLite (always written in
UTC by :mod:`closeloop.ops.queue`, so text order is time order).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

schema_version = Table(
    "ops_schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

# One row per (campaign, lead, attempt number): the work an agent or dialer takes.
queue_items = Table(
    "lead_queue", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign", String(100), nullable=False),
    Column("center_id", String(100)),
    Column("lead_id", String(100), nullable=False),
    Column("attempt_no", Integer, nullable=False, default=1),
    Column("kind", String(20), nullable=False, default="new"),  # new | followup
    Column("score", Float, nullable=False, default=0.0),
    Column("tier", String(1), nullable=False, default="D"),
    Column("reasons", Text),
    Column("priority", Float, nullable=False, default=0.0),
    Column("phone", String(32)),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("lead_created_at", DateTime(timezone=True), nullable=False),
    Column("enqueued_at", DateTime(timezone=True), nullable=False),
    Column("available_at", DateTime(timezone=True), nullable=False),
    Column("status", String(12), nullable=False, default="ready"),  # ready | claimed | done | cancelled
    Column("escalated", Boolean, nullable=False, default=False),
    Column("escalated_at", DateTime(timezone=True)),
    Column("claimed_by", String(100)),
    Column("claimed_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(20)),
    UniqueConstraint("campaign", "lead_id", "attempt_no", name="uq_lead_queue_attempt"),
)
Index("ix_lead_queue_claim", queue_items.c.campaign, queue_items.c.status, queue_items.c.escalated.desc(),
      queue_items.c.priority.desc(), queue_items.c.lead_created_at, queue_items.c.id)
Index("ix_lead_queue_lead", queue_items.c.lead_id)

# Every call attempt on a queued lead: speed-to-lead and conversion by attempt come from here.
attempts = Table(
    "lead_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, nullable=False),
    Column("campaign", String(100), nullable=False),
    Column("lead_id", String(100), nullable=False),
    Column("agent_id", String(100)),
    Column("attempt_no", Integer, nullable=False),
    Column("tier", String(1)),
    Column("lead_created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("interested", Boolean, nullable=False, default=False),
    Column("call_id", String(100)),
)
Index("ix_lead_attempts_lead", attempts.c.campaign, attempts.c.lead_id)
Index("ix_lead_attempts_call", attempts.c.call_id)

# Follow-up tasks: what the loop decided after each attempt.
followups = Table(
    "lead_followups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign", String(100), nullable=False),
    Column("lead_id", String(100), nullable=False),
    Column("from_attempt", Integer, nullable=False),
    Column("attempt_no", Integer),
    Column("reason", String(40), nullable=False),
    Column("action", String(10), nullable=False),  # schedule | close | stop
    Column("due_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("item_id", Integer),
)
Index("ix_lead_followups_lead", followups.c.campaign, followups.c.lead_id)

dnc = Table(
    "do_not_call", metadata,
    Column("phone", String(32), primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(200)),
)
