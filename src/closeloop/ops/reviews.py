"""QA reviews of calls in the operational store: a verdict per playbook script step and a comment.

Why in the operational store: reviews are written while people work (the web app's call
page), are few, and must be visible at once to the vendor whose call it is; the warehouse is
for loaded data. Reviews are only added, never edited: a second opinion is a second row.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from closeloop.errors import InputError, StorageError
from closeloop.ops import schema
from closeloop.ops.store import OpsStore, utc

VERDICTS = ("met", "missed", "n/a")
MAX_COMMENT = 4000


def add_review(store: OpsStore, call_id: str, center_id: str | None, reviewer: str, steps: dict[str, str],
               comment: str = "", known_steps: tuple[str, ...] = ()) -> int:
    """Store one review; InputError for an unknown step or verdict, or an over-long comment. Returns its id."""
    bad = {k: v for k, v in steps.items() if v not in VERDICTS or (known_steps and k not in known_steps)}
    if bad:
        raise InputError(f"review: unknown step or verdict {sorted(bad.items())}; verdicts: {', '.join(VERDICTS)}")
    if len(comment) > MAX_COMMENT:
        raise InputError(f"review comment: at most {MAX_COMMENT} characters")
    with store.engine.begin() as conn:
        got = conn.execute(insert(schema.web_qa_reviews).values(
            call_id=call_id, center_id=center_id, reviewer=reviewer, steps=json.dumps(steps), comment=comment,
            created_at=datetime.now(UTC)))
    key = got.inserted_primary_key
    if key is None:  # an INSERT of one row always has its key; say so rather than index None
        raise StorageError("the QA review was not stored (no key returned)")
    return int(key[0])


def reviews(store: OpsStore, call_id: str) -> list[dict[str, Any]]:
    """A call's reviews, oldest first, steps decoded."""
    r = schema.web_qa_reviews
    with store.engine.connect() as conn:
        rows = conn.execute(select(r).where(r.c.call_id == call_id).order_by(r.c.id)).mappings().all()
    return [dict(row) | {"steps": json.loads(row["steps"]), "created_at": utc(row["created_at"])} for row in rows]
