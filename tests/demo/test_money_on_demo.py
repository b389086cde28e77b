"""The demo's prices answer "cheapest per hour" and "cheapest per sale" differently.

The offshore vendor bills the lowest hourly rate but closes the fewest sales: cheapest per
handled hour, not per sale. The report's Money section says so, from the same numbers.
"""

from __future__ import annotations

from pathlib import Path

from closeloop.contracts import parse_contracts
from closeloop.metrics import Conventions, Tables
from closeloop.report import ReportContext
from closeloop.report.money import MoneySection, cheapest, money_rows
from closeloop.warehouse import Warehouse


def test_cheapest_hour_is_not_the_cheapest_sale(small_demo: tuple[Path, str]) -> None:
    root, _ = small_demo
    contracts = parse_contracts((root / "contracts.toml").read_text(encoding="utf-8"))
    assert {c.name.split(" ")[0] for c in contracts if c.price} == {"In-house", "Harborline", "Andina", "Cobalt"}
    wh = Warehouse(str(root / "warehouse.duckdb"), read_only=True)
    try:
        ctx = ReportContext(Tables.from_backend(wh.ibis()), Conventions(), contracts=contracts)
        rows = money_rows(ctx)
        assert {r["vendor"] for r in rows} == {"in-house", "harborline", "andina"}
        assert cheapest(rows, "cost_per_hour") == "harborline"
        assert cheapest(rows, "cost_per_sale") != "harborline"
        result = MoneySection().build(ctx)
    finally:
        wh.close()
    assert result is not None and "cheapest per sale" in result.summary[0]
    assert "cheapest sale is" in result.html
