"""Planted effects: a gap caused by worse leads must vanish after adjustment; a real one must not."""

import pytest

from closeloop.metrics import Conventions, ScorecardRequest, Selection, Tables, scorecard
from closeloop.metrics.explain import gap_analysis
from tests.metrics.planted import planted_warehouse

GOOD_LEADS = {"web": 0.6, "partner": 0.3, "list": 0.1}
BAD_LEADS = {"web": 0.1, "partner": 0.3, "list": 0.6}


def _by_center(wh):
    req = ScorecardRequest(Selection(by=("center_id",)), metrics=("close_rate",), adjust_for=("source",))
    return {r["center_id"]: r for r in scorecard(Tables.from_backend(wh.ibis()), Conventions(), req).rows}


def _overlap(a, b):
    return a[0] <= b[1] and b[0] <= a[1]


@pytest.fixture(scope="module")
def pure_mix():
    wh = planted_warehouse(2024, {"onshore": GOOD_LEADS, "offshore": BAD_LEADS}, {"onshore": 1.0, "offshore": 1.0})
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def genuine():
    wh = planted_warehouse(2025, {"onshore": GOOD_LEADS, "offshore": GOOD_LEADS}, {"onshore": 1.0, "offshore": 0.6})
    yield wh
    wh.close()


def test_gap_from_worse_leads_vanishes_after_adjustment(pure_mix):
    rows = _by_center(pure_mix)
    on, off = rows["onshore"], rows["offshore"]
    assert not _overlap(on["close_rate_ci"], off["close_rate_ci"])  # raw: clearly different
    assert off["close_rate_sig"] == "lower"
    assert _overlap(on["close_rate_adjusted_ci"], off["close_rate_adjusted_ci"])  # adjusted: the same
    assert abs(on["close_rate_adjusted"] - off["close_rate_adjusted"]) < 0.02


def test_gap_decomposition_calls_it_mix(pure_mix):
    rep = gap_analysis(Tables.from_backend(pure_mix.ibis()), Conventions(), "center_id", "onshore", "offshore",
                       ("source",))
    g = rep.gap
    assert g.gap > 0.1
    assert g.performance_ci[0] < 0 < g.performance_ci[1]
    assert g.mix > 0.8 * g.gap
    shares = {r["level"]: (r["share_a"], r["share_b"]) for r in rep.levels}
    assert shares["web"][0] > 0.5 > shares["web"][1]


def test_genuine_gap_survives_adjustment(genuine):
    rows = _by_center(genuine)
    on, off = rows["onshore"], rows["offshore"]
    assert not _overlap(on["close_rate_ci"], off["close_rate_ci"])
    assert not _overlap(on["close_rate_adjusted_ci"], off["close_rate_adjusted_ci"])
    rep = gap_analysis(Tables.from_backend(genuine.ibis()), Conventions(), "center_id", "onshore", "offshore",
                       ("source",))
    assert rep.gap.performance_ci[0] > 0.03
    assert abs(rep.gap.mix) < 0.03


def test_agent_shrinkage_pulls_small_samples_to_team(genuine):
    req = ScorecardRequest(Selection(by=("agent_id",)), metrics=("close_rate",))
    rows = scorecard(Tables.from_backend(genuine.ibis()), Conventions(), req).rows
    for r in rows:
        lo, hi = r["close_rate_shrunk_ci"]
        assert lo <= r["close_rate_shrunk"] <= hi
        # shrunk rates are less spread than raw ones, and stay within each agent's raw CI range
    raw = [r["close_rate"] for r in rows]
    shrunk = [r["close_rate_shrunk"] for r in rows]
    assert max(shrunk) - min(shrunk) < max(raw) - min(raw)
