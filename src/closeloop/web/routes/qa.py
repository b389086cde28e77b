"""QA reviews on the call page: a reviewer marks each playbook script step and comments.

Reviews are stored in the operational store (:mod:`closeloop.ops.reviews`), audited, and
shown on the call page to everyone who can see the call (so a vendor sees the reviews of its
own calls). Writing is CSRF-checked; a call outside the reviewer's scope answers 404 and
nothing is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from closeloop.ops.reviews import add_review
from closeloop.web.auth import check_csrf, client_ip, data, require
from closeloop.web.scope import ScopedData

router = APIRouter(include_in_schema=False)
#: Roles that may score calls (the client's people and a center's supervisor); everyone else reads.
REVIEWERS = frozenset({"admin", "analyst", "supervisor"})


def script_steps(request: Request) -> list[tuple[str, str]]:
    """(name, label) of the playbook's script steps: WORKSPACE/playbook.toml, else the shipped one."""
    from closeloop.workspace.conversations import load_playbook

    path = request.app.state.ws.root / "playbook.toml"
    stamp = path.stat().st_mtime_ns if path.is_file() else None
    cached = getattr(request.app.state, "steps", None)
    if cached is None or cached[0] != stamp:  # parsed once, again only when the file changes
        book = load_playbook(path if stamp is not None else None)
        cached = (stamp, [(s.name, s.label) for s in book.steps])
        request.app.state.steps = cached
    return cached[1]


@router.post("/calls/{call_id}/qa")
async def review(request: Request, call_id: str, d: Annotated[ScopedData, Depends(data)]) -> Response:
    """Store a review of a call in scope (CSRF-checked, audited)."""
    who = require(request)
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), who.csrf)
    got = d.call(call_id)  # OutOfScope -> 404 before anything is written
    if who.role not in REVIEWERS:
        raise HTTPException(status_code=403, detail="your role reads reviews but does not write them")
    names = [n for n, _ in script_steps(request)]
    steps = {n: str(form.get(f"step_{n}", "n/a")) for n in names}
    comment = str(form.get("comment", "")).strip()
    store = request.app.state.store
    rid = add_review(store, call_id, got["call"]["center_id"], who.name, steps, comment, tuple(names))
    request.app.state.accounts.audit(who.actor, "qa_review", call_id, client_ip(request),
                                     {"review": rid, "missed": [k for k, v in steps.items() if v == "missed"]})
    return RedirectResponse(f"/calls/{call_id}#qa", status_code=303)

