"""Signing in and out: the only forms an anonymous caller can use.

The login form gets a CSRF token in a cookie and a hidden field (double submit, checked with
the Origin). A successful login opens a new session (a new id each time: a session id known
before the login is worth nothing after it) and revokes the one the browser had.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from closeloop.web.auth import CSRF_COOKIE, SESSION_COOKIE, check_csrf, client_ip, new_csrf, require

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //) may follow a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _cookie(request: Request, response: Response, name: str, value: str, http_only: bool) -> None:
    response.set_cookie(name, value, httponly=http_only, samesite="strict", secure=request.app.state.secure_cookies,
                        path="/")


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None, error: str | None = None) -> Response:
    """The sign-in form with a fresh CSRF token (a signed-in browser goes straight on)."""
    who = getattr(request.state, "principal", None)
    if who is not None and not who.via_token:
        return RedirectResponse(_safe_next(next), status_code=303)
    token = new_csrf()
    response = request.app.state.templates.TemplateResponse(
        request, "login.html", {"who": None, "csrf": token, "next": _safe_next(next), "error": error,
                                "title": "sign in"})
    _cookie(request, response, CSRF_COOKIE, token, http_only=False)
    return response


@router.post("/login", include_in_schema=False)
def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
          csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    """Check the password (throttled per address, locked per account) and open a new session."""
    check_csrf(request, csrf_token, None)
    state = request.app.state
    ip = client_ip(request)
    if not state.throttle.allow(ip):
        state.accounts.audit(username[:100], "login_throttled", username[:100], ip)
        raise HTTPException(status_code=429, detail="too many sign-in attempts from this address: wait a few minutes")
    user = state.accounts.authenticate(username, password, ip)
    if user is None:
        return RedirectResponse(f"/login?error=1&next={quote(_safe_next(next), safe='')}", status_code=303)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        state.accounts.revoke_session(old)
    sid, csrf = state.accounts.open_session(user)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _cookie(request, response, SESSION_COOKIE, sid, http_only=True)
    _cookie(request, response, CSRF_COOKIE, csrf, http_only=False)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End this session (CSRF-checked like every state change)."""
    who = require(request)
    check_csrf(request, csrf_token, who.csrf)
    request.app.state.accounts.revoke_session(request.cookies.get(SESSION_COOKIE, ""))
    request.app.state.accounts.audit(who.actor, "logout", who.name, client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
