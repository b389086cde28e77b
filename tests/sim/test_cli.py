"""The simulate and staff commands end to end, through the installed entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from closeloop.cli.app import app
from closeloop.errors import InputError, ScenarioError

SCENARIOS = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

SMALL = """
[scenario]
name = "small"
days = 0.5
seed = 3

[policy]
name = "global_order"

[[centers]]
id = "c1"

[[queues]]
name = "sales_in"
type = "sales"
rate_per_hour = 40
patience_mean_s = 120

[[queues]]
name = "care_in"
type = "care"
rate_per_hour = 30

[[agents]]
center = "c1"
count = 6
skills = "sales:6;care:5"
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed command in a subprocess (exit codes as scripts see them)."""
    return subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def invoke(*args: str, cwd: Path) -> Result:
    """The command in-process (faster; errors surface as exceptions)."""
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def test_simulate_json_compare_and_write_to_workspace(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(SMALL, encoding="utf-8")
    assert invoke("init", cwd=tmp_path).exit_code == 0
    r = invoke("simulate", "s.toml", "-n", "2", "--workers", "1", "--compare", "longest_idle", "--format", "json",
            "--write-to-workspace", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)  # the same long table as CSV: policy, queue, metric, value, low, high, verdict
    rows = {(x["policy"], x["queue"], x["metric"]): x for x in out}
    sl = rows[("global_order", "sales_in", "service_level")]
    assert sl["low"] <= sl["value"] <= sl["high"]
    assert rows[("longest_idle", "all", "offered")]["value"] == rows[("global_order", "all", "offered")]["value"]
    assert {d["verdict"] for d in out if " minus " in d["policy"]} <= {"more than noise", "within noise"}
    assert "calls:" in r.stderr
    q = invoke("sql", "SELECT count(*) AS n, count(DISTINCT agent_id) AS a FROM calls", "-f", "json", cwd=tmp_path)
    n = json.loads(q.stdout)[0]
    assert n["n"] > 20 and n["a"] == 6


def test_simulate_bad_scenario_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(SMALL.replace("rate_per_hour = 30", "rate_per_hour = -30"), encoding="utf-8")
    r = run("simulate", "bad.toml", cwd=tmp_path)
    assert r.returncode == 2
    assert "bad.toml: queues[1].rate_per_hour:" in r.stderr and "minimum" in r.stderr


def test_staff_single_interval_and_scenario(tmp_path: Path) -> None:
    r = invoke("staff", "--calls-per-hour", "108", "--aht", "300", "--agents", "10", "-f", "json", cwd=tmp_path)
    row = json.loads(r.stdout)[0]
    assert abs(row["p_wait"] - 0.6687) < 1e-3
    r = invoke("staff", "--calls-per-hour", "108", "--aht", "300", "--agents", "9", "-f", "json", cwd=tmp_path)
    row = json.loads(r.stdout)[0]
    assert row["stable"] is False and row["p_wait"] == 1.0 and row["service_level"] == 0.0
    r = invoke("staff", "--calls-per-hour", "600", "--aht", "240", "--shrinkage", "0.3", "-f", "json", cwd=tmp_path)
    rows = json.loads(r.stdout)
    need = min(x["agents"] for x in rows if x["meets_target"])
    assert need == 46 and any(x["scheduled"] == 66 for x in rows if x["agents"] == need)
    r = invoke("staff", "--scenario", str(SCENARIOS / "threshold_dialing.toml"), "-f", "json", cwd=tmp_path)
    table = json.loads(r.stdout)
    assert len(table) == 24 and max(x["agents"] for x in table) > 10


def test_simulate_csv_is_one_table_with_the_differences_in_result_units(tmp_path: Path) -> None:
    import csv
    import io

    (tmp_path / "s.toml").write_text(SMALL, encoding="utf-8")
    r = invoke("simulate", "s.toml", "-n", "2", "--workers", "1", "--compare", "longest_idle", "-f", "csv",
               cwd=tmp_path)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0]) == ["policy", "queue", "metric", "value", "low", "high", "verdict"]
    assert {x["policy"] for x in rows} == {"global_order", "longest_idle", "longest_idle minus global_order"}
    sl = {x["policy"]: x for x in rows if x["queue"] == "sales_in" and x["metric"] == "service_level"}
    a, b, d = (float(sl[k]["value"]) for k in ("global_order", "longest_idle", "longest_idle minus global_order"))
    assert 0 <= a <= 1 and d == pytest.approx(b - a)  # a fraction, like the results (not percentage points)
    assert all(0 <= float(x["low"]) <= float(x["high"]) <= 1 for x in rows
               if x["metric"] == "service_level" and "minus" not in x["policy"])


def test_simulate_refuses_a_bad_engine_and_a_negative_seed_before_running(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(SMALL.replace("seed = 3", "seed = -1"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"s\.toml: scenario\.seed: .*-1"):
        invoke("simulate", "s.toml", cwd=tmp_path)
    (tmp_path / "s.toml").write_text(SMALL, encoding="utf-8")
    with pytest.raises(InputError, match="unknown engine 'warp'") as err:
        invoke("simulate", "s.toml", "--engine", "warp", cwd=tmp_path)
    assert err.value.exit_code == 2


def test_staff_refuses_options_the_scenario_would_ignore_and_shows_quiet_hours_plainly(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="scenario gives the rates"):
        invoke("staff", "--scenario", str(SCENARIOS / "mmc.toml"), "--agents", "3", cwd=tmp_path)
    r = invoke("staff", "--scenario", str(SCENARIOS / "threshold_dialing.toml"), "-f", "json", cwd=tmp_path)
    night = json.loads(r.stdout)[0]  # 00:00, no calls: nobody waits or abandons
    assert (night["calls_per_hour"], night["agents"], night["service_level"], night["abandonment"]) == (0, 0, 1, 0)
