"""Lead attributes: every type round-trips, bad values become rejects, the settings mapping applies."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.errors import ConfigError
from closeloop.leads.attribute_rules import AttributeType, KnownAt, parse_rules
from closeloop.leads.attributes import convert, infer_type, type_attributes
from closeloop.settings import init_workspace, load_settings

CANONICAL = {"lead_id", "created_at", "source"}


def leads(**extra: list[str | None]) -> pa.Table:
    n = len(next(iter(extra.values())))
    return pa.table({"lead_id": [f"L{i}" for i in range(n)], "source": ["web"] * n,
                     **{k: pa.array(v, pa.string()) for k, v in extra.items()}})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)), min_size=1,
                max_size=40).filter(lambda v: any(x is not None for x in v)))
def test_numbers_round_trip(values: list[float | None]) -> None:
    typed = type_attributes(leads(x=[None if v is None else repr(v) for v in values]), CANONICAL)
    assert typed.get("x").type is AttributeType.NUMBER
    back = typed.values.column("x").to_pylist()
    assert all((a is None and b is None) or math.isclose(a, b) for a, b in zip(values, back, strict=True))
    assert typed.rejects.num_rows == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.booleans()), min_size=2, max_size=30).filter(
    lambda v: {True, False} <= set(v)), st.sampled_from([("yes", "no"), ("TRUE", "false"), ("Y", "N"), ("1", "0")]))
def test_booleans_round_trip(values: list[bool | None], words: tuple[str, str]) -> None:
    text = [None if v is None else words[0] if v else words[1] for v in values]
    typed = type_attributes(leads(flag=text), CANONICAL)
    assert typed.get("flag").type is AttributeType.BOOLEAN
    assert typed.values.column("flag").to_pylist() == values


@settings(max_examples=40, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1)), min_size=1,
                max_size=20), st.sampled_from([0, 2, -5]))
def test_times_round_trip_with_and_without_offset(values: list[datetime], hours: int) -> None:
    values = [v.replace(microsecond=0) for v in values]
    zone = f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"
    text = [v.isoformat() + zone for v in values]
    typed = type_attributes(leads(at=text), CANONICAL)
    assert typed.get("at").type is AttributeType.TIME
    assert typed.values.column("at").to_pylist() == [(v - timedelta(hours=hours)).replace(tzinfo=UTC)
                                                     for v in values]


def test_time_without_offset_is_read_in_the_workspace_zone() -> None:
    typed = type_attributes(leads(at=["2025-07-01 09:30", "2025-01-15"]), CANONICAL, timezone="Europe/Paris")
    assert typed.values.column("at").to_pylist() == [datetime(2025, 7, 1, 7, 30, tzinfo=UTC),
                                                     datetime(2025, 1, 14, 23, 0, tzinfo=UTC)]


def test_category_and_text() -> None:
    origin = ["API", "Landing Page", "Import", None] * 50
    notes = [f"called back about order {i}, wants a quote" for i in range(200)]
    typed = type_attributes(leads(origin=origin, notes=notes), CANONICAL)
    assert typed.get("origin").type is AttributeType.CATEGORY
    assert typed.values.column("origin").to_pylist() == origin
    assert typed.get("notes").type is AttributeType.TEXT
    row = {r["name"]: r for r in typed.catalog().to_pylist()}["origin"]
    assert row["fill_rate"] == 0.75 and row["distinct"] == 3 and row["filled"] == 150


def test_bad_values_go_to_rejects_with_reasons() -> None:
    views = [str(i % 7) for i in range(100)]
    views[3], views[50] = "n/a", "lots"
    typed = type_attributes(leads(page_views=views), CANONICAL)
    assert typed.get("page_views").type is AttributeType.NUMBER and typed.get("page_views").rejected == 2
    rejects = typed.rejects.to_pylist()
    assert [(r["lead_id"], r["field"], r["value"]) for r in rejects] == [("L3", "page_views", "n/a"),
                                                                        ("L50", "page_views", "lots")]
    assert all("not a number" in r["reason"] for r in rejects)
    assert typed.values.column("page_views").to_pylist()[3] is None  # the lead kept, the value left empty


def test_inference_rules() -> None:
    assert infer_type(pa.array(["1", "2.5", "-3e2"])) is AttributeType.NUMBER
    assert infer_type(pa.array(["yes", "no", "yes"])) is AttributeType.BOOLEAN
    assert infer_type(pa.array(["0", "1", "2"])) is AttributeType.NUMBER  # not a yes/no once a 2 appears
    assert infer_type(pa.array([None, None], pa.string())) is AttributeType.TEXT
    values, bad = convert(pa.array(["x", None, "2"]), AttributeType.NUMBER)
    assert values.to_pylist() == [None, None, 2.0] and bad.to_pylist() == [True, False, False]


def test_settings_mapping_renames_retypes_and_excludes() -> None:
    rules = parse_rules({"tos": {"rename": "time_on_site", "type": "category"}, "secret": {"exclude": True},
                         "duration": {"known_at": "after_call"}}, "closeloop.toml")
    typed = type_attributes(leads(tos=["1", "2", "3"], secret=["a", "b", "c"], duration=["10", "20", "30"]),
                            CANONICAL, rules)
    assert typed.get("time_on_site").type is AttributeType.CATEGORY and typed.get("time_on_site").column == "tos"
    assert typed.excluded == ["secret"] and "secret" not in typed.values.column_names
    assert typed.get("duration").known_at is KnownAt.AFTER_CALL and typed.get("duration").declared


@pytest.mark.parametrize("section, message", [
    ({"x": {"type": "money"}}, "money"),
    ({"x": {"colour": "red"}}, "unknown key"),
    ({"x": "number"}, "must be a table"),
    ({"x": {"known_at": "tomorrow"}}, "tomorrow"),
    ({"x": {"rename": ""}}, "non-empty"),
])
def test_bad_mapping_is_a_config_error(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_rules(section, "closeloop.toml")


def test_mapping_of_a_column_the_file_lacks_is_named() -> None:
    with pytest.raises(ConfigError, match="nope"):
        type_attributes(leads(a=["1"]), CANONICAL, parse_rules({"nope": {"exclude": True}}, "cfg"))


def test_workspace_settings_carry_the_mapping(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    with ws.config_path.open("a", encoding="utf-8") as fh:
        fh.write('\n[leads.attributes.tos]\nrename = "time_on_site"\ntype = "number"\n'
                 '[leads.attributes.duration]\nknown_at = "after_call"\n')
    rules = load_settings(ws.root).lead_attributes
    assert rules["tos"].rename == "time_on_site" and rules["tos"].type is AttributeType.NUMBER
    assert rules["duration"].known_at is KnownAt.AFTER_CALL
    with ws.config_path.open("a", encoding="utf-8") as fh:
        fh.write('[leads.attributes.x]\ntype = "money"\n')
    with pytest.raises(ConfigError, match=r"closeloop\.toml: leads\.attributes\.x"):
        load_settings(ws.root)
