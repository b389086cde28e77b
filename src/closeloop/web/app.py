"""The web app's factory: one FastAPI app over one workspace, every asset served from the package.

Every route but the login form and ``/static`` passes the gate (:func:`_gate`): an anonymous
page request is sent to the login, an anonymous API request gets 401. Routes then read data
only through :class:`closeloop.web.scope.ScopedData`. The server opens DuckDB with external
access disabled, sends security headers and a strict CSP (no inline script, nothing from
another origin), and maps closeloop's errors to pages: outside the scope -> 404, bad input -> 400.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from closeloop.errors import CloseloopError, StorageError
from closeloop.ops.accounts import Accounts
from closeloop.ops.store import OpsStore
from closeloop.settings import load_settings
from closeloop.web.auth import LoginThrottle, principal
from closeloop.web.scope import OutOfScope, ResultCache
from closeloop.workspace import from_settings

HERE = Path(__file__).parent
log = logging.getLogger("closeloop.web")
#: Paths anyone may open (the login form and the vendored assets); everything else needs a caller.
PUBLIC = ("/login", "/static/")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def is_public(path: str) -> bool:
    """True for the login form and static assets."""
    return path == "/login" or path.startswith("/static/")


def is_api(request: Request) -> bool:
    """API requests answer JSON (errors included); pages answer HTML."""
    return request.url.path.startswith("/api/")


def _gate(request: Request) -> None:
    """Resolve the caller once per request; refuse anonymous callers everywhere but the public paths."""
    who = principal(request)
    request.state.principal = who
    if who is None and not is_public(request.url.path):
        raise HTTPException(status_code=401, detail="sign in first")


def create_app(workspace_path: str | Path, ops_url: str | None = None, idle_minutes: int = 30,
               secure_cookies: bool = False, login_limit: int = 20) -> FastAPI:
    """The app for the workspace at ``workspace_path``.

    ``ops_url`` overrides the workspace's operational store (users, sessions, tokens, audit);
    ``secure_cookies`` marks cookies Secure (set it behind HTTPS); ``login_limit`` is the login
    attempts allowed per client address in five minutes.
    """
    settings = load_settings(Path(workspace_path))
    settings = dataclasses.replace(settings, warehouse_external_access=False)
    store = OpsStore(ops_url or settings.resolved_ops_url())
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="closeloop", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(_gate)], lifespan=lifespan)
    app.state.ws = from_settings(settings)
    # Uploads (POST /api/v1/ingest) read the server's own saved file: only they may reach the disk.
    app.state.ingest_ws = from_settings(dataclasses.replace(settings, warehouse_external_access=True))
    app.state.store = store
    app.state.accounts = Accounts(store)
    app.state.idle_minutes = idle_minutes
    app.state.secure_cookies = secure_cookies
    app.state.throttle = LoginThrottle(limit=login_limit)
    app.state.scopes = {}
    app.state.cache = ResultCache(app.state.ws)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    from closeloop.web import views

    env.filters.update(views.FILTERS)
    app.state.templates = Jinja2Templates(env=env)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from closeloop.web.routes import api, gap, ingest, login, pages, patterns, qa

    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(qa.router)
    app.include_router(gap.router)
    app.include_router(patterns.router)
    app.include_router(api.router)
    app.include_router(ingest.router)
    _errors(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if request.app.state.secure_cookies:  # served over HTTPS: browsers must keep to it
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return app


def _errors(app: FastAPI) -> None:
    """Map errors to answers: 401 -> login (pages) or JSON, OutOfScope -> 404, bad input -> 400."""

    def page(request: Request, status: int, message: str) -> Response:
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=status)
        who = getattr(request.state, "principal", None)
        return request.app.state.templates.TemplateResponse(
            request, "error.html", {"status": status, "message": message, "who": who,
                                    "csrf": getattr(who, "csrf", None), "title": f"{status}"},
            status_code=status)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and not is_api(request):
            from urllib.parse import quote

            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        response = page(request, exc.status_code, str(exc.detail))
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(OutOfScope)
    async def _scope(request: Request, exc: OutOfScope) -> Response:
        return page(request, 404, "not found")

    @app.exception_handler(StorageError)
    async def _busy(request: Request, exc: StorageError) -> Response:
        log.warning("storage error on %s: %s", request.url.path, exc)  # the detail stays in the server's log
        response = page(request, 503, "the store is busy or failed: try again in a moment")
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(CloseloopError)
    async def _bad(request: Request, exc: CloseloopError) -> Response:
        return page(request, 400, str(exc))

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return page(request, 400, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))


def route_table(app: FastAPI) -> list[tuple[str, frozenset[str]]]:
    """Every (path, methods) the app answers, routers included (for the route inventory test and docs)."""
    from fastapi.routing import APIRoute

    out: list[tuple[str, frozenset[str]]] = []

    def walk(items: list[Any]) -> None:
        for r in items:
            if isinstance(r, APIRoute):
                out.append((r.path, frozenset(r.methods or ())))
            elif hasattr(r, "original_router"):  # an included router (FastAPI >= 0.120 keeps it whole)
                walk(r.original_router.routes)
            elif hasattr(r, "routes") and not hasattr(r, "app"):
                walk(r.routes)

    walk(app.routes)
    return out
