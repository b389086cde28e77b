"""The money commands end to end: scorecard cost metrics and explain outsource."""

import json
from pathlib import Path

import pytest

from closeloop.settings import init_workspace
from tests.contracts.test_check import run
from tests.metrics.fixtures import small_warehouse
from tests.metrics.test_cost import ACME, OWN, PRICES


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("money")
    settings = init_workspace(path)
    small_warehouse(str(settings.warehouse_path())).close()
    (path / "contracts.toml").write_text(PRICES)
    return path


def test_scorecard_selects_cost_metrics_priced_by_the_workspace_contracts(root):
    out = run("scorecard", "--by", "vendor", "--metrics", "cost,cost_per_sale,margin", "-f", "json", cwd=root)
    assert out.returncode == 0, out.stderr
    rows = {r["vendor"]: r for r in json.loads(out.stdout)}
    assert rows["acme"]["cost"] == pytest.approx(ACME) and rows["in-house"]["cost"] == pytest.approx(OWN)
    acme = rows["acme"]
    assert acme["cost_per_sale_low"] < acme["cost_per_sale"] < acme["cost_per_sale_high"]
    table = run("scorecard", "--by", "vendor", "--metrics", "cost_per_sale", cwd=root)
    assert f"{ACME / 2:,.2f} [" in table.stdout  # money with its interval, not a percentage


def test_cost_metrics_without_prices_exit_2_saying_what_to_add(root, tmp_path):
    empty = tmp_path / "none.toml"
    empty.write_text('[[contract]]\nname = "x"\nscope = { vendor = "acme" }\n[[contract.term]]\nmetric = "sales"\n'
                     'target = 1\ndirection = "at_least"\n')
    out = run("scorecard", "--metrics", "cost", "--contracts", str(empty), cwd=root)
    assert out.returncode == 2 and "[contract.price]" in out.stderr


def test_explain_outsource_prints_estimate_and_assumptions(root):
    out = run("explain", "outsource", "--segment", "vendor = 'acme' AND call_type = 'sales'", "--compare",
              "in-house,nobody", "--adjust-for", "source", "-f", "json", cwd=root)
    assert out.returncode == 0, out.stderr
    est = json.loads(out.stdout)
    assert est["today"]["handled_sales"] == 3 and est["today"]["sales"] == 2
    parties = [c["party"] for c in est["candidates"]]
    assert parties == ["in-house", "nobody"]
    inhouse = est["candidates"][0]
    assert "too little comparable history" in inhouse["flag"]  # one handled sales call of its own
    assert inhouse["contract"] == "own" and inhouse["cost_after"] is not None
    assert any("Erlang C" in a for a in est["assumptions"])
    table = run("explain", "outsource", "--segment", "vendor = 'acme'", "--to", "in-house", cwd=root)
    assert table.returncode == 0 and "assumptions:" in table.stderr and "1. in-house" in table.stdout


def test_explain_outsource_refuses_unsafe_segments(root):
    out = run("explain", "outsource", "--segment", "vendor = 'acme'; DROP TABLE calls", "--to", "x", cwd=root)
    assert out.returncode == 2 and "one condition" in out.stderr and "Traceback" not in out.stderr
