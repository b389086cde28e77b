"""The leads pipeline on the demo operation: planted duplicates found, scorer beats source-only.

The demo's leads carry ``true_person`` (who is behind each row) and lead quality that
depends on source, product and the lead's age when first called, so both deduplication
and scoring can be checked against what was planted.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
from typer.testing import CliRunner

from closeloop.cli.app import app
from closeloop.leads.linkage import pairwise_quality


def _run(root: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["leads", *args, "-w", str(root)])
    assert result.exit_code == 0, result.output
    return result.output


def test_dedupe_and_scoring_on_the_demo(small_demo: tuple[Path, str]) -> None:
    root, _ = small_demo
    _run(root, "clean")
    _run(root, "dedupe")
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT c.cluster_id, l.true_person FROM lead_clusters c JOIN leads l USING (lead_id)").fetchall()
        n_leads = con.execute("SELECT count(*) FROM leads").fetchone()[0]
    assert len(rows) == n_leads  # every lead is in exactly one cluster (lineage kept)
    cluster = np.unique([r[0] for r in rows], return_inverse=True)[1]
    truth = np.unique([r[1] for r in rows], return_inverse=True)[1]
    quality = pairwise_quality(cluster, truth)
    assert quality["true_pairs"] > 50
    assert quality["precision"] >= 0.98 and quality["recall"] >= 0.9, quality

    out = _run(root, "score", "--format", "json")
    report = {r["name"]: r for r in json.loads(out[out.index("["):])}
    gain = report["model - baseline (AUC)"]
    assert gain["auc_low"] > 0, report  # held-out AUC beats the source-only baseline beyond noise
