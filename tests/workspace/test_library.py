"""The application layer as a library user meets it: one Workspace, results with declared columns."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import closeloop
from closeloop.errors import ConfigError, EmptySelectionError, InputError
from closeloop.results import Result

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _check(result: Result) -> list[dict]:
    """Every declared column in every row, the Arrow schema as declared, exports agree."""
    rows = result.rows()
    assert result.to_arrow().schema.names == result.schema.names
    for f, c in zip(result.to_arrow().schema, result.schema.columns, strict=True):
        assert f.type == c.arrow_type, (c.name, f.type)
        assert c.doc, f"column {c.name} has no meaning declared"
    for r in rows:
        assert list(r) == result.schema.names
    header = result.to_csv().splitlines()[0]
    assert header.split(",") == result.schema.names or '"' in header
    return rows


def test_public_api_is_curated() -> None:
    # the names a user may rely on; adding one is a decision, removing one a breaking change
    assert {"open", "init", "Workspace", "Result", "Schema", "Column", "staff", "simulate"} <= set(closeloop.__all__)
    for name in closeloop.__all__:
        assert hasattr(closeloop, name), name
    assert len(set(closeloop.__all__)) == len(closeloop.__all__)


def test_every_use_case_returns_a_declared_table(demo_root: Path, tmp_path: Path) -> None:
    ws = closeloop.open(demo_root)
    assert isinstance(ws, closeloop.Workspace) and ws.root == demo_root.resolve()
    status = {r["table"]: r for r in _check(ws.status())}
    assert status["calls"]["rows"] > 1000 and status["calls"]["rejected"] > 0  # the demo plants bad rows
    assert len(_check(ws.rejects())) == sum(r["rejected"] for r in status.values())
    card = ws.scorecard(by=["center_id"], grain="week", metrics=["close_rate", "offered"])
    rows = _check(card)
    assert {"close_rate_low", "close_rate_high", "close_rate_sig", "close_rate_p"} <= set(card.columns)
    assert all(r["close_rate_low"] <= r["close_rate"] <= r["close_rate_high"] for r in rows if r["close_rate"])
    assert card.tests and isinstance(card.notes, list)
    gap = ws.explain_gap("vendor", "harborline", "in-house")
    (g,) = _check(gap)
    assert g["gap"] == pytest.approx(g["rate_a"] - g["rate_b"])
    assert g["gap"] == pytest.approx(g["mix"] + g["performance"], abs=1e-9)
    _check(gap.levels)
    modes = _check(ws.explain_modes())
    assert {r["by"] for r in modes} == {"previous", "position"}
    _check(ws.explain_volume())
    sla = ws.sla_check()
    _check(sla)
    assert sla.failed == sum(r["status"] == "fail" for r in sla.rows())
    _check(ws.sla_check(summary=True))
    _check(ws.sla_terms())
    pats = _check(ws.patterns())
    assert pats and all(r["center_id"] is None for r in pats)
    _check(ws.patterns(by_center=True))
    _check(ws.phrases())
    out = tmp_path / "r.html"
    rep = ws.report(out)
    assert out.read_text(encoding="utf-8").lower().startswith("<!doctype html") and rep.size_bytes == out.stat().st_size
    assert rep.summary


def test_scorecard_equals_the_metric_core(demo_root: Path) -> None:
    """The library adds columns, never changes numbers: every value equals the core's scorecard."""
    from closeloop.metrics import ScorecardRequest, Selection, Tables, scorecard
    from closeloop.warehouse import open_warehouse

    ws = closeloop.open(demo_root)
    card = ws.scorecard(by="vendor", grain="week")
    with open_warehouse(ws.settings, read_only=True) as wh:
        core = scorecard(Tables.from_backend(wh.ibis()), ws.conventions(),
                         ScorecardRequest(Selection(by=("vendor",)), grain="week"))
    assert len(core.rows) == len(card)
    for mine, theirs in zip(card.rows(), core.rows, strict=True):
        for k, v in theirs.items():
            if k.endswith("_ci"):
                assert [mine[f"{k[:-3]}_low"], mine[f"{k[:-3]}_high"]] == v
            elif isinstance(v, float):
                assert mine[k] == pytest.approx(v, rel=1e-12)
            else:
                assert mine[k] == v, k


def test_one_group_in_the_first_period_still_has_every_column(demo_root: Path) -> None:
    # the last partial week of the demo has calls of one center only: its rows lack nothing
    card = closeloop.open(demo_root).scorecard(by="center_id", grain="week")
    rows = _check(card)
    last = max(r["period"] for r in rows)
    assert any(r["period"] == last for r in rows)
    text = card.to_csv()
    assert len({len(line.split(",")) for line in text.splitlines() if '"' not in line}) == 1


def test_exports_round_trip(demo_root: Path, tmp_path: Path) -> None:
    card = closeloop.open(demo_root).scorecard(by="vendor")
    table = pq.read_table(card.to_parquet(tmp_path / "card.parquet"))
    assert table.equals(card.to_arrow())
    assert table.schema.field("close_rate").metadata[b"doc"].startswith(b"Sales")
    frame = card.to_pandas()
    assert list(frame.columns) == card.columns and len(frame) == len(card)
    card.to_csv(tmp_path / "card.csv")
    assert (tmp_path / "card.csv").read_text(encoding="utf-8") == card.to_csv()
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary file


def test_conf_changes_intervals_and_verdicts(demo_root: Path) -> None:
    ws = closeloop.open(demo_root)
    narrow, wide = (ws.scorecard(by="vendor", metrics="close_rate", conf=c) for c in (0.8, 0.99))
    for a, b in zip(narrow.rows(), wide.rows(), strict=True):
        assert b["close_rate_low"] < a["close_rate_low"] and a["close_rate_high"] < b["close_rate_high"]
    assert "99%" in wide.schema.columns[wide.columns.index("close_rate_low")].doc
    with pytest.raises(InputError):
        ws.scorecard(conf=1.5)


def test_library_errors_are_ours(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="closeloop init"):
        closeloop.open(tmp_path)
    ws = closeloop.init(tmp_path / "new")
    with pytest.raises(InputError, match="unknown record"):
        ws.ingest("orders", EXAMPLES / "data" / "calls.csv")
    with pytest.raises(EmptySelectionError):
        ws.leads.clean()
    with pytest.raises(EmptySelectionError, match="leads_merged"):
        ws.leads.score()
    bad = ws.sql("SELECT 1 AS x")
    assert bad.rows() == [{"x": 1}]


def test_ingest_result_and_lead_pipeline(tmp_path: Path) -> None:
    ws = closeloop.init(tmp_path / "ws")
    res = ws.ingest("centers", EXAMPLES / "data" / "centers.csv")
    (row,) = res.rows()
    assert row["read"] == row["loaded"] + row["rejected"] and json.loads(row["orphans"]) == {}
    many = ws.ingest("calls", [EXAMPLES / "data" / "calls.csv"])
    assert len(many) == 1 and many.rows()[0]["rejected"] == 2


def test_staff_names_its_waits_and_handles_no_calls() -> None:
    none = closeloop.staff(calls_per_hour=0, aht_s=300)
    (row,) = none.rows()
    assert row["agents"] == 0 and row["service_level"] == 1.0
    a = closeloop.staff(calls_per_hour=240, aht_s=360, patience_s=120)
    for r in a.rows():
        assert r["asa_s"] < r["mean_wait_s"]  # abandoners waited too; answered callers waited less
    c = closeloop.staff(calls_per_hour=240, aht_s=360)
    assert all(r["asa_s"] == r["mean_wait_s"] for r in c.rows() if r["stable"])
    assert next(r["agents"] for r in c.rows() if r["meets_target"]) == c.required


def test_simulate_returns_long_results_with_differences() -> None:
    scenario = EXAMPLES / "scenarios" / "blended_week.toml"
    res = closeloop.simulate(scenario, replications=2, compare="global_order", workers=1)
    rows = _check(res)
    diffs = [r for r in rows if r["verdict"] is not None]
    assert diffs and all(" minus " in r["policy"] for r in diffs)
    assert all(r["low"] <= r["value"] <= r["high"] for r in rows if r["verdict"] is None and r["low"] is not None)


def test_result_rejects_undeclared_columns() -> None:
    from closeloop.results import schema_of

    with pytest.raises(ValueError, match="undeclared"):
        Result.from_rows(schema_of("x", [("a", "int", "a")]), [{"a": 1, "b": 2}])
    r = Result.from_rows(schema_of("x", [("a", "float", "a")]), [{"a": float("nan")}, {}])
    assert r.rows() == [{"a": None}, {"a": None}]
    assert pa.types.is_float64(r.to_arrow().schema.field("a").type)


class _Recorder:
    """A Progress that remembers what long work told it."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.updates: list[tuple[float, float | None]] = []

    def step(self, name: str, total: float | None = None) -> None:
        self.steps.append(name)

    def update(self, done: float, total: float | None = None) -> None:
        self.updates.append((done, total))


def test_long_work_reports_progress(demo_copy: Path) -> None:
    ws = closeloop.open(demo_copy)
    sim = _Recorder()
    closeloop.simulate(EXAMPLES / "scenarios" / "mmc.toml", replications=3, workers=1, progress=sim)
    assert sim.steps and sim.updates[-1] == (3, 3)
    report = _Recorder()
    (demo_copy / "calls-extra.csv").write_text(
        "call_id,center_id,queue,direction,call_type,offered_at,answered_at,ended_at,agent_id,lead_id,outcome\n"
        "x1,us-chi,sales_in,inbound,sales,2026-01-06T15:00:00Z,2026-01-06T15:00:05Z,2026-01-06T15:04:00Z,,,no_sale\n",
        encoding="utf-8")
    ws.ingest("calls", demo_copy / "calls-extra.csv", progress=report)
    ws.report(demo_copy / "r.html", progress=report)  # new data: the facts are rebuilt first
    assert any("call facts" in s for s in report.steps) and any("report" in s for s in report.steps)
    leads = _Recorder()
    ws.leads.clean(progress=leads)
    assert leads.steps == [f"cleaning {ws.status().rows()[2]['rows']:,} leads"]
