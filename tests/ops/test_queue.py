"""The lead work queue on SQLite and PostgreSQL: atomic claims, order, follow-up loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from closeloop.errors import ConfigError, InputError, StorageError
from closeloop.leads.followup import Action
from closeloop.ops import LeadQueue, OpsStore

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # a Tuesday, 10:00 in New York


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsStore]:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with OpsStore(url, pool_size=10) as s:
        yield s


def leads(n: int, **extra: object) -> list[dict[str, object]]:
    return [{"lead_id": f"L{i:05d}", "created_at": T0 - timedelta(minutes=n - i), "score": (i % 97) / 100,
             "tier": "ABCD"[i % 4], "reasons": ["source=web_form"], "phone": "+12125550100", **extra}
            for i in range(n)]


def test_every_lead_claimed_exactly_once_by_8_concurrent_workers(store: OpsStore) -> None:
    queue = LeadQueue(store)
    assert queue.enqueue("spring", leads(10_000), at=T0)["queued"] == 10_000
    taken: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        mine: list[str] = []
        try:
            while True:
                got = queue.claim("spring", name, at=T0)
                if not got:
                    break
                mine.extend(item["lead_id"] for item in got)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        taken[name] = mine

    threads = [threading.Thread(target=worker, args=(f"agent{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    everything = [lead for mine in taken.values() for lead in mine]
    assert len(everything) == 10_000
    assert len(set(everything)) == 10_000
    assert sum(1 for mine in taken.values() if mine) >= 2  # really concurrent
    assert queue.claim("spring", "late", at=T0) == []


def test_claim_order_escalated_then_score_then_age(store: OpsStore) -> None:
    queue = LeadQueue(store)
    queue.enqueue("c", [
        {"lead_id": "old_low", "created_at": T0 - timedelta(hours=3), "score": 0.1, "tier": "D"},
        {"lead_id": "new_high", "created_at": T0 - timedelta(minutes=1), "score": 0.9, "tier": "A"},
        {"lead_id": "old_high", "created_at": T0 - timedelta(minutes=2), "score": 0.9, "tier": "A"},
        {"lead_id": "mid", "created_at": T0 - timedelta(minutes=1), "score": 0.5, "tier": "B"},
    ], at=T0)
    assert [i["lead_id"] for i in queue.peek("c", at=T0)] == ["old_high", "new_high", "mid", "old_low"]
    # tier A waits at most 5 minutes, D a day: after 10 minutes both A leads are late, D is not
    assert queue.escalate_stalled(at=T0 + timedelta(minutes=10)) == 2
    assert queue.escalate_stalled(at=T0 + timedelta(minutes=10)) == 0  # only once
    assert queue.escalate_stalled(at=T0 + timedelta(hours=22)) == 2  # B, then D after 24 h since creation
    got = queue.claim("c", "a1", at=T0, count=2)
    assert [i["lead_id"] for i in got] == ["old_high", "new_high"] and all(i["escalated"] for i in got)


def test_enqueue_is_idempotent_and_skips_do_not_call(store: OpsStore) -> None:
    queue = LeadQueue(store)
    store.add_dnc(["+12125550199"], reason="asked")
    batch = [{"lead_id": "a", "created_at": T0, "phone": "+12125550100"},
             {"lead_id": "b", "created_at": T0, "phone": "+12125550199"}]
    assert queue.enqueue("c", batch, at=T0) == {"queued": 1, "already": 0, "dnc": 1}
    assert queue.enqueue("c", batch, at=T0) == {"queued": 0, "already": 1, "dnc": 1}


def test_follow_up_loop_rejoins_the_queue_and_closes(store: OpsStore) -> None:
    queue = LeadQueue(store)
    queue.enqueue("c", [{"lead_id": "x", "created_at": T0 - timedelta(minutes=3), "score": 0.4, "tier": "B",
                         "phone": "+12125550100"}], at=T0)
    first = queue.claim("c", "ann", at=T0)[0]
    assert first["timezone"] == "America/New_York"
    result = queue.record_attempt(first["id"], "no_sale", at=T0 + timedelta(minutes=5), interested=True)
    assert result.decision.action is Action.SCHEDULE and result.decision.attempt_no == 2
    due = result.decision.due_at
    assert due == T0 + timedelta(days=1, minutes=5)  # 24 h later, inside 09:00-20:00 New York
    assert queue.claim("c", "bob", at=due - timedelta(minutes=1)) == []  # not before it is due
    second = queue.claim("c", "bob", at=due)[0]
    assert (second["lead_id"], second["attempt_no"]) == ("x", 2)
    closing = queue.record_attempt(second["id"], "sale", at=due + timedelta(minutes=7))
    assert closing.decision.action is Action.CLOSE and closing.followup_item_id is None
    attempts = queue.attempts("c")
    assert [a["attempt_no"] for a in attempts] == [1, 2]
    assert attempts[0]["attempted_at"] - attempts[0]["lead_created_at"] == timedelta(minutes=8)  # speed-to-lead
    assert [f["action"] for f in queue.followups("c")] == ["schedule", "close"]
    assert queue.followups("c", pending_only=True) == []


def test_dnc_added_later_stops_the_loop(store: OpsStore) -> None:
    queue = LeadQueue(store)
    queue.enqueue("c", [{"lead_id": "x", "created_at": T0, "phone": "+12125550100"}], at=T0)
    item = queue.claim("c", "ann", at=T0)[0]
    store.add_dnc(["+12125550100"])
    result = queue.record_attempt(item["id"], "callback", at=T0)
    assert result.decision.action is Action.STOP and result.decision.reason == "do_not_call"
    assert queue.claim("c", "ann", at=T0 + timedelta(days=30)) == []


def test_expired_claims_go_back_and_records_need_a_claim(store: OpsStore) -> None:
    queue = LeadQueue(store)
    queue.enqueue("c", leads(1), at=T0)
    item = queue.claim("c", "ann", at=T0)[0]
    assert queue.release_expired(timedelta(minutes=30), at=T0 + timedelta(minutes=10)) == 0
    assert queue.release_expired(timedelta(minutes=30), at=T0 + timedelta(minutes=31)) == 1
    with pytest.raises(InputError, match="not claimed"):
        queue.record_attempt(item["id"], "sale", at=T0)
    again = queue.claim("c", "bob", at=T0 + timedelta(minutes=32))[0]
    assert again["id"] == item["id"] and again["claimed_by"] == "bob"
    with pytest.raises(InputError, match="unknown outcome"):
        queue.record_attempt(again["id"], "maybe")


def test_migrations_run_once(store: OpsStore) -> None:
    from closeloop.ops.migrations import MIGRATIONS

    assert store.version == MIGRATIONS[-1][0]
    with OpsStore(store.url) as again:
        assert again.version == MIGRATIONS[-1][0]


def test_bad_urls() -> None:
    with pytest.raises(ConfigError, match="in-memory"):
        OpsStore("sqlite://")
    with pytest.raises(ConfigError, match="supported"):
        OpsStore("mysql://x@y/z")


@pytest.mark.postgres
def test_prepared_postgres_claim_plan_walks_the_ready_index(pg_url: str) -> None:
    """The generic plan of the prepared claim must be an index walk, not a sort or a full scan.

    With ``LIMIT $n`` PostgreSQL's generic plan hash-joins a sequential scan of the table (40x
    slower); the claim writes its LIMIT as a literal so the generic plan stays the good one.
    """
    from closeloop.ops.queue import _pg_claim_sql

    with OpsStore(pg_url, pool_size=1) as store:
        LeadQueue(store).enqueue("c", leads(3000), at=T0)
        pooled = store.statement_engine.raw_connection()
        try:
            conn = pooled.driver_connection
            conn.execute("ANALYZE lead_queue")
            sql = _pg_claim_sql(1)
            conn.execute(f"PREPARE claim_plan (varchar, timestamptz, varchar, interval) AS {sql}")
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN EXECUTE claim_plan('c', now(), 'a', '30 minutes')"))
            conn.execute("DEALLOCATE claim_plan")
        finally:
            pooled.close()
    assert "ix_lead_queue_ready" in plan and "ix_lead_queue_claimed" in plan  # the lease check reads claims only
    assert "Seq Scan" not in plan and "Sort" not in plan and "Hash Join" not in plan


@pytest.mark.postgres
def test_postgres_claim_is_really_prepared_on_its_connection(pg_url: str) -> None:
    """The claim must run as a server-side prepared statement, parsed and planned once per connection.

    A claim that silently went back to a parse and plan per call (as when psycopg's
    ``prepare_threshold=None`` ignored ``prepare=True``) costs twice the server's CPU.
    """
    with OpsStore(pg_url, pool_size=1) as store:
        queue = LeadQueue(store)
        queue.enqueue("c", leads(3), at=T0)
        assert len(queue.claim("c", "ann", at=T0)) == 1
        assert len(queue.claim("c", "ann", at=T0)) == 1
        pooled = store.statement_engine.raw_connection()  # the one connection the claims ran on
        try:
            rows = pooled.driver_connection.execute(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%%SKIP LOCKED%%'").fetchall()
        finally:
            pooled.close()
    assert len(rows) == 1
    _statement, generic, custom = rows[0]
    assert generic >= 1 and custom == 0  # the session's plan_cache_mode: the generic plan from the first run


@pytest.mark.postgres
def test_postgres_claim_failure_is_a_storage_error_and_the_connection_is_dropped(pg_url: str) -> None:
    with OpsStore(pg_url, pool_size=1) as store:
        queue = LeadQueue(store)
        queue.enqueue("c", leads(2), at=T0)
        assert len(queue.claim("c", "ann", at=T0)) == 1  # prepared on this connection
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE lead_queue RENAME TO lead_queue_gone")
        with pytest.raises(StorageError, match="lead_queue"):
            queue.claim("c", "ann", at=T0)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE lead_queue_gone RENAME TO lead_queue")
        assert [i["lead_id"] for i in queue.claim("c", "bob", at=T0)] == ["L00000"]  # a fresh connection, prepared anew
