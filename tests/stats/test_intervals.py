"""Wilson and Newcombe intervals against published values (Newcombe 1998, Tables I and II)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.errors import InputError
from closeloop.stats import diff_interval, wilson_interval


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),  # Newcombe 1998 single-proportion Table I
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_matches_published(x, n, low, high):
    lo, hi = wilson_interval(x, n)
    assert round(lo, 4) == low
    assert round(hi, 4) == high


def test_wilson_vectorised_equals_scalar():
    x = np.array([0, 5, 81, 10])
    n = np.array([10, 10, 263, 10])
    lo, hi = wilson_interval(x, n)
    for i in range(len(x)):
        assert (lo[i], hi[i]) == pytest.approx(wilson_interval(int(x[i]), int(n[i])))


def test_wilson_no_trials_is_nan_and_conf_widens():
    lo, hi = wilson_interval(np.array([0, 3]), np.array([0, 10]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    narrow = wilson_interval(30, 100, conf=0.80)
    wide = wilson_interval(30, 100, conf=0.99)
    assert wide[0] < narrow[0] < 0.3 < narrow[1] < wide[1]


def test_wilson_rejects_bad_counts():
    with pytest.raises(InputError):
        wilson_interval(11, 10)
    with pytest.raises(InputError):
        wilson_interval(1, 10, conf=1.5)


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_contains_estimate_within_unit_interval(x, n):
    x = min(x, n)
    lo, hi = wilson_interval(x, n)
    assert 0.0 <= lo <= x / n <= hi <= 1.0


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [  # Newcombe 1998 Table II, method 10
        ((56, 70, 48, 80), 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.1705, 0.8090),
        ((6, 7, 2, 7), 0.0582, 0.8062),
        ((5, 56, 0, 29), -0.0381, 0.1926),
        ((0, 10, 0, 20), -0.1611, 0.2775),
        ((0, 10, 0, 10), -0.2775, 0.2775),
        ((10, 10, 0, 20), 0.6791, 1.0),
        ((10, 10, 0, 10), 0.6075, 1.0),
    ],
)
def test_newcombe_difference_matches_published(counts, low, high):
    lo, hi = diff_interval(*counts)
    assert round(lo, 4) == low
    assert round(hi, 4) == high


@given(st.integers(0, 200), st.integers(1, 200), st.integers(0, 200), st.integers(1, 200))
def test_difference_antisymmetric_and_contains_estimate(x1, n1, x2, n2):
    x1, x2 = min(x1, n1), min(x2, n2)
    lo, hi = diff_interval(x1, n1, x2, n2)
    rlo, rhi = diff_interval(x2, n2, x1, n1)
    assert lo == pytest.approx(-rhi) and hi == pytest.approx(-rlo)
    assert -1.0 - 1e-12 <= lo <= x1 / n1 - x2 / n2 <= hi <= 1.0 + 1e-12
