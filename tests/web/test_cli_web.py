"""``closeloop users|tokens|audit`` against a real operational store, and what the app does with them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from closeloop.cli.app import app
from closeloop.cli.common import json_text
from closeloop.errors import InputError
from tests.web.conftest import BASE, PASSWORD, Env, client, login

RUN = CliRunner()


def cli(env: Env, *args: str, input: str | None = None) -> str:
    got = RUN.invoke(app, [*args, "-w", str(env.root)], input=input)
    assert got.exit_code == 0, got.output
    return got.output


def test_users_add_list_disable_reset(env: Env) -> None:
    cli(env, "users", "add", "dana", "--role", "vendor_manager", "--vendor", "north", "--password-stdin",
        input="a long enough secret\n")
    listed = json.loads(cli(env, "users", "list", "--format", "json"))
    assert {"name": "dana", "role": "vendor_manager", "vendor": "north"}.items() <= \
        next(u for u in listed if u["name"] == "dana").items()
    c = client(env)
    c.get("/login")
    c.post("/login", data={"username": "dana", "password": "a long enough secret",
                           "csrf_token": c.cookies.get("closeloop_csrf")}, headers={"Origin": BASE})
    assert c.get("/api/v1/me").json()["centers"] == ["N1"]
    cli(env, "users", "disable", "dana")
    assert c.get("/api/v1/me").status_code == 401  # disabling ends the live session at its next request
    cli(env, "users", "enable", "dana")
    cli(env, "users", "reset", "dana", "--password-stdin", input="another long secret\n")
    assert env.app.state.accounts.authenticate("dana", "another long secret") is not None


def test_users_add_refuses_bad_scope_and_short_password(env: Env) -> None:
    def refused(*args: str, input: str | None = None) -> str:
        got = RUN.invoke(app, [*args, "-w", str(env.root)], input=input)
        assert isinstance(got.exception, InputError), got.output  # main() turns it into exit code 2
        return str(got.exception)

    assert "needs --vendor" in refused("users", "add", "x", "--role", "vendor_manager")
    assert "every center" in refused("users", "add", "x", "--role", "analyst", "--vendor", "north",
                                     "--password-stdin", input="a long enough secret\n")
    assert "too short" in refused("users", "add", "x", "--role", "analyst", "--password-stdin", input="short\n")
    assert "x" not in {u.name for u in env.app.state.accounts.users()}


def test_tokens_scope_the_api_and_revoke(env: Env) -> None:
    token = cli(env, "tokens", "create", "--vendor", "south", "--name", "south-feed").strip().splitlines()[0]
    assert token.startswith("clt_")
    listed = json.loads(cli(env, "tokens", "list", "--format", "json"))
    row = next(t for t in listed if t["name"] == "south-feed")
    assert token not in json_text(listed) and row["vendor"] == "south"
    api = client(env)
    auth = {"Authorization": f"Bearer {token}"}
    calls = api.get("/api/v1/calls?day=2026-03-03", headers=auth).json()["rows"]
    assert calls and {r["center_id"] for r in calls} <= {"S1", "S2"}
    assert api.get("/api/v1/scorecard?by=queue&center_id=N1", headers=auth).status_code == 404
    csv = api.get("/api/v1/scorecard?by=center_id&format=csv", headers=auth)
    assert csv.headers["content-type"].startswith("text/csv") and "N1" not in csv.text
    cli(env, "tokens", "revoke", str(row["id"]))
    assert api.get("/api/v1/me", headers=auth).status_code == 401


def test_audit_command_lists_logins_and_changes(env: Env) -> None:
    login(env, "analyst")
    c = client(env)
    c.get("/login")
    c.post("/login", data={"username": "analyst", "password": "wrong-password",
                           "csrf_token": c.cookies.get("closeloop_csrf")}, headers={"Origin": BASE})
    rows = json.loads(cli(env, "audit", "--user", "analyst", "--format", "json"))
    actions = [r["action"] for r in rows]
    assert "login" in actions and "login_failed" in actions
    since = json.loads(cli(env, "audit", "--since", "2999-01-01", "--format", "json"))
    assert since == []
    assert PASSWORD not in json_text(json.loads(cli(env, "audit", "--format", "json")))


def test_api_scorecard_equals_the_cli_json_for_the_same_scope(env: Env) -> None:
    from closeloop.web.scope import HEADLINE

    api = login(env, "south_mgr").get("/api/v1/scorecard?by=queue&start=2026-03-02&end=2026-03-08").json()["rows"]
    cli_rows = json.loads(cli(env, "scorecard", "--by", "queue", "--where", "center_id=S1|S2", "--from", "2026-03-02",
                              "--to", "2026-03-08", "--metrics", ",".join(HEADLINE), "--format", "json"))
    assert api == cli_rows and {r["queue"] for r in api} == {"sales_s1", "sales_s2"}
