"""Claims past their lease go back to the queue on the next claim, counted and logged (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from closeloop.errors import InputError
from closeloop.ops import LeadQueue, OpsStore
from tests.ops.test_queue import T0, leads


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsStore]:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with OpsStore(url, pool_size=4) as s:
        yield s


def test_a_crashed_claimers_lead_is_released_by_the_next_claim(
    store: OpsStore, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = LeadQueue(store)  # an agent (or a whole dialer) that claimed, then died
    crashed.enqueue("c", leads(1), at=T0)
    held = crashed.claim("c", "ann", at=T0)[0]
    survivor = LeadQueue(store, lease=timedelta(minutes=30))
    assert survivor.claim("c", "bob", at=T0 + timedelta(minutes=29)) == []  # within the lease: still held
    assert survivor.released == 0
    with caplog.at_level(logging.WARNING, logger="closeloop.ops.queue"):
        first = survivor.claim("c", "bob", at=T0 + timedelta(minutes=31))
    assert survivor.released == 1
    assert "released 1 claim(s)" in caplog.text
    # SQLite releases and claims in one transaction; PostgreSQL's statement releases before its
    # snapshot can see it, so the lead is handed out by the next claim.
    got = first or survivor.claim("c", "bob", at=T0 + timedelta(minutes=32))
    assert [g["id"] for g in got] == [held["id"]] and got[0]["claimed_by"] == "bob"
    assert survivor.claim("c", "bob", at=T0 + timedelta(minutes=40)) == []
    assert survivor.released == 1  # counted once, not on every later claim


def test_lease_must_be_positive(store: OpsStore) -> None:
    with pytest.raises(InputError, match="lease"):
        LeadQueue(store, lease=timedelta(0))
