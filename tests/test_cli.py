"""End-to-end: the installed command on the checked-in example files, with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_init_ingest_status_sql_rejects(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "closeloop.toml").is_file()
    for record in ("centers", "agents", "leads", "calls"):
        r = run("ingest", record, str(EXAMPLES / f"{record}.csv"), "-o", "json", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout)[0]
        assert summary["loaded"] + summary["rejected"] == summary["read"]
    r = run("status", "--format", "json", cwd=tmp_path)
    status = {row["table"]: row for row in json.loads(r.stdout)}
    assert status["calls"]["rows"] == 8 and status["calls"]["rejected"] == 2
    assert status["calls"]["from"].startswith("2026-07-01")
    r = run("sql", "SELECT count(*) AS n FROM calls WHERE outcome = 'sale'", "-f", "csv", cwd=tmp_path)
    assert r.stdout.splitlines() == ["n", "2"]
    out = tmp_path / "rejects.csv"
    assert run("rejects", "--export", str(out), cwd=tmp_path).returncode == 0
    assert len(out.read_text().splitlines()) == 3
    strict = run("ingest", "calls", str(EXAMPLES / "calls.csv"), "--strict", cwd=tmp_path)
    assert strict.returncode == 1


def test_exit_codes_and_one_line_errors(tmp_path: Path) -> None:
    no_ws = run("status", cwd=tmp_path)
    assert no_ws.returncode == 2 and "closeloop init" in no_ws.stderr
    run("init", cwd=tmp_path)
    missing = run("ingest", "calls", "nope.csv", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == ["error: nope.csv: no such file"]
    wrong = run("ingest", "agents", str(EXAMPLES / "calls.csv"), cwd=tmp_path)
    assert wrong.returncode == 2 and "missing required column(s) skills" in wrong.stderr
    bad_sql = run("sql", "SELECT * FROM nowhere", cwd=tmp_path)
    assert bad_sql.returncode == 3 and "nowhere" in bad_sql.stderr
    unknown_format = run("ingest", "calls", str(EXAMPLES / "calls.csv"), "--format", "fax", cwd=tmp_path)
    assert unknown_format.returncode == 2 and "known formats" in unknown_format.stderr
