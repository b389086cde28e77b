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

# -- the web app's accounts (closeloop.ops.accounts): users, sessions, API tokens, audit log --------

# A person who signs in. Scope comes from here, never from a request: role plus vendor, center, agent.
web_users = Table(
    "web_users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),  # admin | analyst | vendor_manager | supervisor | agent
    Column("vendor", String(100)),
    Column("center_id", String(100)),
    Column("agent_id", String(100)),
    Column("password_hash", String(300), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Server-side sessions: the cookie holds a random id; only its SHA-256 is stored.
web_sessions = Table(
    "web_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)
Index("ix_web_sessions_user", web_sessions.c.user_id)

# API tokens of a vendor (or the client when vendor is null): shown once, stored as SHA-256.
web_tokens = Table(
    "web_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("vendor", String(100)),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# Append-only: rows are inserted, never updated or deleted (closeloop.ops.accounts has no such call).
web_audit = Table(
    "web_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100)),   # user name, token:NAME, cli, or the name tried at a failed login
    Column("action", String(40), nullable=False),
    Column("target", String(300)),
    Column("ip", String(64)),
    Column("detail", Text),
)
Index("ix_web_audit_at", web_audit.c.at)

# QA reviews of calls: a reviewer's verdict per playbook script step and a comment.
web_qa_reviews = Table(
    "web_qa_reviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(100), nullable=False),
    Column("center_id", String(100)),
    Column("reviewer", String(100), nullable=False),
    Column("steps", Text, nullable=False),  # JSON: {step name: met | missed | n/a}
    Column("comment", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_web_qa_reviews_call", web_qa_reviews.c.call_id)

# API uploads by Idempotency-Key: a repeated key returns the stored answer instead of loading twice.
web_uploads = Table(
    "web_uploads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(120), nullable=False),
    Column("idem_key", String(200), nullable=False),
    Column("record", String(20), nullable=False),
    Column("answer", Text, nullable=False),  # the JSON answered the first time
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("actor", "idem_key", name="uq_web_uploads_key"),
)
