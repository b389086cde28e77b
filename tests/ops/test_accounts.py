"""Web accounts in the operational store, on SQLite and PostgreSQL: hashes, sessions, tokens, audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from closeloop.errors import InputError
from closeloop.ops import schema
from closeloop.ops.accounts import Accounts, check_scope
from closeloop.ops.store import OpsStore

SECRET = "a long enough secret"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def acc(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Accounts]:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with OpsStore(url) as store:
        yield Accounts(store)


def test_passwords_are_argon2_and_secrets_are_stored_hashed(acc: Accounts) -> None:
    acc.add_user("ana", "analyst", SECRET)
    sid, csrf = acc.open_session(acc.user("ana"))
    token = acc.create_token("feed", "north")
    with acc.engine.connect() as conn:
        stored = conn.execute(select(schema.web_users.c.password_hash)).scalar_one()
        ids = list(conn.scalars(select(schema.web_sessions.c.id_hash)))
        hashes = list(conn.scalars(select(schema.web_tokens.c.token_hash)))
    assert stored.startswith("$argon2id$") and SECRET not in stored
    assert sid not in ids and len(ids[0]) == 64
    assert token not in hashes and acc.token(token)["vendor"] == "north"
    assert acc.session(sid, timedelta(minutes=30)).csrf == csrf


def test_sessions_end_on_revoke_idle_and_disable(acc: Accounts) -> None:
    acc.add_user("bo", "agent", SECRET, agent_id="A1")
    user = acc.user("bo")
    now = datetime.now(UTC)
    a, _ = acc.open_session(user, now)
    b, _ = acc.open_session(user, now)
    idle = timedelta(minutes=30)
    assert acc.session(a, idle, now + timedelta(minutes=29)) is not None
    assert acc.session(a, idle, now + timedelta(minutes=29) + idle + timedelta(seconds=1)) is None
    assert acc.session(b, idle) is not None
    acc.set_disabled("bo")
    assert acc.session(b, idle) is None
    assert acc.authenticate("bo", SECRET) is None
    actions = [r["action"] for r in acc.audit_rows(user="cli")]
    assert actions[:2] == ["user_disable", "user_add"]  # newest first


def test_tokens_revoke_once(acc: Accounts) -> None:
    token = acc.create_token("feed", None)
    tid = acc.tokens()[0]["id"]
    acc.revoke_token(tid)
    assert acc.token(token) is None
    with pytest.raises(InputError, match="no live token"):
        acc.revoke_token(tid)


@settings(max_examples=60, deadline=None)
@given(role=st.sampled_from(["admin", "analyst", "vendor_manager", "supervisor", "agent", "root", ""]),
       vendor=st.sampled_from([None, "", "north"]), center=st.sampled_from([None, "S1"]),
       agent=st.sampled_from([None, "A1"]))
def test_a_role_gets_exactly_the_scope_fields_it_needs(role: str, vendor: str | None, center: str | None,
                                                        agent: str | None) -> None:
    needs = {"vendor_manager": vendor, "supervisor": center, "agent": agent}
    ok = (role in ("admin", "analyst") and not (vendor or center or agent)) or (role in needs and bool(needs[role]))
    if ok:
        check_scope(role, vendor, center, agent)
    else:
        with pytest.raises(InputError):
            check_scope(role, vendor, center, agent)
