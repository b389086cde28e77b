"""The web app's security model: anonymous refused everywhere, CSRF, sessions, lockout, headers, escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeloop.ops.accounts import LOCKOUT_AFTER, Accounts
from closeloop.ops.store import OpsStore
from tests.web.conftest import BASE, PASSWORD, XSS, Env, client, login

#: Routes anyone may open.
PUBLIC = {"/login"}


def _routes(env: Env) -> list[tuple[str, frozenset[str]]]:
    from closeloop.web.app import route_table

    return route_table(env.app)


def _sample(path: str, env: Env) -> str:
    return path.replace("{call_id}", env.recorded["north"])


def test_every_route_but_login_refuses_anonymous(env: Env) -> None:
    routes = _routes(env)
    assert len(routes) >= 18  # pages, API, docs, login/logout: a floor so a lost router is noticed
    anon = client(env)
    for path, methods in routes:
        if path in PUBLIC:
            continue
        for method in methods:
            got = anon.request(method, _sample(path, env), headers={"Origin": BASE})
            if path.startswith("/api/"):
                assert got.status_code == 401, (method, path, got.status_code)
            else:
                assert got.status_code == 303, (method, path, got.status_code)
                assert got.headers["location"].startswith("/login?next="), path
    assert anon.get("/static/app.css").status_code == 200
    assert anon.get("/login").status_code == 200


def test_bearer_junk_is_anonymous(env: Env) -> None:
    got = client(env).get("/api/v1/me", headers={"Authorization": "Bearer clt_not-a-token"})
    assert got.status_code == 401


def test_post_without_csrf_token_or_origin_is_refused(env: Env) -> None:
    c = login(env, "north_mgr")
    token = c.cookies.get("closeloop_csrf")
    assert c.post("/logout", headers={"Origin": BASE}).status_code == 403  # no token
    assert c.post("/logout", data={"csrf_token": token}).status_code == 403  # no Origin
    assert c.post("/logout", data={"csrf_token": token}, headers={"Origin": "http://evil.example"}).status_code == 403
    assert c.post("/logout", data={"csrf_token": "x" * 43}, headers={"Origin": BASE}).status_code == 403
    assert c.get("/api/v1/me").status_code == 200  # still signed in: none of those did anything
    got = c.post("/logout", data={"csrf_token": token}, headers={"Origin": BASE})
    assert got.status_code == 303
    assert c.get("/api/v1/me").status_code == 401


def test_login_form_needs_csrf(env: Env) -> None:
    c = client(env)
    c.get("/login")
    got = c.post("/login", data={"username": "admin", "password": PASSWORD}, headers={"Origin": BASE})
    assert got.status_code == 403
    assert "closeloop_session" not in c.cookies


def test_session_rotates_at_login_and_revoked_session_is_logged_out(env: Env) -> None:
    c = login(env, "south_mgr")
    first = c.cookies.get("closeloop_session")
    stolen = client(env)
    stolen.cookies.set("closeloop_session", first)
    assert stolen.get("/api/v1/me").status_code == 200
    # signing in again (same browser) gives a new id and ends the old one
    token = c.cookies.get("closeloop_csrf")
    c.post("/login", data={"username": "south_mgr", "password": PASSWORD, "csrf_token": token, "next": "/"},
           headers={"Origin": BASE})
    assert c.cookies.get("closeloop_session") != first
    assert stolen.get("/api/v1/me").status_code == 401
    assert stolen.get("/scorecard").status_code == 303
    # revoking every session of the user (what `users disable/reset` do) ends the new one at its next request
    with OpsStore(env.app.state.store.url) as store:
        acc = Accounts(store)
        assert acc.revoke_sessions(acc.user("south_mgr").id) >= 1
    assert c.get("/api/v1/me").status_code == 401


def test_idle_session_expires(env: Env) -> None:
    acc: Accounts = env.app.state.accounts
    user = acc.user("analyst")
    sid, _ = acc.open_session(user, now=datetime.now(UTC) - timedelta(hours=2))
    c = client(env)
    c.cookies.set("closeloop_session", sid)
    assert c.get("/api/v1/me").status_code == 401


def test_lockout_after_failed_logins(env: Env) -> None:
    acc: Accounts = env.app.state.accounts
    acc.add_user("victim", "analyst", PASSWORD)
    for _ in range(LOCKOUT_AFTER):
        assert acc.authenticate("victim", "wrong password!", "1.2.3.4") is None
    assert acc.authenticate("victim", PASSWORD, "1.2.3.4") is None  # locked: even the right password fails
    later = datetime.now(UTC) + timedelta(hours=1)
    assert acc.authenticate("victim", PASSWORD, "1.2.3.4", now=later) is not None
    actions = [r["action"] for r in acc.audit_rows(user="victim")]
    assert actions.count("login_failed") == LOCKOUT_AFTER + 1 and "login" in actions


def test_login_throttle_per_address(env: Env) -> None:
    from closeloop.web import create_app

    app = create_app(env.root, login_limit=3)
    from fastapi.testclient import TestClient

    c = TestClient(app, base_url=BASE, follow_redirects=False)
    codes = []
    for _ in range(5):
        c.get("/login")
        token = c.cookies.get("closeloop_csrf")
        codes.append(c.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token},
                            headers={"Origin": BASE}).status_code)
    assert codes[:3] == [303] * 3 and codes[3:] == [429, 429]


def test_security_headers_and_no_open_redirect(env: Env) -> None:
    c = login(env, "analyst")
    got = c.get("/")
    csp = got.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["x-frame-options"] == "DENY"
    assert got.headers["cache-control"] == "no-store"
    fresh = client(env)
    fresh.get("/login")
    token = fresh.cookies.get("closeloop_csrf")
    back = fresh.post("/login", data={"username": "analyst", "password": PASSWORD, "csrf_token": token,
                                      "next": "//evil.example/x"}, headers={"Origin": BASE})
    assert back.headers["location"] == "/"
    session_cookie = [h for h in back.headers.multi_items() if h[0] == "set-cookie" and "closeloop_session" in h[1]]
    assert "httponly" in session_cookie[0][1].lower() and "samesite=strict" in session_cookie[0][1].lower()


def test_transcript_text_is_escaped(env: Env) -> None:
    c = login(env, "north_mgr")
    page = c.get(f"/calls/{env.recorded['north']}").text
    assert XSS not in page and "&lt;script&gt;" in page


def test_recording_ranges_and_traversal(env: Env) -> None:
    c = login(env, "north_mgr")
    call = env.recorded["north"]
    part = c.get(f"/calls/{call}/recording", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    whole = (env.root / "recordings" / f"{call}.wav").read_bytes()
    assert part.content == whole[100:200]
    admin = login(env, "admin")
    assert admin.get("/calls/C0040/recording").status_code == 404  # ../closeloop.toml is never served
    assert admin.get("/calls/C0040").status_code == 200


def test_audit_records_views_and_exports(env: Env) -> None:
    c = login(env, "south_mgr")
    call = env.recorded["south"]
    c.get(f"/calls/{call}")
    c.get(f"/calls/{call}/recording")
    c.get("/scorecard?by=center_id&format=csv")
    rows = env.app.state.accounts.audit_rows(user="south_mgr")
    acts = {(r["action"], r["target"].split("?")[0]) for r in rows}
    assert {("call_view", call), ("recording_view", call), ("export", "/scorecard"), ("login", "south_mgr")} <= acts
    admin = login(env, "admin")
    assert "recording_view" in admin.get("/admin/audit").text
    assert c.get("/admin/audit").status_code == 404


def test_warehouse_is_opened_without_external_access(env: Env) -> None:
    ws = env.app.state.ws
    with ws.warehouse() as wh, pytest.raises(duckdb.Error, match=r"(?i)external|disabled|permission"):
        wh.con.execute(f"SELECT * FROM read_csv('{env.root / 'src' / 'calls.csv'}')").fetchall()


def test_signed_in_browser_skips_the_login_form_and_keeps_its_csrf_token(env: Env) -> None:
    c = login(env, "analyst")
    token = c.cookies.get("closeloop_csrf")
    got = c.get("/login?next=/sla")
    assert got.status_code == 303 and got.headers["location"] == "/sla"
    assert c.cookies.get("closeloop_csrf") == token  # a second tab's login page does not break the first


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(uri=st.one_of(st.text(max_size=40), st.sampled_from(
    ["../closeloop.toml", "C0002.wav/../../closeloop.toml", "/etc/passwd", "recordings/../warehouse.duckdb",
     "file:///etc/passwd", "http://example.com/a.wav", "..", ".", "C0002.wav", "recordings/C0002.wav"])))
def test_a_recording_uri_never_leaves_the_recordings_folder(env: Env, uri: str) -> None:
    from closeloop.web.scope import Scope, ScopedData

    got = ScopedData(env.app.state.ws, Scope("admin")).recording_path(uri)
    base = (env.root / "recordings").resolve()
    assert got is None or (got.is_relative_to(base) and got.is_file())
    if uri in ("C0002.wav", "recordings/C0002.wav"):
        assert got == base / "C0002.wav"
