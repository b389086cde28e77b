"""A small workspace with two vendors (overlapping agent names, look-alike ids) and in-house,
accounts of every role, and an app over it, shared by the web tests.

The data is written as canonical CSV files and loaded through the real ingest, so the app reads
what a user's workspace holds. Vendor ``north`` has center N1, vendor ``south`` S1 and S2,
the client HQ; each vendor's agents are called "Alex Kim" and "Sam Lee", with ids that differ by
one character. One call per vendor has a recording (a real WAV under WORKSPACE/recordings); one
points outside the folder and must never be served. Transcripts hold markup that must be escaped.
"""

from __future__ import annotations

import csv
import json
import random
import struct
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import closeloop
from closeloop.ops.accounts import Accounts
from closeloop.ops.store import OpsStore

PASSWORD = "correct horse battery"
CENTERS = [("HQ", "in-house", "US", "America/Chicago"), ("N1", "north", "PH", "Asia/Manila"),
           ("S1", "south", "CO", "America/Bogota"), ("S2", "south", "CO", "America/Bogota")]
AGENTS = [("HQ-1", "HQ", "Pat Doe"), ("HQ-2", "HQ", "Robin Roe"),
          ("NA1", "N1", "Alex Kim"), ("NA2", "N1", "Sam Lee"),
          ("SA1", "S1", "Alex Kim"), ("SA2", "S2", "Sam Lee")]
#: What each vendor's callers may see, and what they must never see.
VENDOR_OF = {"HQ": "in-house", "N1": "north", "S1": "south", "S2": "south"}
XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@dataclass(frozen=True)
class Env:
    """The workspace, its app and one client per role."""

    root: Path
    app: object
    calls: dict[str, str]  # call_id -> center_id
    recorded: dict[str, str]  # vendor -> a call with a recording


def _wav(path: Path, seconds: float = 2.0, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", (i * 37) % 2000 - 1000) for i in range(int(seconds * rate))))


def build_workspace(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Write and ingest the two-vendor data; returns (call -> center, vendor -> recorded call)."""
    rnd = random.Random(5)
    ws = closeloop.init(root, timezone="UTC")
    src = root / "src"
    src.mkdir()
    with open(src / "centers.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["center_id", "vendor", "country", "timezone", "name"])
        w.writerows([[c, v, k, tz, f"{c} site"] for c, v, k, tz in CENTERS])
    with open(src / "agents.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["agent_id", "center_id", "skills", "name", "team"])
        w.writerows([[a, c, "sales:7;care:6", n, f"team {c}"] for a, c, n in AGENTS])
    calls, recorded, rows, turns = {}, {}, [], []
    t0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    for i in range(240):
        agent_id, center, _ = AGENTS[i % len(AGENTS)]
        offered = t0 + timedelta(days=i % 11, minutes=3 * i)  # 11 and 6 coprime: every center every day
        call_type = "sales" if i % 3 else "care"
        answered = rnd.random() > 0.1
        outcome = (("sale" if rnd.random() < 0.3 else "no_sale") if call_type == "sales" else "resolved") \
            if answered else "abandoned"
        cid = f"C{i:04d}"
        uri = ""
        if answered and VENDOR_OF[center] not in recorded:
            recorded[VENDOR_OF[center]] = cid
            uri = f"{cid}.wav"
            _wav(root / "recordings" / uri)
        elif answered and i == 40:
            uri = "../closeloop.toml"  # points outside the recordings folder: never served
        rows.append([cid, center, f"{call_type}_{center.lower()}", "inbound", call_type, offered.isoformat(),
                     (offered + timedelta(seconds=20)).isoformat() if answered else "",
                     (offered + timedelta(seconds=300)).isoformat(), agent_id if answered else "", "",
                     5 if answered else "", 30 if answered else "", outcome,
                     199.0 if outcome == "sale" else "", "", uri])
        calls[cid] = center
        if answered:
            turns.append({"call_id": cid, "turns": [
                {"speaker": "agent", "start": 0.0, "end": 0.8, "text": f"Hello from {center}"},
                {"speaker": "customer", "start": 1.0, "end": 1.8, "text": XSS}]})
    with open(src / "calls.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["call_id", "center_id", "queue", "direction", "call_type", "offered_at", "answered_at",
                    "ended_at", "agent_id", "lead_id", "hold_s", "wrap_s", "outcome", "order_value", "csat",
                    "recording_uri"])
        w.writerows(rows)
    (src / "transcripts.jsonl").write_text("".join(json.dumps(t) + "\n" for t in turns))
    for record in ("centers", "agents", "calls", "transcripts"):
        name = "transcripts.jsonl" if record == "transcripts" else f"{record}.csv"
        ws.ingest(record, src / name)
    (root / "contracts.toml").write_text('''
[[contract]]
name = "north telesales"
scope = { vendor = "north" }
period = "week"
  [[contract.term]]
  metric = "abandon_rate"
  direction = "at_most"
  target = 0.2
  min_volume = 10

[[contract]]
name = "south telesales"
scope = { vendor = "south" }
period = "week"
  [[contract.term]]
  metric = "abandon_rate"
  direction = "at_most"
  target = 0.2
  min_volume = 10
''')
    return calls, recorded


#: One account per role (and a second vendor's manager); the name says who it is.
USERS = {
    "admin": ("admin", {}), "analyst": ("analyst", {}),
    "north_mgr": ("vendor_manager", {"vendor": "north"}), "south_mgr": ("vendor_manager", {"vendor": "south"}),
    "s1_sup": ("supervisor", {"center": "S1"}), "na1_agent": ("agent", {"agent_id": "NA1"}),
}


def add_users(root: Path) -> None:
    """Create every account of :data:`USERS` in the workspace's operational store."""
    with OpsStore(closeloop.open(root).settings.resolved_ops_url()) as store:
        acc = Accounts(store)
        for name, (role, scope) in USERS.items():
            acc.add_user(name, role, PASSWORD, **scope)


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """The workspace, its accounts and an app over it (built once per session)."""
    from closeloop.web import create_app

    root = tmp_path_factory.mktemp("web") / "ws"
    calls, recorded = build_workspace(root)
    add_users(root)
    closeloop.open(root).refresh_facts()
    return Env(root, create_app(root, login_limit=10_000), calls, recorded)


BASE = "http://testserver"


def client(env: Env) -> httpx.Client:
    """An anonymous client of the app (cookies kept, redirects not followed)."""
    from fastapi.testclient import TestClient

    return TestClient(env.app, base_url=BASE, follow_redirects=False)


def login(env: Env, name: str) -> httpx.Client:
    """A client signed in as ``name`` through the real login form."""
    c = client(env)
    form = c.get("/login")
    token = form.cookies.get("closeloop_csrf") or c.cookies.get("closeloop_csrf")
    got = c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token, "next": "/"},
                 headers={"Origin": BASE})
    assert got.status_code == 303 and got.headers["location"] == "/", got.text
    return c
