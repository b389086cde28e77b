"""Clean intake: every lead comes out, incomplete ones flagged for enrichment."""

from datetime import UTC, datetime

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.errors import InputError
from closeloop.leads.clean import ENRICHMENT, READY, CleanRules, clean_leads, clean_summary
from closeloop.leads.synthetic import synthetic_leads

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)


def leads(rows: list[dict[str, object]]) -> pa.Table:
    base = {"lead_id": None, "created_at": T0, "source": "web_form", "name": None, "phone": None, "email": None,
            "company": None, "product": None, "country": None}
    return pa.Table.from_pylist([{**base, **r} for r in rows])


def test_rows_are_never_dropped_and_incomplete_go_to_enrichment() -> None:
    table = leads([
        {"lead_id": "a", "name": "ann lee", "phone": "(212) 555-0100", "email": "Ann@Acme.com", "country": "US"},
        {"lead_id": "b", "name": "Select", "phone": "N/A", "email": "b@acme.com"},
        {"lead_id": "c", "phone": "12345"},
    ])
    out = clean_leads(table, CleanRules(default_country="US")).to_pylist()
    assert [r["lead_id"] for r in out] == ["a", "b", "c"]
    a, b, c = out
    assert (a["phone"], a["email"], a["name"], a["status"]) == ("+12125550100", "ann@acme.com", "Ann Lee", READY)
    assert b["status"] == ENRICHMENT and b["missing"] == "phone" and b["phone_status"] == "placeholder"
    assert b["name"] is None
    assert c["phone_status"] == "invalid" and c["status"] == ENRICHMENT


def test_completeness_is_the_weighted_share_of_fields_present() -> None:
    table = leads([
        {"lead_id": "full", "name": "Ann Lee", "phone": "+12125550100", "email": "ann@acme.com", "company": "Acme",
         "product": "plus", "country": "US"},
        {"lead_id": "phone_only", "phone": "+12125550100"},
    ])
    full, phone_only = clean_leads(table).to_pylist()
    assert full["completeness"] == pytest.approx(1.0)
    # phone (0.35) + country inferred from the international number (0.05)
    assert phone_only["completeness"] == pytest.approx(0.40)
    assert phone_only["country"] == "US"


def test_campaign_requirements_and_extras() -> None:
    table = leads([{"lead_id": "x", "phone": "+447911123456", "email": None}]).append_column(
        "utm_campaign", pa.array(["spring"]))
    out = clean_leads(table, CleanRules(required=("phone", "email"))).to_pylist()[0]
    assert out["status"] == ENRICHMENT and out["missing"] == "email"
    assert out["utm_campaign"] == "spring"  # extra columns travel through


def test_bad_rules_are_refused() -> None:
    with pytest.raises(InputError, match="cannot require"):
        CleanRules(required=("fax",))
    with pytest.raises(InputError, match="ISO"):
        CleanRules(default_country="USA")
    with pytest.raises(InputError, match="lead_id"):
        clean_leads(pa.table({"source": ["x"]}))


def test_synthetic_defects_are_found() -> None:
    raw = synthetic_leads(3000, seed=3)
    cleaned = clean_leads(raw, CleanRules(default_country="US"))
    assert cleaned.num_rows == raw.num_rows
    summary = {(r["what"], r["value"]): r["count"] for r in clean_summary(cleaned)}
    assert summary[("phone", "placeholder")] > 0 and summary[("email", "invalid")] > 0
    assert summary[("status", "enrichment")] + summary[("status", "ready")] == 3000
    # the parallel path gives the same answer as the serial one
    assert clean_leads(raw, CleanRules(default_country="US"), jobs=2).equals(cleaned)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "name": st.one_of(st.none(), st.text(max_size=20)),
    "phone": st.one_of(st.none(), st.text(max_size=20), st.from_regex(r"\+?[0-9 ()-]{3,18}", fullmatch=True)),
    "email": st.one_of(st.none(), st.text(max_size=20), st.emails()),
    "company": st.one_of(st.none(), st.text(max_size=15)),
    "country": st.one_of(st.none(), st.sampled_from(["US", "GB", "fr", "XX", "", "N/A"])),
}), min_size=1, max_size=15))
def test_any_input_comes_out_row_for_row(rows: list[dict[str, object]]) -> None:
    table = leads([{"lead_id": f"x{i}", **r} for i, r in enumerate(rows)])
    out = clean_leads(table, CleanRules(default_country="US")).to_pylist()
    assert [r["lead_id"] for r in out] == [f"x{i}" for i in range(len(rows))]
    for r in out:
        assert 0.0 <= r["completeness"] <= 1.0
        assert r["status"] in (READY, ENRICHMENT) and (r["status"] == READY) == (r["phone"] is not None)
