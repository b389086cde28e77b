"""Erlang A names its two waits apart: ASA of answered callers, mean wait of all callers."""

from __future__ import annotations

import pytest

from closeloop.sim.erlang import erlang_a_figures, erlang_c_figures
from closeloop.sim.runner import run_once
from tests.sim.conftest import single_queue


def test_erlang_a_asa_is_the_answered_callers_wait_as_simulated() -> None:
    s = single_queue(agents=10, calls_per_hour=130.0, aht=300.0, patience=120.0, days=20)
    exact = erlang_a_figures(10, 130 / 3600, 300, 120, 20)
    reps = [run_once(s, seed=k) for k in range(3)]
    simulated = sum(r.stats["care_in"]["asa"] for r in reps) / len(reps)
    assert simulated == pytest.approx(exact.asa, rel=0.08)
    # impatient callers leave after waiting: those answered waited less than everyone did
    assert exact.asa < exact.mean_wait
    assert exact.mean_wait * 130 / 3600 == pytest.approx(
        exact.abandonment * 130 / 3600 * 120, rel=1e-9)  # P(abandon) = theta * E[W] (Little + exp. patience)


def test_erlang_c_waits_agree() -> None:
    f = erlang_c_figures(12, 100 / 3600, 360, 20)
    assert f.asa == f.mean_wait
