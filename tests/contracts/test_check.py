"""Judging terms on the hand fixture, and `closeloop sla check` exit codes for cron."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from closeloop.contracts import FAIL, NO_DATA, NOISE, PASS, check_contracts, parse_contracts, summarise
from closeloop.metrics import Conventions, Tables
from closeloop.settings import init_workspace
from tests.metrics.fixtures import small_warehouse


def contract(terms: str, scope: str = 'vendor = "acme"', judge: str = "point", period: str = "week") -> str:
    return f'[[contract]]\nname = "acme"\nscope = {{ {scope} }}\nperiod = "{period}"\njudge = "{judge}"\n' + terms


def term(metric: str, target: float, direction: str, min_volume: int = 0, penalty: float = 0.0) -> str:
    return (f'[[contract.term]]\nmetric = "{metric}"\ntarget = {target}\ndirection = "{direction}"\n'
            f"min_volume = {min_volume}\npenalty = {penalty}\n")


@pytest.fixture(scope="module")
def tables():
    wh = small_warehouse()
    yield Tables.from_backend(wh.ibis())
    wh.close()


def check(tables, text):
    return check_contracts(tables, Conventions(), parse_contracts(text))


def test_pass_fail_and_margin(tables):
    # acme (C1): close 2/3, service level 1/3 (c1 of c1 c2 c4), abandon 1/3
    res = {r.metric: r for r in check(tables, contract(
        term("close_rate", 0.5, "at_least") + term("service_level", 0.8, "at_least", penalty=100.0)
        + term("abandon_rate", 0.4, "at_most")
    ))}
    assert res["close_rate"].status == PASS and res["close_rate"].margin == pytest.approx(2 / 3 - 0.5)
    assert res["service_level"].status == FAIL and res["service_level"].margin == pytest.approx(1 / 3 - 0.8)
    assert res["abandon_rate"].status == PASS and res["abandon_rate"].margin == pytest.approx(0.4 - 1 / 3)
    assert res["close_rate"].period == date(2024, 3, 4)
    lo, hi = res["close_rate"].ci
    assert lo < 2 / 3 < hi
    (summary,) = summarise(list(res.values()))
    assert (summary["passed"], summary["failed"], summary["penalty"]) == (2, 1, 100.0)
    assert summary["score"] == pytest.approx(2 / 3)


def test_min_volume_gives_not_enough_data(tables):
    (r,) = check(tables, contract(term("close_rate", 0.9, "at_least", min_volume=4)))
    assert r.status == NO_DATA and r.n == 3


def test_ci_judge_fails_only_when_the_whole_interval_misses(tables):
    (noisy,) = check(tables, contract(term("close_rate", 0.9, "at_least"), judge="ci"))
    assert noisy.status == NOISE  # 2/3 with CI [0.21, 0.94] straddles 0.9
    (clear,) = check(tables, contract(term("close_rate", 0.99, "at_least"), judge="ci"))
    assert clear.status == FAIL


def test_scope_with_several_values_and_monthly_period(tables):
    text = contract(term("handled", 5, "at_least"), scope='center_id = ["C1", "C2"]', period="month")
    (r,) = check(tables, text)
    assert r.value == 6 and r.period == date(2024, 3, 1) and r.status == PASS


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_sla_check_exit_codes(tmp_path: Path):
    settings = init_workspace(tmp_path)
    small_warehouse(str(settings.warehouse_path())).close()
    (tmp_path / "contracts.toml").write_text(contract(term("close_rate", 0.5, "at_least")))
    ok = run("sla", "check", "--format", "json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["status"] == "pass"
    failing = tmp_path / "strict.toml"
    failing.write_text(contract(term("close_rate", 0.9, "at_least")))
    bad = run("sla", "check", "--contracts", str(failing), "--period", "2024-W10", cwd=tmp_path)
    assert bad.returncode == 1, bad.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text(contract(term("close_rate", 0.9, "upwards")))
    err = run("sla", "check", "--contracts", str(broken), cwd=tmp_path)
    assert err.returncode == 2 and "broken.toml" in err.stderr and "direction" in err.stderr
