"""`closeloop scorecard` end to end: JSON shape, CSV flattening, and the error exits."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from closeloop.settings import init_workspace
from tests.metrics.fixtures import small_warehouse


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    settings = init_workspace(root)
    small_warehouse(str(settings.warehouse_path())).close()
    return root


def test_json_rows_have_keys_metrics_and_intervals(ws):
    r = run("scorecard", "--by", "center_id", "--grain", "week", "--metrics", "handled,close_rate", "-f", "json",
            cwd=ws)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert list(rows[0])[:4] == ["period", "center_id", "handled", "close_rate"]
    c1 = next(row for row in rows if row["center_id"] == "C1")
    assert c1["period"] == "2024-03-04" and c1["close_rate"] == pytest.approx(2 / 3)
    assert c1["close_rate_low"] <= c1["close_rate"] <= c1["close_rate_high"]


def test_csv_flattens_intervals(ws):
    r = run("scorecard", "--metrics", "close_rate", "-f", "csv", cwd=ws)
    (row,) = list(csv.DictReader(io.StringIO(r.stdout)))
    assert float(row["close_rate_low"]) < float(row["close_rate"]) < float(row["close_rate_high"])


def test_errors_list_valid_names_and_empty_selection_exits_1(ws):
    bad = run("scorecard", "--by", "vendr", cwd=ws)
    assert bad.returncode == 2 and "valid: center_id, vendor" in bad.stderr
    empty = run("scorecard", "--where", "vendor=nobody", cwd=ws)
    assert empty.returncode == 1 and "no calls match" in empty.stderr


def test_table_fits_80_columns_and_shows_the_common_metrics(ws):
    import os

    r = subprocess.run([sys.executable, "-m", "closeloop", "scorecard", "--by", "center_id"], cwd=ws,
                       capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = r.stdout
    for label in ("offered", "handled", "service lvl", "abandon", "ASA s", "AHT s", "close rate", "CSAT"):
        assert label in text, label
    assert "first_call_close" not in text and "1st-call" not in text  # not in the default subset
    assert "%" in text and "[" in text  # rates as percentages with their interval
    assert "--metrics" in r.stderr  # says how to see the rest


def test_no_sale_in_selection_is_not_a_zero_close_rate(ws):
    r = run("scorecard", "--where", "outcome!=sale", "--metrics", "close_rate,sales", "-f", "json", cwd=ws)
    (row,) = json.loads(r.stdout)
    assert row["sales"] == 0 and row["close_rate_n"] > 0  # sales calls were handled, none sold
    assert row["close_rate"] is None and row["close_rate_low"] is None and row["close_rate_high"] is None
    care = json.loads(run("scorecard", "--where", "call_type=care", "--metrics", "close_rate", "-f", "json",
                          cwd=ws).stdout)
    assert care[0]["close_rate"] is None and care[0]["close_rate_n"] == 0
    table = run("scorecard", "--where", "outcome!=sale", "--metrics", "close_rate", cwd=ws)
    assert "n/a" in table.stdout and "0.0%" not in table.stdout and "cannot be measured" in table.stderr
