"""The vendor review pack: scoped to one vendor, trend since the contract start, ramp-up marked."""

from datetime import date

import pytest

from closeloop.contracts import parse_contracts
from closeloop.errors import ScenarioError
from closeloop.metrics import Conventions, Selection, Tables, parse_filter
from closeloop.report import ReportContext, render_report
from closeloop.report.vendor import VendorReview, latest_period, review_vendor, vendor_contracts
from tests.metrics.fixtures import small_warehouse

CONTRACTS = """
[[contract]]
name = "acme"
scope = { vendor = "acme" }
period = "week"
start = 2024-02-01
[contract.price]
per_call = 2.0
[[contract.term]]
metric = "sales"
target = 1
direction = "at_least"
bonus = 40.0

[[contract]]
name = "own"
scope = { vendor = "in-house" }
[contract.price]
per_call = 1.0
"""


@pytest.fixture(scope="module")
def tables():
    wh = small_warehouse()
    yield Tables.from_backend(wh.ibis())
    wh.close()


def test_contract_start_and_ramp_up():
    acme, own = parse_contracts(CONTRACTS)
    assert acme.start == date(2024, 2, 1) and own.start is None
    assert acme.ramp_up(date(2024, 4, 30)) and not acme.ramp_up(date(2024, 5, 1)) and not own.ramp_up(date(2024, 3, 1))
    with pytest.raises(ScenarioError, match="TOML date"):
        parse_contracts(CONTRACTS.replace("start = 2024-02-01", 'start = "Feb 1"'))


def test_review_is_shown_only_for_one_vendor_with_its_contracts(tables):
    contracts = parse_contracts(CONTRACTS)
    assert [c.name for c in vendor_contracts(contracts, "acme")] == ["acme"]
    assert review_vendor(Selection(filters=(parse_filter("vendor=acme"),))) == "acme"
    assert review_vendor(Selection(filters=(parse_filter("vendor=acme|in-house"),))) is None
    assert VendorReview().build(ReportContext(tables, Conventions(), Selection(), contracts)) is None


def test_review_shows_weekly_cost_ramp_up_and_sla_money(tables):
    ctx = ReportContext(tables, Conventions(), Selection(filters=(parse_filter("vendor=acme"),)),
                        vendor_contracts(parse_contracts(CONTRACTS), "acme"))
    result = VendorReview().build(ctx)
    assert result is not None
    # acme's calls are all in the week of 2024-03-04: six calls, three handled at 2.00, two sales -> bonus 40
    assert "2024-03-04" in result.html and "6.00" in result.html and "40.00" in result.html
    assert "ramp-up" in result.html and "since 2024-02-01" in result.summary[0]
    assert latest_period(ctx, "week") == (date(2024, 3, 4), date(2024, 3, 10))
    page = render_report(ctx).html
    assert page.index("Vendor review") < page.index("Money")


def test_cli_writes_the_vendor_pack_for_the_latest_week(tmp_path):
    from closeloop.settings import init_workspace
    from tests.contracts.test_check import run

    settings = init_workspace(tmp_path)
    small_warehouse(str(settings.warehouse_path())).close()
    (tmp_path / "contracts.toml").write_text(CONTRACTS)
    out = run("report", "--vendor", "acme", "--period", "week", "-o", "acme.html", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "acme.html").read_text()
    assert "<title>Vendor review: acme</title>" in page and "vendor=acme" in page
    assert "in-house" not in page  # nobody else's numbers in a vendor's pack
