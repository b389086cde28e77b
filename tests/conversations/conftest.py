"""Fixtures: a workspace holding seeded synthetic sales calls with planted conversation effects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from closeloop.conversations.synthetic import SyntheticCalls, synthetic_sales_calls
from closeloop.settings import Settings, init_workspace
from closeloop.warehouse import Warehouse, open_warehouse


def fill_warehouse(wh: Warehouse, data: SyntheticCalls) -> None:
    """Insert synthetic calls, leads and transcript turns straight into the canonical tables."""
    turns = [
        {"call_id": t.call_id, "turn": i, "speaker": u.speaker, "start_s": u.start, "end_s": u.end, "text": u.text}
        for t in data.transcripts for i, u in enumerate(t.turns)
    ]
    centers = [{"center_id": c, "vendor": "in-house" if c != "MNL" else "v-offshore", "country": cc, "timezone": "UTC"}
               for c, cc in (("MNL", "PH"), ("AUS", "US"), ("CLT", "US"))]
    for table, rows in (("centers", centers), ("calls", data.calls), ("leads", data.leads), ("transcripts", turns)):
        wh.con.register("__t", pa.Table.from_pylist(rows))
        wh.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM __t")
        wh.con.unregister("__t")


@pytest.fixture(scope="session")
def synthetic() -> SyntheticCalls:
    """3,000 sales calls, seed 11 (planted effects in closeloop.conversations.synthetic.PLANTED)."""
    return synthetic_sales_calls(3000, np.random.default_rng(11))


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory, synthetic: SyntheticCalls) -> Settings:
    """A workspace whose warehouse holds the synthetic calls (built once per session)."""
    root: Path = tmp_path_factory.mktemp("ws")
    settings = init_workspace(root)
    with open_warehouse(settings) as wh:
        fill_warehouse(wh, synthetic)
    return settings
