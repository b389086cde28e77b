"""--segment: user SQL parsed with sqlglot, only a condition over known columns gets through."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.errors import InputError
from closeloop.metrics import Conventions, Tables, dimensions, enrich
from closeloop.metrics.outsource import SEGMENT_NUMBERS
from closeloop.metrics.segment import parse_segment
from tests.metrics.fixtures import small_warehouse


@pytest.fixture(scope="module")
def frame():
    wh = small_warehouse()
    tables = Tables.from_backend(wh.ibis())
    yield tables, enrich(tables, Conventions())
    wh.close()


def calls(frame, text):
    tables, f = frame
    seg = parse_segment(text, [*dimensions(tables), *SEGMENT_NUMBERS])
    return sorted(f.filter(seg.to_ibis(f)).call_id.to_pyarrow().to_pylist())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call_type = 'sales' AND vendor = 'acme'", ["c1", "c2", "c3", "c4", "c5", "c6"]),
        ("vendor <> 'acme' AND (outcome = 'sale' OR csat < 3)", ["c8", "c9"]),
        ("outcome IN ('resolved', 'unresolved')", ["c7", "c8"]),
        ("NOT outcome IN ('sale', 'no_sale', 'abandoned', 'no_answer')", ["c7", "c8"]),
        ("csat IS NOT NULL AND csat BETWEEN 4 AND 5", ["c1", "c7"]),
        ("queue LIKE 'care%'", ["c7", "c8"]),
        ("order_value >= 100.5 OR order_value = -1", ["c5"]),
    ],
)
def test_allowed_conditions_select_the_hand_counted_calls(frame, text, expected):
    assert calls(frame, text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("queue = 'x'; DROP TABLE calls", "one condition"),
        ("lower(queue) = 'x'", "not allowed"),
        ("queue IN (SELECT queue FROM calls)", "subquery"),
        ("queue = (SELECT 1)", "not allowed"),
        ("calls.queue = 'x'", "plain column names"),
        ("secret = 1", "unknown column"),
        ("queue", "not a condition"),
        ("csat IS TRUE", "only NULL"),
        ("hour = 'noon'", "not comparable"),
        ("", "empty"),
        ("queue = ", "not a SQL condition"),
    ],
)
def test_everything_else_is_refused_with_a_reason(frame, text, problem):
    with pytest.raises(InputError, match="segment") as exc:
        calls(frame, text)
    assert problem in str(exc.value)


@given(st.text(alphabet="abc' =();-*\"_ANDORSELECTcsat01", max_size=40))
def test_any_text_is_a_checked_condition_or_an_input_error(text):
    try:
        seg = parse_segment(text, ["queue", "csat", "vendor"])
    except InputError:
        return
    assert seg.columns <= {"queue", "csat", "vendor"}
