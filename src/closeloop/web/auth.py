"""Who is calling: sessions (cookies) for people, bearer tokens for scripts; CSRF and login throttling.

Security model (docs/web.md): the scope comes from the account or the token, never from the
request. A session is a random id in an HttpOnly, SameSite=Strict cookie; the store keeps its
hash, the CSRF token bound to it and when it was last used (idle timeout). Every
state-changing request must carry that CSRF token (form field or ``X-CSRF-Token`` header,
equal to the ``closeloop_csrf`` cookie: double submit) and an Origin (or Referer) of this
very host. Logins are throttled per client address here and locked per account in the store.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from closeloop.ops.accounts import Accounts, User
from closeloop.web.scope import Scope, ScopedData, scope_for, scope_of_user

SESSION_COOKIE = "closeloop_session"
CSRF_COOKIE = "closeloop_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Principal:
    """The caller of one request: a user (session) or a token, with its scope."""

    name: str
    role: str
    scope: Scope
    csrf: str | None = None  # the session's CSRF token (None for bearer tokens)
    user: User | None = None
    via_token: bool = False

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"token:{self.name}" if self.via_token else self.name


class LoginThrottle:
    """At most ``limit`` login attempts per client address in ``window`` seconds (in memory, per process)."""

    def __init__(self, limit: int = 20, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one attempt; False when the address is over its limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # bounded memory under a spray of addresses
                self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] <= self.window}
            return True


def client_ip(request: Request) -> str:
    """The peer address (no proxy headers are trusted)."""
    return request.client.host if request.client else "unknown"


def principal(request: Request) -> Principal | None:
    """The caller from a bearer token or a session cookie; None when anonymous."""
    state = request.app.state
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        row = state.accounts.token(auth[7:].strip())
        if row is None:
            return None
        role = "vendor_manager" if row["vendor"] else "analyst"
        scope = _cached_scope(state, ("token", row["vendor"]), lambda: scope_for(state.ws, role, row["vendor"]))
        return Principal(row["name"], role, scope, via_token=True)
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    session = state.accounts.session(sid, timedelta(minutes=state.idle_minutes))
    if session is None:
        return None
    user = session.user
    scope = _cached_scope(state, ("user", user.id), lambda: scope_of_user(state.ws, user))
    return Principal(user.name, user.role, scope, session.csrf, user)


def _cached_scope(state: Any, key: tuple, build: Any) -> Scope:
    """Scopes change only when centers or agents are loaded: cached for a minute."""
    now = time.monotonic()
    got = state.scopes.get(key)
    if got is None or now - got[0] > 60:
        got = (now, build())
        state.scopes[key] = got
    return got[1]


def require(request: Request) -> Principal:
    """The caller, or 401 (pages turn it into a redirect to the login)."""
    who = getattr(request.state, "principal", None)
    if who is None:
        who = principal(request)
        request.state.principal = who
    if who is None:
        raise HTTPException(status_code=401, detail="sign in first")
    return who


def data(request: Request) -> ScopedData:
    """The scoped data-access layer for this request's caller (the only way routes read data)."""
    return ScopedData(request.app.state.ws, require(request).scope, request.app.state.cache)


def same_origin(request: Request) -> bool:
    """True when the request's Origin (else Referer) names this host."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    got = urlsplit(source)
    return got.netloc == request.headers.get("host", "") and got.scheme in ("http", "https")


def check_csrf(request: Request, submitted: str | None, expected: str | None) -> None:
    """403 unless the request is same-origin and carries the CSRF token in both cookie and form/header."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    token = submitted or request.headers.get(CSRF_HEADER, "")
    ok = same_origin(request) and bool(token) and hmac.compare_digest(token, cookie)
    if expected is not None:
        ok = ok and hmac.compare_digest(token, expected)
    if not ok:
        raise HTTPException(status_code=403, detail="CSRF check failed: reload the page and try again")


def new_csrf() -> str:
    """A fresh CSRF token (the login form's, before any session exists)."""
    return secrets.token_urlsafe(32)


__all__ = ["Accounts", "LoginThrottle", "Principal", "check_csrf", "data", "principal", "require"]
