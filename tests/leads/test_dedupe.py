"""Deduplication by Fellegi–Sunter linkage: quality on planted duplicates, lineage, survivorship."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from closeloop.errors import InputError
from closeloop.leads.clean import CleanRules, clean_leads
from closeloop.leads.dedupe import dedupe_leads
from closeloop.leads.linkage import pairwise_quality
from closeloop.leads.synthetic import synthetic_leads


@pytest.fixture(scope="module")
def planted() -> tuple[pa.Table, pa.Table]:
    raw = synthetic_leads(20_000, dup_rate=0.06, seed=11)
    return raw, clean_leads(raw, CleanRules(default_country="US"))


def test_precision_and_recall_on_planted_duplicates(planted: tuple[pa.Table, pa.Table]) -> None:
    raw, cleaned = planted
    result = dedupe_leads(cleaned)
    truth = dict(zip(raw.column("lead_id").to_pylist(), raw.column("true_person").to_pylist(), strict=True))
    got = result.clusters.to_pydict()
    quality = pairwise_quality(np.array(got["cluster_id"]), np.array([truth[x] for x in got["lead_id"]]))
    assert quality["true_pairs"] > 1000
    assert quality["precision"] >= 0.98
    assert quality["recall"] >= 0.95


def test_lineage_covers_every_source_row_once(planted: tuple[pa.Table, pa.Table]) -> None:
    _, cleaned = planted
    result = dedupe_leads(cleaned)
    members = result.clusters.column("lead_id").to_pylist()
    assert sorted(members) == sorted(cleaned.column("lead_id").to_pylist())
    lineage = [x for ids in result.merged.column("lead_ids").to_pylist() for x in ids.split(",")]
    assert sorted(lineage) == sorted(members)
    assert result.merged.num_rows == result.stats["clusters"]
    masters = result.clusters.filter(result.clusters.column("is_master")).column("lead_id").to_pylist()
    assert sorted(masters) == sorted(result.merged.column("lead_id").to_pylist())


def _lead(lead_id: str, minutes: int, **fields: object) -> dict[str, object]:
    base = {"lead_id": lead_id, "created_at": datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
            "source": "web_form", "name": None, "phone": None, "email": None, "company": None, "product": None,
            "country": "US"}
    return {**base, **fields}


def test_survivorship_majority_then_newest() -> None:
    rows = [
        _lead("a", 0, name="Ann Lee", phone="+12125550100", email="ann@acme.com", company="Acme", source="partner"),
        _lead("b", 5, name="ANN LEE", phone="(212) 555-0100", email="ann@acme.com", product="plus"),
        _lead("c", 9, name="Lee, Ann", phone="+12125550199", email="ann@acme.com", company="Acme Inc.",
              product="premium"),
    ]
    # background population so that u-probabilities are meaningful
    rows += [_lead(f"z{i}", 100 + i, name=f"Person {i}", phone=f"+1212555{1000 + i}", email=f"p{i}@x{i}.com")
             for i in range(300)]
    result = dedupe_leads(clean_leads(pa.Table.from_pylist(rows)), random_pairs=20_000)
    merged = {r["lead_id"]: r for r in result.merged.to_pylist()}
    assert "b" not in merged and "c" not in merged
    ann = merged["a"]
    assert ann["n_records"] == 3 and ann["lead_ids"] == "a,b,c"
    assert ann["phone"] == "+12125550100"  # 2 of 3 records agree
    assert ann["product"] == "premium"  # newest interest
    assert ann["company"] == "Acme Inc"  # tie on frequency -> longest (trailing dot tidied)
    assert ann["source"] == "partner" and ann["sources"] == "partner,web_form"  # first touch gets the credit
    assert ann["created_at"] == rows[0]["created_at"]  # speed-to-lead counts from the first contact


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="threshold"):
        dedupe_leads(pa.table({"lead_id": ["a"]}), threshold=1.5)
    with pytest.raises(InputError, match="leads clean"):
        dedupe_leads(pa.table({"lead_id": ["a"]}))
