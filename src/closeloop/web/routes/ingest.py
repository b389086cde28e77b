"""``POST /api/v1/ingest/{calls|leads|transcripts}``: a vendor's system sends a file, once.

The body is the file (canonical CSV for calls and leads, JSON Lines for transcripts). An
``Idempotency-Key`` header is required: a repeated key from the same caller answers the
stored result and loads nothing (a retry after a timeout is safe). Rows outside the caller's
scope are not loaded and come back with a reason (a call of another vendor's center, a
transcript of a call the caller cannot see); leads carry no center, so only the client loads
them. What is kept goes through the ordinary ingest (same validation and rejects) from a file
saved under ``WORKSPACE/uploads/`` (what was loaded stays inspectable). Session callers need
the CSRF token like any state change; bearer tokens carry no cookie and need none.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from closeloop.cli.common import json_text
from closeloop.ops import schema
from closeloop.web.auth import check_csrf, client_ip, require
from closeloop.web.scope import WRITE_LOCK, ScopedData
from closeloop.web.views import ANSWERS

router = APIRouter(prefix="/api", responses=ANSWERS)
RECORDS = ("calls", "leads", "transcripts")
WRITERS = frozenset({"admin", "analyst", "vendor_manager"})
MAX_BYTES = 50 * 1024 * 1024
_KEY = re.compile(r"^[\w.:-]{1,200}$")


def split_rows(d: ScopedData, record: str, body: bytes) -> tuple[str, list[dict[str, Any]], int]:
    """(text of the rows in scope, the rows refused with their reason, rows read)."""
    text = body.decode("utf-8-sig")
    refused: list[dict[str, Any]] = []
    if record == "transcripts":
        lines = [ln for ln in text.splitlines() if ln.strip()]
        ids = []
        for ln in lines:
            try:
                ids.append(str(json.loads(ln).get("call_id", "")))
            except (ValueError, AttributeError):
                ids.append("")  # the ordinary ingest rejects it with the parse error
        visible = d.visible_calls(ids)
        kept = []
        for n, (ln, cid) in enumerate(zip(lines, ids, strict=True), start=1):
            if cid and cid not in visible:
                refused.append({"line": n, "call_id": cid, "reason": "no call with this id in your scope"})
            else:
                kept.append(ln)
        return "".join(k + "\n" for k in kept), refused, len(lines)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return "", refused, 0
    header, body_rows = rows[0], rows[1:]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    centers = d.scope.centers
    col = header.index("center_id") if "center_id" in header else None
    for n, row in enumerate(body_rows, start=2):
        if centers is not None and col is not None and col < len(row) and row[col] not in centers:
            refused.append({"line": n, "center_id": row[col], "reason": "center_id is not one of your centers"})
        else:
            writer.writerow(row)
    return out.getvalue(), refused, len(body_rows)


@router.post("/v1/ingest/{record}", tags=["ingest"])
async def ingest(request: Request, record: str) -> Response:
    """Load a file of calls, leads or transcripts sent as the body; needs an Idempotency-Key header."""
    who = require(request)
    if not who.via_token:
        check_csrf(request, None, who.csrf)
    if record not in RECORDS:
        raise HTTPException(status_code=404, detail="not found")
    if who.role not in WRITERS or (record == "leads" and not who.scope.is_client):
        raise HTTPException(status_code=403, detail=f"your account cannot load {record}")
    key = request.headers.get("idempotency-key", "")
    if not _KEY.match(key):
        raise HTTPException(status_code=400, detail="an Idempotency-Key header (1-200 letters, digits, . : _ -)")
    state = request.app.state
    done = _stored(state.store, who.actor, key)
    if done is not None:
        return Response(done, media_type="application/json", headers={"Idempotent-Replayed": "true"})
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise HTTPException(status_code=413, detail=f"at most {MAX_BYTES // 2**20} MiB per upload")
    from starlette.concurrency import run_in_threadpool

    answer = await run_in_threadpool(_load, request, who, record, key, body)
    return Response(answer, media_type="application/json")


def _load(request: Request, who: Any, record: str, key: str, body: bytes) -> str:
    state = request.app.state
    d = ScopedData(state.ws, who.scope)
    kept, refused, read = split_rows(d, record, body)
    result: dict[str, Any] = {"record": record, "read": read, "refused": refused, "loaded": 0, "rejected": 0}
    with WRITE_LOCK:
        done = _stored(state.store, who.actor, key)
        if done is not None:
            return done
        if kept.strip() and (record == "transcripts" or kept.count("\n") > 1):
            folder = state.ws.root / "uploads"
            folder.mkdir(exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            path = folder / f"{stamp}-{re.sub(r'[^A-Za-z0-9_.-]', '_', who.actor)}-{record}." \
                            f"{'jsonl' if record == 'transcripts' else 'csv'}"
            path.write_text(kept, encoding="utf-8")
            got = state.ingest_ws.ingest(record, path).rows()[0]
            result |= {"loaded": got["loaded"], "rejected": got["rejected"], "replaced": got["replaced"],
                       "top_reasons": got["top_reasons"], "file": path.name}
        answer = json_text(result)
        try:
            with state.store.engine.begin() as conn:
                conn.execute(insert(schema.web_uploads).values(actor=who.actor, idem_key=key, record=record,
                                                               answer=answer, created_at=datetime.now(UTC)))
        except IntegrityError:
            return _stored(state.store, who.actor, key) or answer
    state.accounts.audit(who.actor, "ingest", record, client_ip(request),
                         {"key": key, "read": read, "loaded": result["loaded"], "refused": len(refused)})
    return answer


def _stored(store: Any, actor: str, key: str) -> str | None:
    u = schema.web_uploads
    with store.engine.connect() as conn:
        return conn.scalar(select(u.c.answer).where(u.c.actor == actor, u.c.idem_key == key))
