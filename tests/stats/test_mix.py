"""Mix adjustment on planted effects: pure mix must vanish after adjustment; real gaps stay."""

import numpy as np
import pytest

from closeloop.errors import InputError
from closeloop.stats import adjust_for_mix


def _cells(rng, plan):
    """plan: {(center, source): (calls, true close rate)} -> cell arrays with binomial sales."""
    keys = list(plan)
    trials = np.array([plan[k][0] for k in keys])
    sales = rng.binomial(trials, [plan[k][1] for k in keys])
    return [k[0] for k in keys], [k[1] for k in keys], sales, trials


def test_pure_mix_gap_is_explained_by_mix():
    rng = np.random.default_rng(42)
    rates = {"web": 0.30, "list": 0.08}
    plan = {
        ("onshore", "web"): (4000, rates["web"]), ("onshore", "list"): (1000, rates["list"]),
        ("offshore", "web"): (1000, rates["web"]), ("offshore", "list"): (4000, rates["list"]),
    }
    center, source, sales, calls = _cells(rng, plan)
    adj = adjust_for_mix(center, {"source": source}, sales, calls)
    on, off = adj.index("onshore"), adj.index("offshore")
    # raw rates differ far beyond noise ...
    assert adj.raw_low[on] > adj.raw_high[off]
    # ... adjusted rates agree within their intervals
    assert adj.adjusted_low[on] < adj.adjusted_high[off] and adj.adjusted_low[off] < adj.adjusted_high[on]
    gap = adj.decompose("onshore", "offshore")
    assert gap.mix + gap.performance == pytest.approx(gap.gap, abs=1e-9)
    assert gap.performance_ci[0] < 0 < gap.performance_ci[1]
    assert gap.mix_ci[0] > 0.1  # the gap (~0.13) is mix
    assert gap.performance_pvalue > 0.05


def test_genuine_gap_survives_adjustment():
    rng = np.random.default_rng(43)
    plan = {
        ("onshore", "web"): (2500, 0.30), ("onshore", "list"): (2500, 0.10),
        ("offshore", "web"): (2500, 0.22), ("offshore", "list"): (2500, 0.06),
    }
    center, source, sales, calls = _cells(rng, plan)
    adj = adjust_for_mix(center, {"source": source}, sales, calls)
    on, off = adj.index("onshore"), adj.index("offshore")
    assert adj.adjusted_low[on] > adj.adjusted_high[off]
    gap = adj.decompose("onshore", "offshore")
    assert gap.performance_ci[0] > 0.03
    assert abs(gap.mix) < 1e-9  # identical mix: nothing to explain by mix
    assert gap.performance_pvalue < 1e-6


def test_model_reproduces_group_totals_and_decomposition_is_antisymmetric():
    rng = np.random.default_rng(5)
    plan = {(c, s): (int(rng.integers(50, 500)), float(rng.uniform(0.05, 0.4)))
            for c in ("a", "b", "c") for s in ("x", "y", "z")}
    center, source, sales, calls = _cells(rng, plan)
    adj = adjust_for_mix(center, {"source": source}, sales, calls, ridge=0.0)
    ab, ba = adj.decompose("a", "b"), adj.decompose("b", "a")
    assert ab.gap == pytest.approx(-ba.gap)
    assert ab.performance == pytest.approx(-ba.performance, abs=1e-9)
    assert ab.mix == pytest.approx(-ba.mix, abs=1e-9)
    # with a dummy per group the mix component equals the g-computation identity
    mean_a, _ = adj._mean_pred(adj._cell_group == adj.index("a"), adj.index("a"))
    assert mean_a == pytest.approx(adj.raw[adj.index("a")], abs=1e-8)


def test_errors_name_the_groups():
    adj = adjust_for_mix(["a", "b"], {}, [1, 2], [10, 10])
    with pytest.raises(InputError, match="a, b"):
        adj.decompose("a", "zzz")
    with pytest.raises(InputError):
        adjust_for_mix(["a"], {"s": ["x", "y"]}, [1], [2])
