"""Proportion tests against scipy's contingency-table test; p-value adjustment by hand."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, false_discovery_control

from closeloop.stats import adjust_pvalues, chi_square_test, two_proportion_test


def test_two_proportion_z_squared_is_uncorrected_chi_square():
    z, p = two_proportion_test(56, 70, 48, 80)
    stat, pref, _, _ = chi2_contingency([[56, 14], [48, 32]], correction=False)
    assert float(z) ** 2 == pytest.approx(stat)
    assert float(p) == pytest.approx(pref)
    assert float(z) > 0


def test_two_proportion_degenerate_cases():
    _, p = two_proportion_test(np.array([0, 3]), np.array([10, 0]), np.array([0, 1]), np.array([20, 5]))
    assert p[0] == 1.0  # both zero: no evidence of a difference
    assert np.isnan(p[1])  # a group without trials: no test


def test_chi_square_matches_scipy():
    x, n = np.array([30, 45, 12]), np.array([100, 110, 90])
    res = chi_square_test(x, n)
    stat, pref, dof, expected = chi2_contingency(np.stack([x, n - x]), correction=False)
    assert res.statistic == pytest.approx(stat)
    assert res.pvalue == pytest.approx(pref)
    assert res.dof == dof == 2
    assert res.min_expected == pytest.approx(expected.min())


def test_chi_square_ignores_empty_groups_and_needs_two():
    assert chi_square_test([3, 0], [10, 0]).pvalue == 1.0
    full = chi_square_test([30, 45, 0], [100, 110, 0])
    assert full.dof == 1


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, 1*0.04 then running max
    expected = [0.03, 0.06, 0.06, 0.02]
    assert adjust_pvalues(p, "holm") == pytest.approx(expected)


def test_bh_matches_scipy():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5, 0.2])
    assert adjust_pvalues(p, "bh") == pytest.approx(false_discovery_control(p, method="bh"))


def test_adjust_keeps_nan_out_of_family():
    out = adjust_pvalues([0.01, np.nan, 0.02], "holm")
    assert np.isnan(out[1])
    assert out[[0, 2]] == pytest.approx([0.02, 0.02])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_adjusted_never_below_raw_and_holm_above_bh(ps):
    p = np.array(ps)
    holm, bh = adjust_pvalues(p, "holm"), adjust_pvalues(p, "bh")
    assert np.all(holm >= p - 1e-12) and np.all(bh >= p - 1e-12)
    assert np.all(holm >= bh - 1e-12)
    assert np.all(holm <= 1.0)
