"""A real browser (Playwright driving Debian's Chromium) against a real server on loopback.

The client's admin and a vendor's manager sign in side by side, walk the drill path
vendor -> center -> queue -> agent -> day -> call, play the call's recording (seeking through
HTTP range requests by clicking a transcript turn), and read the same numbers the CLI prints
as JSON. Screenshots go to tests/web/screens/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from typer.testing import CliRunner

from closeloop.cli.app import app as cli_app
from tests.web.conftest import PASSWORD, Env

CHROMIUM = "/usr/bin/chromium"
SCREENS = Path(__file__).parent / "screens"


@pytest.fixture(scope="module")
def server(env: Env) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port for the module's tests."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(env.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (Playwright cannot download its own browsers here)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


def sign_in(browser: Browser, base: str, name: str) -> Page:
    page = browser.new_context(base_url=base).new_page()
    page.goto("/scorecard")
    assert "/login" in page.url  # anonymous: sent to the login, and back after it
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/scorecard")
    return page


def cli_offered(env: Env, *where: str) -> int:
    """``closeloop scorecard --format json`` (with --where filters): the offered calls."""
    args = ["scorecard", "-w", str(env.root), "--format", "json", "--metrics", "offered"]
    for w in where:
        args += ["--where", w]
    got = CliRunner().invoke(cli_app, args)
    assert got.exit_code == 0, got.output
    return json.loads(got.output)[0]["offered"]


def walk_to_call(page: Page, steps: list[str], name: str) -> None:
    """Click the row links of the drill path one by one, checking each level keeps the filters."""
    for i, text in enumerate(steps):
        page.get_by_role("link", name=text, exact=True).first.click()
        page.wait_for_load_state()
        SCREENS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENS / f"{name}-{i}-{text}.png"), full_page=True)


def play_recording(page: Page) -> None:
    """The player loads the recording; clicking a turn seeks to it (a range request) and plays."""
    player = page.locator("#player")
    player.wait_for()
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    page.locator("button.seek").nth(1).click()
    page.wait_for_function("document.getElementById('player').currentTime >= 1.0")
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(2.0, abs=0.05)


def test_client_and_vendor_walk_the_drill_path_to_a_recorded_call(env: Env, server: str, browser: Browser) -> None:
    admin = sign_in(browser, server, "admin")
    vendor = sign_in(browser, server, "south_mgr")

    # the headline on the overview equals the CLI's JSON, for the client and for the vendor's scope
    for page, where in ((admin, ()), (vendor, ("center_id=S1|S2",))):
        page.goto("/")
        shown = page.locator("[data-metric=offered]").inner_text().replace(",", "")
        assert int(shown) == cli_offered(env, *where)
    assert "north" not in vendor.content()

    call = env.recorded["south"]  # C0005: vendor south, center S2, queue sales_s2, agent SA2, 2026-03-07
    admin.goto("/scorecard")
    walk_to_call(admin, ["south", "S2", "sales_s2", "SA2", "2026-03-07", call], "admin")
    assert admin.url.endswith(f"/calls/{call}")
    play_recording(admin)

    vendor.goto("/scorecard")  # a vendor's manager starts at its centers
    assert vendor.get_by_role("link", name="N1", exact=True).count() == 0
    walk_to_call(vendor, ["S2", "sales_s2", "SA2", "2026-03-07", call], "vendor")
    play_recording(vendor)
    # the untrusted transcript is text, not markup: no script ran, no image was injected
    assert vendor.locator(".transcript img").count() == 0
    assert "<script>" in vendor.locator(".transcript").inner_text()

    # a vendor typing another vendor's call into the address bar gets 404
    foreign = next(cid for cid, c in env.calls.items() if c == "N1")
    assert vendor.goto(f"/calls/{foreign}").status == 404
    actions = {(r["actor"], r["action"]) for r in env.app.state.accounts.audit_rows()}
    assert {("south_mgr", "recording_view"), ("admin", "call_view")} <= actions


AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # axe-core 4.14.1 (MPL-2.0), from npm


def test_no_serious_accessibility_violations_on_any_page(env: Env, server: str, browser: Browser) -> None:
    """axe-core on every page as the client and as a vendor: nothing serious or critical."""
    script = AXE.read_text(encoding="utf-8")
    call = env.recorded["south"]
    pages = ["/", "/scorecard?by=vendor", "/scorecard?by=agent_id&center_id=S2", "/scorecard?by=day&center_id=S2",
             "/calls?center_id=S2&day=2026-03-07", f"/calls/{call}", "/sla", "/gap?dimension=center_id&a=S1&b=S2",
             "/api/docs", "/admin/audit", "/patterns", "/scorecard?by=center_id&view=leads"]
    found = {}
    for name in ("admin", "south_mgr"):
        # axe is injected as a script: the app's CSP (rightly) forbids that, so this context bypasses it
        ctx = browser.new_context(base_url=server, bypass_csp=True)
        page = ctx.new_page()
        page.goto("/login")
        page.fill("#username", name)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        for url in [*pages, "/login"]:
            if url == "/admin/audit" and name != "admin":
                continue
            page.goto(url)
            page.add_script_tag(content=script)
            got = page.evaluate("async () => { const r = await axe.run(); return {passes: r.passes.length, "
                                "violations: r.violations.map(v => [v.id, v.impact, v.nodes.length])}; }")
            assert got["passes"] > 5, (name, url)  # axe really checked the page
            bad = [v for v in got["violations"] if v[1] in ("serious", "critical")]
            if bad:
                found[(name, url)] = bad
        ctx.close()
    assert not found, found
