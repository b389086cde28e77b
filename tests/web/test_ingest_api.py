"""POST /api/v1/ingest: rows outside the caller's scope refused with a reason, Idempotency-Key honoured."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import closeloop
from closeloop.ops.accounts import Accounts
from closeloop.ops.store import OpsStore
from closeloop.web import create_app
from tests.web.conftest import BASE, PASSWORD, Env, add_users

HEADER = ("call_id,center_id,queue,direction,call_type,offered_at,answered_at,ended_at,agent_id,lead_id,hold_s,"
          "wrap_s,outcome,order_value,csat\n")


def row(call_id: str, center: str, agent: str) -> str:
    return (f"{call_id},{center},sales_{center.lower()},inbound,sales,2026-03-05T10:00:00Z,2026-03-05T10:00:10Z,"
            f"2026-03-05T10:05:00Z,{agent},,0,10,sale,99,\n")


@pytest.fixture(scope="module")
def upload_env(env: Env, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TestClient, str]:
    """A copy of the shared workspace (uploads change data), its app and a south token."""
    root = tmp_path_factory.mktemp("upload") / "ws"
    shutil.copytree(env.root, root, ignore=shutil.ignore_patterns("ops.sqlite*"))
    add_users(root)
    with OpsStore(closeloop.open(root).settings.resolved_ops_url()) as store:
        token = Accounts(store).create_token("south-feed", "south")
    return root, TestClient(create_app(root), base_url=BASE, follow_redirects=False), token


def calls_in(root: Path, *ids: str) -> set[str]:
    got = closeloop.open(root).sql("SELECT call_id FROM calls").to_arrow().column(0).to_pylist()
    return set(got) & set(ids)


def test_foreign_rows_are_refused_and_a_repeated_key_loads_nothing(upload_env: tuple) -> None:
    root, c, token = upload_env
    body = HEADER + row("UP-S1", "S1", "SA1") + row("UP-N1", "N1", "NA1")
    auth = {"Authorization": f"Bearer {token}", "Idempotency-Key": "batch-1"}
    got = c.post("/api/v1/ingest/calls", content=body, headers=auth)
    assert got.status_code == 200, got.text
    answer = got.json()
    assert answer["loaded"] == 1 and answer["read"] == 2
    assert answer["refused"] == [{"line": 3, "center_id": "N1", "reason": "center_id is not one of your centers"}]
    assert calls_in(root, "UP-S1", "UP-N1") == {"UP-S1"}
    again = c.post("/api/v1/ingest/calls", content=HEADER + row("UP-S1-B", "S1", "SA1"), headers=auth)
    assert again.headers["idempotent-replayed"] == "true" and again.json() == answer
    assert calls_in(root, "UP-S1-B") == set()  # the key was used: nothing loaded the second time


def test_transcripts_of_foreign_calls_are_refused(upload_env: tuple) -> None:
    _root, c, token = upload_env
    lines = [{"call_id": "C0004", "turns": [{"speaker": "agent", "start": 0, "end": 1, "text": "hi"}]},  # S1
             {"call_id": "C0002", "turns": [{"speaker": "agent", "start": 0, "end": 1, "text": "hi"}]}]  # N1
    got = c.post("/api/v1/ingest/transcripts", content="".join(json.dumps(x) + "\n" for x in lines),
                 headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "t-1"})
    assert got.status_code == 200, got.text
    assert got.json()["loaded"] == 1 and [r["call_id"] for r in got.json()["refused"]] == ["C0002"]


def test_uploads_need_a_key_a_writer_role_and_csrf_for_sessions(upload_env: tuple) -> None:
    root, c, token = upload_env
    auth = {"Authorization": f"Bearer {token}"}
    assert c.post("/api/v1/ingest/calls", content=HEADER, headers=auth).status_code == 400
    assert c.post("/api/v1/ingest/leads", content="x", headers=auth | {"Idempotency-Key": "l"}).status_code == 403
    assert c.post("/api/v1/ingest/agents", content="x", headers=auth | {"Idempotency-Key": "a"}).status_code == 404
    c.get("/login")
    c.post("/login", data={"username": "na1_agent", "password": PASSWORD,
                           "csrf_token": c.cookies.get("closeloop_csrf")}, headers={"Origin": BASE})
    body = HEADER + row("UP-AGENT", "N1", "NA1")
    no_csrf = c.post("/api/v1/ingest/calls", content=body, headers={"Idempotency-Key": "k", "Origin": BASE})
    assert no_csrf.status_code == 403
    agent = c.post("/api/v1/ingest/calls", content=body,
                   headers={"Idempotency-Key": "k", "Origin": BASE, "X-CSRF-Token": c.cookies.get("closeloop_csrf")})
    assert agent.status_code == 403 and calls_in(root, "UP-AGENT") == set()


def test_an_uploaded_transcript_is_scanned_and_its_moments_flagged(upload_env: tuple) -> None:
    root, c, token = upload_env
    line = {"call_id": "C0010", "turns": [  # C0010: center S1 (south)
        {"speaker": "agent", "start": 0, "end": 2, "text": "Thanks for calling, how can I help?"},
        {"speaker": "customer", "start": 2, "end": 5, "text": "Honestly that's too expensive for us"}]}
    got = c.post("/api/v1/ingest/transcripts", content=json.dumps(line) + "\n",
                 headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "t-flags"})
    assert got.json()["loaded"] == 1
    closeloop.open(root).scan()
    page = TestClient(c.app, base_url=BASE, follow_redirects=False)
    page.get("/login")
    page.post("/login", data={"username": "south_mgr", "password": PASSWORD,
                              "csrf_token": page.cookies.get("closeloop_csrf")}, headers={"Origin": BASE})
    html = page.get("/calls/C0010").text
    turn = html.split("too expensive for us", 1)[1].split("</li>", 1)[0]
    assert 'class="flag"' in turn and "price_objection" in turn
