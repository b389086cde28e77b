"""Demo accounts: one client admin, one manager per vendor and one agent, with fresh passwords.

Why fresh random passwords each time: ``closeloop demo --serve`` prints them on the terminal;
a fixed password would let anyone on the network sign in to a demo left running.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from closeloop.errors import InputError
from closeloop.ops.accounts import Accounts
from closeloop.ops.store import OpsStore
from closeloop.workspace import Workspace


@dataclass(frozen=True)
class DemoAccount:
    """An account made for the demo and its password (shown once)."""

    name: str
    role: str
    scope: str
    password: str


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_") or "vendor"


def demo_accounts(ws: Workspace) -> list[DemoAccount]:
    """Create (or reset) the demo accounts of a workspace's vendors and return them with passwords."""
    with ws.warehouse() as wh:
        vendors = wh.query("SELECT DISTINCT vendor FROM centers WHERE vendor <> 'in-house' ORDER BY vendor"
                           ).column(0).to_pylist()
        agent = wh.query("SELECT agent_id FROM agents ORDER BY agent_id LIMIT 1").column(0).to_pylist()
    wanted: list[tuple[str, str, dict[str, str]]] = [("admin", "admin", {})]
    wanted += [(f"{_slug(v)}_manager", "vendor_manager", {"vendor": v}) for v in vendors]
    if agent:
        wanted.append((f"agent_{_slug(agent[0])}", "agent", {"agent_id": agent[0]}))
    out = []
    with OpsStore(ws.settings.resolved_ops_url()) as store:
        acc = Accounts(store)
        for name, role, scope in wanted:
            password = secrets.token_urlsafe(12)
            try:
                acc.add_user(name, role, password, actor="demo", **scope)
            except InputError:
                acc.reset_password(name, password, actor="demo")
                acc.set_disabled(name, False, actor="demo")
            out.append(DemoAccount(name, role, ", ".join(f"{k}={v}" for k, v in scope.items()) or "all centers",
                                   password))
    return out
