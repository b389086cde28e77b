"""QA reviews: stored, audited, visible to the call's vendor; foreign or CSRF-less writes change nothing."""

from __future__ import annotations

from closeloop.ops.reviews import reviews
from tests.web.conftest import BASE, XSS, Env, login


def _post(c: object, call: str, **fields: str) -> object:
    data = {"csrf_token": c.cookies.get("closeloop_csrf"), "comment": XSS, **fields}
    return c.post(f"/calls/{call}/qa", data=data, headers={"Origin": BASE})


def test_review_is_stored_audited_and_shown_to_the_vendor_only(env: Env) -> None:
    call = env.recorded["south"]
    analyst = login(env, "analyst")
    page = analyst.get(f"/calls/{call}").text
    assert 'name="step_' in page  # the playbook's script steps are on the form
    step = page.split('name="step_', 1)[1].split('"', 1)[0]
    got = _post(analyst, call, **{f"step_{step}": "missed"})
    assert got.status_code == 303
    stored = reviews(env.app.state.store, call)
    assert stored[-1]["reviewer"] == "analyst" and stored[-1]["steps"][step] == "missed"
    vendor = login(env, "south_mgr").get(f"/calls/{call}").text
    assert "&lt;script&gt;" in vendor and XSS not in vendor and 'class="review-form"' not in vendor
    assert login(env, "north_mgr").get(f"/calls/{call}").status_code == 404
    assert any(r["action"] == "qa_review" and r["target"] == call
               for r in env.app.state.accounts.audit_rows(user="analyst"))


def test_foreign_csrf_less_and_read_only_writes_change_nothing(env: Env) -> None:
    north_call = env.recorded["north"]
    south_call = env.recorded["south"]
    before = {c: len(reviews(env.app.state.store, c)) for c in (north_call, south_call)}
    sup = login(env, "s1_sup")  # S1 only: the north call is outside the scope
    assert _post(sup, north_call).status_code == 404
    analyst = login(env, "analyst")
    no_token = analyst.post(f"/calls/{south_call}/qa", data={"comment": "x"}, headers={"Origin": BASE})
    assert no_token.status_code == 403
    assert _post(login(env, "south_mgr"), south_call).status_code == 403  # vendors read reviews, never write
    bad = _post(analyst, south_call, step_no_such_step="met")
    assert bad.status_code == 303  # unknown fields are ignored: only the playbook's steps are read
    after = {c: len(reviews(env.app.state.store, c)) for c in (north_call, south_call)}
    assert after[north_call] == before[north_call] and after[south_call] == before[south_call] + 1
