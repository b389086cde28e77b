"""The operational store: lead work queues, attempts, follow-ups, do-not-call list.

SQLite by default (a file in the workspace), PostgreSQL for a real deployment, through one
SQLAlchemy data layer; migrations are applied when the store is opened.
"""

from closeloop.ops.queue import DEFAULT_SLA, AttemptResult, LeadQueue
from closeloop.ops.store import OpsStore, make_engine, utc

__all__ = ["DEFAULT_SLA", "AttemptResult", "LeadQueue", "OpsStore", "make_engine", "utc"]
