"""``closeloop serve``, ``users``, ``tokens`` and ``audit``: the web app and its accounts.

Accounts, sessions, API tokens and the audit log live in the workspace's operational store
(:mod:`closeloop.ops.accounts`); the app is :mod:`closeloop.web`. See docs/web.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for
from closeloop.errors import InputError
from closeloop.ops.accounts import ROLES, Accounts
from closeloop.ops.store import OpsStore

users_app = typer.Typer(help="Web app accounts: add, list, disable, enable, reset.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (shown once, stored hashed): create, list, revoke.", no_args_is_help=True)


def _accounts(workspace: Path | None) -> tuple[OpsStore, Accounts]:
    store = OpsStore(settings_for(workspace).resolved_ops_url())
    return store, Accounts(store)


def _password(from_stdin: bool, confirm: bool = True) -> str:
    """A password from stdin (first line) or a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InputError("--password-stdin: no password on standard input")
        return line
    return typer.prompt("password", hide_input=True, confirmation_prompt=confirm)


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")]


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    vendor: Annotated[str | None, typer.Option("--vendor", help="vendor_manager: the vendor whose centers they see.")]
    = None,
    center: Annotated[str | None, typer.Option("--center", help="supervisor: the center they see.")] = None,
    agent_id: Annotated[str | None, typer.Option("--agent-id", help="agent: the agent whose numbers they see.")]
    = None,
    password_stdin: PasswordStdin = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add an account; its scope (every center, a vendor's, one center's, one agent's) follows the role."""
    from closeloop.ops.accounts import check_scope

    check_scope(role, vendor, center, agent_id)  # before asking for a password
    store, acc = _accounts(workspace)
    with store:
        user = acc.add_user(name, role, _password(password_stdin), vendor, center, agent_id)
    console().print(f"added {user.name} ({user.role})")


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """Every account with its role, scope and state."""
    store, acc = _accounts(workspace)
    with store:
        rows = [{"name": u.name, "role": u.role, "vendor": u.vendor, "center": u.center_id, "agent_id": u.agent_id,
                 "disabled": u.disabled, "locked_until": u.locked_until} for u in acc.users()]
    emit_rows(rows, fmt, "users")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Sign-in name.")], workspace: WorkspaceOpt = None) -> None:
    """Disable an account and end its sessions at once."""
    store, acc = _accounts(workspace)
    with store:
        acc.set_disabled(name, True)
    console().print(f"disabled {name}; its sessions are ended")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="Sign-in name.")], workspace: WorkspaceOpt = None) -> None:
    """Enable a disabled account."""
    store, acc = _accounts(workspace)
    with store:
        acc.set_disabled(name, False)
    console().print(f"enabled {name}")


@users_app.command("reset")
def users_reset(name: Annotated[str, typer.Argument(help="Sign-in name.")], password_stdin: PasswordStdin = False,
                workspace: WorkspaceOpt = None) -> None:
    """Set a new password, clear a lockout and end the account's sessions."""
    store, acc = _accounts(workspace)
    with store:
        acc.user(name)
        acc.reset_password(name, _password(password_stdin))
    console().print(f"new password set for {name}; its sessions are ended")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option("--name", help="What the token is for (shown in the audit log).")],
    vendor: Annotated[str | None, typer.Option("--vendor", help="The vendor it reads for (omit: every center).")]
    = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    store, acc = _accounts(workspace)
    with store:
        token = acc.create_token(name, vendor)
    typer.echo(token)
    console(stderr=True).print("store it now: it cannot be shown again (send it as `Authorization: Bearer TOKEN`)")


@tokens_app.command("list")
def tokens_list(workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """Every token: id, name, vendor, first characters, created and revoked times (never the token)."""
    store, acc = _accounts(workspace)
    with store:
        rows = acc.tokens()
    emit_rows(rows, fmt, "tokens")


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (tokens list).")],
                  workspace: WorkspaceOpt = None) -> None:
    """Revoke a token: the next request with it is refused."""
    store, acc = _accounts(workspace)
    with store:
        acc.revoke_token(token_id)
    console().print(f"revoked token {token_id}")


def audit_cmd(
    since: Annotated[str | None, typer.Option("--since", help="Only rows at or after this ISO time or date.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only rows of this actor.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows, newest first.")] = 1000,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """The web app's audit log: logins, failed logins, call and recording views, exports, account changes."""
    from closeloop.workspace.base import as_of

    store, acc = _accounts(workspace)
    with store:
        rows = acc.audit_rows(as_of(since) if since else None, user, limit)
    emit_rows(rows, fmt, "audit")


def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="Mark cookies Secure (behind HTTPS).")]
    = False,
    idle_minutes: Annotated[int, typer.Option("--idle-minutes", help="Sign out after this long without a request.")]
    = 30,
    workspace: WorkspaceOpt = None,
) -> None:
    """Serve the web app (dashboards, drill-down to the call, the API) for a workspace."""
    serve(settings_for(workspace).root, host, port, secure_cookies, idle_minutes)


def serve(root: Path, host: str, port: int, secure_cookies: bool = False, idle_minutes: int = 30) -> None:
    """Run the app with uvicorn until interrupted."""
    try:
        import uvicorn

        from closeloop.web import create_app
    except ImportError as exc:
        raise InputError(f"the web app needs its extra: pip install 'closeloop[web]' ({exc})") from exc
    app = create_app(root, secure_cookies=secure_cookies, idle_minutes=idle_minutes)
    err = console(stderr=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not secure_cookies:
        err.print("[yellow]warning[/]: listening beyond this machine without --secure-cookies: put it behind HTTPS "
                  "(a reverse proxy) and add --secure-cookies, or passwords and sessions cross the network in clear")
    err.print(f"serving {root} on http://{host}:{port}/  (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users``, ``tokens`` and ``audit``."""
    app.command("serve")(serve_cmd)
    app.command("audit")(audit_cmd)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")


__all__ = ["register", "serve"]
