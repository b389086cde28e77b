"""Stored per-call facts: the same scorecards as on the fly, and rebuilt after new data."""

from datetime import date

import pytest

from closeloop.ingest import ingest_file
from closeloop.metrics import DEFAULT_METRICS, Conventions, ScorecardRequest, Selection, Tables, parse_filter, scorecard
from closeloop.metrics.facts import facts_current, load_facts
from closeloop.model import AGENTS, CALLS, CENTERS, LEADS
from closeloop.warehouse import Warehouse
from closeloop.warehouse.facts import build_facts
from tests.metrics.fixtures import load, small_warehouse
from tests.metrics.test_reference import _operation

CONV = Conventions()
REQUESTS = [
    ScorecardRequest(Selection(by=("center_id",)), grain="week"),
    ScorecardRequest(Selection(by=("agent_id",))),
    ScorecardRequest(Selection(by=("vendor", "source")), grain="day"),
    ScorecardRequest(Selection(by=("queue",), filters=(parse_filter("direction=inbound"),),
                               start=date(2026, 3, 5), end=date(2026, 3, 20)), grain="month"),
    ScorecardRequest(Selection(by=("team", "hour"))),
    ScorecardRequest(Selection(), adjust_for=("source",)),
]


def _rows(wh: Warehouse, req: ScorecardRequest, facts: bool) -> list[dict]:
    tables = Tables.from_backend(wh.ibis(), facts=facts)
    assert (tables.facts is not None) == facts
    return scorecard(tables, CONV, req).rows


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            floats = ra[k] if isinstance(ra[k], list) else [ra[k]]
            if floats and isinstance(floats[0], float):
                assert ra[k] == pytest.approx(rb[k], rel=1e-9, abs=1e-12), k
            else:
                assert ra[k] == rb[k], k


@pytest.fixture(scope="module")
def operation_wh():
    data = _operation(seed=11, n_calls=1500)
    wh = Warehouse(":memory:")
    for name, schema in (("centers", CENTERS), ("agents", AGENTS), ("leads", LEADS), ("calls", CALLS)):
        load(wh, name, data[name], schema.arrow_schema())
    build_facts(wh.ibis(), CONV)
    yield wh
    wh.close()


@pytest.mark.parametrize("req", REQUESTS, ids=lambda r: ",".join(r.selection.by) or "all")
def test_stored_facts_give_the_on_the_fly_scorecard(operation_wh, req):
    stored = _rows(operation_wh, req, facts=True)
    assert stored, "the request selects calls"
    _same(stored, _rows(operation_wh, req, facts=False))


def test_small_fixture_same_every_metric():
    wh = small_warehouse()
    build_facts(wh.ibis(), CONV)
    for by in (("center_id",), ("agent_id",), ()):
        req = ScorecardRequest(Selection(by=by), grain="week", metrics=DEFAULT_METRICS)
        _same(_rows(wh, req, facts=True), _rows(wh, req, facts=False))


def test_facts_follow_the_conventions():
    wh = small_warehouse()
    build_facts(wh.ibis(), CONV)
    assert facts_current(wh.ibis(), CONV)
    other = Conventions(repeat_contact_days=1)
    assert not facts_current(wh.ibis(), other)
    # stored facts for 7 days do not answer a 1-day repeat question: computed on the fly instead
    req = ScorecardRequest(metrics=("repeat_rate",))
    (row,) = scorecard(Tables.from_backend(wh.ibis()), other, req).rows
    assert row["repeat_rate"] == 0.0  # L4's second care call came 2 days later
    (row,) = scorecard(Tables.from_backend(wh.ibis()), CONV, req).rows
    assert row["repeat_rate"] == pytest.approx(1 / 2)


def test_facts_are_stale_after_an_ingest_and_rebuilt(tmp_path):
    wh = small_warehouse(str(tmp_path / "w.duckdb"))
    build_facts(wh.ibis(), CONV)
    req = ScorecardRequest(metrics=("handled", "first_call_close"))
    (before,) = _rows(wh, req, facts=True)
    extra = tmp_path / "calls.csv"
    extra.write_text(
        "call_id,center_id,queue,direction,call_type,offered_at,answered_at,ended_at,agent_id,lead_id,outcome\n"
        "n1,C1,sales-q,inbound,sales,2024-03-01T09:00:00Z,2024-03-01T09:00:10Z,2024-03-01T09:05:00Z,A1,L2,sale\n"
    )
    ingest_file(wh, "calls", extra)
    assert load_facts(wh.ibis()) is None  # the new ingest makes the stored facts stale
    build_facts(wh.ibis(), CONV)
    (after,) = _rows(wh, req, facts=True)
    assert after["handled"] == before["handled"] + 1
    # L2's first handled sales call is now the new sale (c2 was its first before, no sale)
    assert after["first_call_close"] > before["first_call_close"]
    _same([after], _rows(wh, req, facts=False))
    wh.close()


def test_scorecard_command_builds_the_facts_once(tmp_path):
    import json
    import subprocess
    import sys

    from closeloop.settings import init_workspace

    settings = init_workspace(tmp_path)
    small_warehouse(str(settings.warehouse_path())).close()
    with Warehouse(settings.warehouse_path(), read_only=True) as wh:
        assert load_facts(wh.ibis()) is None
    args = [sys.executable, "-m", "closeloop", "scorecard", "--by", "center_id", "--period", "2024-W10", "-f", "json"]
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with Warehouse(settings.warehouse_path(), read_only=True) as wh:
        assert load_facts(wh.ibis()) is not None
        req = ScorecardRequest(Selection(by=("center_id",), start=date(2024, 3, 4), end=date(2024, 3, 10)))
        from closeloop.workspace.analysis import flatten

        expected = json.loads(json.dumps([flatten(r) for r in _rows(wh, req, facts=False)], default=str))
    got = json.loads(r.stdout)
    assert len(got) == len(expected)
    for mine, core in zip(got, expected, strict=True):
        assert {k: mine[k] for k in core} == core  # the same numbers as the core ...
        assert all(mine[k] is None for k in set(mine) - set(core))  # ... every other declared column null
