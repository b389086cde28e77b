"""``closeloop demo --serve``'s accounts: one admin, one manager per vendor, one agent, fresh passwords."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import closeloop
from closeloop.web import create_app
from closeloop.web.demo import demo_accounts
from tests.web.conftest import BASE, Env, client


def test_demo_accounts_sign_in_with_their_scope_and_rotate(env: Env, tmp_path: Path) -> None:
    root = tmp_path / "ws"  # a copy without the accounts of the other tests
    shutil.copytree(env.root, root, ignore=shutil.ignore_patterns("ops.sqlite*"))
    env = replace(env, root=root, app=create_app(root))
    first = demo_accounts(closeloop.open(env.root))
    by_name = {a.name: a for a in first}
    assert set(by_name) == {"admin", "north_manager", "south_manager", "agent_hq_1"}
    for name, centers in (("north_manager", ["N1"]), ("south_manager", ["S1", "S2"]), ("admin", None)):
        c = client(env)
        c.get("/login")
        c.post("/login", data={"username": name, "password": by_name[name].password,
                               "csrf_token": c.cookies.get("closeloop_csrf")}, headers={"Origin": BASE})
        assert c.get("/api/v1/me").json()["centers"] == centers
    again = {a.name: a.password for a in demo_accounts(closeloop.open(env.root))}
    assert all(again[n] != by_name[n].password for n in again)  # a new run: new passwords, old ones dead
    assert env.app.state.accounts.authenticate("south_manager", by_name["south_manager"].password) is None
