"""The demo command: a workspace built through ingestion, exact rejects, determinism, folder safety."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from closeloop.demo.build import FILES, MANIFEST, prepare_folder, write_files
from closeloop.demo.generate import generate
from closeloop.demo.params import DemoParams
from closeloop.errors import ConfigError, InputError


def test_cli_builds_workspace_and_report(small_demo: tuple[Path, str]) -> None:
    root, output = small_demo
    assert (root / "report.html").stat().st_size > 10_000
    assert "report:" in output and str(root) in output.replace("\n", "")
    assert "rejected" in output
    for name in FILES.values():
        assert (root / "data" / name).is_file()
    assert (root / "contracts.toml").is_file()
    html = (root / "report.html").read_text(encoding="utf-8")
    assert "harborline" in html and "SLA" in html


def test_rejects_are_exactly_the_planted_rows(small_demo: tuple[Path, str]) -> None:
    root, _ = small_demo
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    got = dict(con.execute("SELECT record, count(*) FROM rejects GROUP BY 1").fetchall())
    assert got == manifest["planted_rejects"] == {"calls": 6, "transcripts": 2}
    # the rejected calls are exactly the ids the manifest says were broken, and no other call is missing
    planted = sorted(i for ids in manifest["planted_reject_rows"].values() for i in ids)
    written = (root / "data" / "calls.csv").read_text(encoding="utf-8").count("\n") - 1
    loaded = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    assert loaded == written - len(planted)
    assert con.execute("SELECT count(*) FROM calls WHERE call_id IN (SELECT unnest(?))", [planted]).fetchone()[0] == 0
    lines = (root / "data" / "transcripts.jsonl").read_text(encoding="utf-8").count("\n")
    assert con.execute("SELECT count(DISTINCT call_id) FROM transcripts").fetchone()[0] == lines - 2
    # lead defects are not ingest rejects: every lead row is loaded, duplicates and all
    lead_rows = con.execute("SELECT count(*), count(DISTINCT true_person) FROM leads").fetchone()
    assert lead_rows[0] == manifest["facts"]["leads"] and lead_rows[1] < lead_rows[0]
    con.close()


def test_every_transcript_has_its_call_and_times_fit_the_call(small_demo: tuple[Path, str]) -> None:
    root, _ = small_demo
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    orphans, too_long, non_sales = con.execute("""
        SELECT count(*) FILTER (WHERE c.call_id IS NULL),
               count(*) FILTER (WHERE t.end_s > epoch(c.ended_at) - epoch(c.answered_at) + 1),
               count(*) FILTER (WHERE c.call_type <> 'sales' OR c.answered_at IS NULL)
        FROM transcripts t LEFT JOIN calls c USING (call_id)""").fetchone()
    assert (orphans, too_long, non_sales) == (0, 0, 0)
    con.close()


def _files(root: Path, seed: int) -> dict[str, bytes]:
    write_files(root, generate(DemoParams.for_scale("small", seed=seed), parallel=False), seed)
    return {n: (root / "data" / n).read_bytes() for n in FILES.values()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a, b = _files(tmp_path / "a", 3), _files(tmp_path / "b", 3)
    assert a == b
    c = _files(tmp_path / "c", 4)
    assert c["calls.csv"] != a["calls.csv"] and c["leads.csv"] != a["leads.csv"]


def test_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a demo workspace"):
        prepare_folder(tmp_path, force=True)
    assert (tmp_path / "notes.txt").exists()


def test_rebuilds_a_demo_only_with_force(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text("{}", encoding="utf-8")
    (tmp_path / "data").mkdir()
    with pytest.raises(ConfigError, match="--force"):
        prepare_folder(tmp_path, force=False)
    prepare_folder(tmp_path, force=True)
    assert list(tmp_path.iterdir()) == []
    prepare_folder(tmp_path / "new", force=False)  # a missing folder is fine


def test_unknown_scale_or_effect_is_refused() -> None:
    with pytest.raises(InputError, match="scale"):
        DemoParams.for_scale("huge")
    with pytest.raises(InputError, match="effect"):
        DemoParams.for_scale("small", confusion_strength=2.0)
