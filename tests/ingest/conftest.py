"""Fixtures for ingestion tests: a fresh warehouse and helpers to write small files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from closeloop.ingest import ingest_file
from closeloop.warehouse import Warehouse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"

CALL_HEADER = [
    "call_id", "center_id", "queue", "direction", "call_type", "offered_at", "answered_at", "ended_at",
    "agent_id", "lead_id", "hold_s", "wrap_s", "outcome", "order_value", "csat",
]

GOOD_CALL = {
    "call_id": "C1", "center_id": "AUS", "queue": "sales_inbound", "direction": "inbound", "call_type": "sales",
    "offered_at": "2026-07-01T09:00:00", "answered_at": "2026-07-01T09:00:10", "ended_at": "2026-07-01T09:05:00",
    "agent_id": "A001", "lead_id": "L001", "hold_s": "5", "wrap_s": "30", "outcome": "sale", "order_value": "100",
    "csat": "5",
}


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    """An empty warehouse with the example centers loaded (so timezones resolve)."""
    w = Warehouse(tmp_path / "w.duckdb")
    ingest_file(w, "centers", EXAMPLES / "centers.csv")
    yield w
    w.close()


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None, delimiter: str = ",") -> Path:
    """Write rows as a CSV with a header row."""
    header = header or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, delimiter=delimiter, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def call(**overrides: str) -> dict[str, str]:
    """A valid answered sales call with some fields changed."""
    return {**GOOD_CALL, **overrides}
