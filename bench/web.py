"""Web app latency: p50/p95 of every page and API endpoint under concurrent users, and login throughput.

The server is ``closeloop serve`` in its own process on loopback (127.0.0.1 only); users are
threads with their own signed-in session, each walking the same list of URLs a bounded number
of rounds. The first request of each URL is timed apart (cold: scorecards build or read the
stored facts and fill the server's result cache); the p50/p95 are of the later ones, which
is what the target (p95 <= 300 ms after the first request) speaks of. Login throughput is
measured in the same run: Argon2id at pwdlib's recommended cost (64 MiB, 3 passes, 4 lanes).

    .venv/bin/python bench/web.py                         # builds a small demo workspace first
    .venv/bin/python bench/web.py -w demo-workspace --users 20 --rounds 5
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PASSWORD = "bench password 1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(workspace: Path | None, tmp: Path) -> Path:
    """The workspace to serve (a small demo built into ``tmp`` when none is given) with a bench account."""
    import closeloop
    from closeloop.ops.accounts import Accounts
    from closeloop.ops.store import OpsStore

    if workspace is None:
        from closeloop.demo.build import build_demo
        from closeloop.demo.params import DemoParams

        workspace = tmp / "ws"
        print("building a small demo workspace ...", flush=True)
        build_demo(workspace, DemoParams.for_scale("small", seed=7), report=False)
    ws = closeloop.open(workspace)
    with OpsStore(ws.settings.resolved_ops_url()) as store:
        acc = Accounts(store)
        try:
            acc.add_user("bench_admin", "admin", PASSWORD, actor="bench")
        except Exception:
            acc.reset_password("bench_admin", PASSWORD, actor="bench")
    ws.refresh_facts()
    return workspace


def sign_in(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=120)
    c.get("/login")
    got = c.post("/login", data={"username": "bench_admin", "password": PASSWORD,
                                 "csrf_token": c.cookies.get("closeloop_csrf"), "next": "/"},
                 headers={"Origin": base})
    if got.status_code != 303:
        raise SystemExit(f"bench: sign-in failed ({got.status_code})")
    return c


def urls(c: httpx.Client) -> list[str]:
    """Every page and API endpoint, with ids taken from the workspace (one drill path)."""
    vendor = c.get("/api/v1/scorecard?by=vendor").json()["rows"][0]["vendor"]
    center = c.get(f"/api/v1/scorecard?by=center_id&vendor={vendor}").json()["rows"][0]["center_id"]
    calls = c.get(f"/api/v1/calls?center_id={center}").json()["rows"]
    day = calls[0]["offered_at"][:10]
    call = calls[0]["call_id"]
    return ["/", "/scorecard?by=vendor", f"/scorecard?by=center_id&vendor={vendor}",
            f"/scorecard?by=queue&center_id={center}", f"/scorecard?by=agent_id&center_id={center}",
            f"/scorecard?by=day&center_id={center}", f"/calls?center_id={center}&day={day}", f"/calls/{call}",
            "/sla", "/api/v1/overview", "/api/v1/overview/trend", "/api/v1/scorecard?by=center_id",
            f"/api/v1/calls?center_id={center}&day={day}", f"/api/v1/calls/{call}", "/api/v1/sla",
            "/scorecard?by=center_id&format=csv", "/api/docs"]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-w", "--workspace", type=Path, help="workspace to serve (default: build a small demo)")
    ap.add_argument("--users", type=int, default=20, help="concurrent users (threads)")
    ap.add_argument("--rounds", type=int, default=3, help="times each user walks every URL")
    ap.add_argument("--logins", type=int, default=20, help="logins timed for throughput")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = prepare(args.workspace, Path(tmp))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "closeloop", "serve", "-w", str(root), "--port", str(port)])
        try:
            for _ in range(600):
                try:
                    httpx.get(f"{base}/login", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            run(base, args)
        finally:
            server.terminate()
            server.wait(timeout=30)


def run(base: str, args: argparse.Namespace) -> None:
    first = sign_in(base)
    todo = urls(first)
    cold = {}
    for u in todo:
        t = time.perf_counter()
        assert first.get(u).status_code == 200, u
        cold[u] = time.perf_counter() - t
    clients = [sign_in(base) for _ in range(args.users)]
    times: dict[str, list[float]] = {u: [] for u in todo}
    lock = threading.Lock()

    def user(c: httpx.Client, offset: int) -> None:
        for r in range(args.rounds):
            for i in range(len(todo)):
                u = todo[(i + offset + r) % len(todo)]
                t = time.perf_counter()
                ok = c.get(u).status_code == 200
                dt = time.perf_counter() - t
                with lock:
                    times[u].append(dt if ok else float("inf"))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(c, k)) for k, c in enumerate(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    n = sum(len(v) for v in times.values())
    print(f"\n{args.users} concurrent users x {args.rounds} rounds x {len(todo)} URLs = {n} requests "
          f"in {wall:.1f} s ({n / wall:.1f} req/s) on loopback")
    print(f"{'url':<55} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for u in todo:
        v = times[u]
        print(f"{u[:55]:<55} {1000 * cold[u]:>9.0f} {1000 * statistics.median(v):>8.0f} {1000 * pct(v, 0.95):>8.0f}")
    every = [x for v in times.values() for x in v]
    print(f"{'all (after the first request)':<55} {'':>9} {1000 * statistics.median(every):>8.0f} "
          f"{1000 * pct(every, 0.95):>8.0f}")
    t = time.perf_counter()
    for _ in range(args.logins):
        sign_in(base).close()
    seq = args.logins / (time.perf_counter() - t)
    print(f"\nlogin throughput (Argon2id m=64MiB t=3 p=4, sequential): {seq:.1f} logins/s "
          f"({1000 / seq:.0f} ms each, the hash dominates)")


if __name__ == "__main__":
    main()
