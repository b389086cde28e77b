"""Erlang B/C/A against closed forms, exact rationals and known limits."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.sim.erlang import (
    erlang_a_figures,
    erlang_b,
    erlang_c,
    erlang_c_figures,
    poisson_tail,
)
from closeloop.sim.staffing import Target, figures, meets, required_agents, scheduled


@pytest.mark.parametrize("rho", [Fraction(1, 10), Fraction(1, 2), Fraction(9, 10), Fraction(99, 100)])
def test_erlang_c_one_agent_is_rho(rho: Fraction) -> None:
    assert erlang_c(1, rho) == rho


@pytest.mark.parametrize("rho", [Fraction(1, 10), Fraction(1, 2), Fraction(3, 4), Fraction(19, 20)])
def test_erlang_c_two_agents_closed_form(rho: Fraction) -> None:
    assert erlang_c(2, 2 * rho) == 2 * rho**2 / (1 + rho)


def test_erlang_c_three_agents_load_one_is_one_eleventh() -> None:
    assert erlang_c(3, Fraction(1)) == Fraction(1, 11)


def test_erlang_b_exact_small_case() -> None:
    # B(2, 1) = (1/2) / (1 + 1 + 1/2)
    assert erlang_b(2, Fraction(1)) == Fraction(1, 5)


@given(st.integers(1, 60), st.fractions(Fraction(1, 100), Fraction(59, 1)))
@settings(max_examples=60, deadline=None)
def test_float_recurrence_matches_exact_rational(c: int, a: Fraction) -> None:
    exact = erlang_c(c, a)
    assert math.isclose(erlang_c(c, float(a)), float(exact), rel_tol=1e-9, abs_tol=1e-12)


@given(st.integers(1, 3000), st.floats(0.0, 5000.0))
@settings(max_examples=80, deadline=None)
def test_erlang_b_c_are_probabilities(c: int, a: float) -> None:
    b, w = erlang_b(c, a), erlang_c(c, a)
    assert 0.0 <= b <= 1.0 and 0.0 <= w <= 1.0
    if a < c:
        assert w >= b  # waiting is at least as likely as blocking would be


def test_no_nonsense_when_agents_do_not_exceed_load() -> None:
    assert erlang_c(5, 6.0) == 1.0
    assert erlang_c(5, 5.0) == 1.0
    f = erlang_c_figures(5, 6.0 / 300, 300, 20)
    assert not f.stable and f.service_level == 0.0 and f.asa == math.inf and f.p_wait == 1.0


def test_large_center_is_stable_numerically() -> None:
    w = erlang_c(5000, 4950.0)
    assert 0.0 < w < 1.0


def test_erlang_a_with_endless_patience_is_erlang_c() -> None:
    for c, a in ((10, 9.0), (30, 25.0), (3, 1.0)):
        ea = erlang_a_figures(c, a / 300, 300, 1e10, 20)
        ec = erlang_c_figures(c, a / 300, 300, 20)
        assert ea.p_wait == pytest.approx(ec.p_wait, abs=1e-5)
        assert ea.service_level == pytest.approx(ec.service_level, abs=1e-5)
        assert ea.asa == pytest.approx(ec.asa, rel=1e-4)
        assert ea.abandonment < 1e-5


def test_erlang_a_patience_equal_to_service_time_is_poisson_tail() -> None:
    for c, a in ((10, 9.0), (20, 25.0), (5, 2.0)):
        ea = erlang_a_figures(c, a / 240, 240, 240, 20)
        assert ea.p_wait == pytest.approx(poisson_tail(c, a), abs=1e-9)


def test_erlang_a_is_stable_when_overloaded() -> None:
    f = erlang_a_figures(10, 15 / 300, 300, 120, 20)
    assert f.stable and 0 < f.abandonment < 1 and 0 <= f.service_level <= 1


def test_required_agents_is_the_fewest_meeting_target() -> None:
    t = Target(0.8, 20)
    for lam, aht, pat in ((100 / 1800, 240, None), (300 / 1800, 300, 150.0), (5 / 3600, 600, None)):
        f = required_agents(lam, aht, t, pat)
        assert meets(f, t)
        assert not meets(figures(f.agents - 1, lam, aht, 20, pat), t)


def test_shrinkage_rounds_up() -> None:
    assert scheduled(17, 0.3) == 25  # 17 / 0.7 = 24.3
    assert scheduled(14, 0.3) == 20  # exactly 20: no extra agent


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.floats(0.1, 80.0), st.floats(5.0, 2000.0), st.floats(0.0, 120.0))
def test_erlang_a_figures_are_probabilities(c: int, load: float, patience: float, threshold: float) -> None:
    f = erlang_a_figures(c, load / 300.0, 300.0, patience, threshold)
    assert 0.0 <= f.service_level <= 1.0 and 0.0 <= f.abandonment <= 1.0 and 0.0 <= f.p_wait <= 1.0


def test_no_callers_means_nothing_waits_for_either_model() -> None:
    for patience in (None, 150.0):
        f = figures(0, 0.0, 300.0, 20.0, patience)
        assert (f.service_level, f.asa, f.abandonment, f.occupancy) == (1.0, 0.0, 0.0, 0.0)
        assert required_agents(0.0, 300.0, Target(), patience).agents == 0


def test_impossible_staffing_inputs_are_input_errors() -> None:
    from closeloop.errors import InputError

    with pytest.raises(InputError, match="patience"):
        figures(5, 0.03, 300.0, 20.0, 0.0)
    with pytest.raises(InputError, match="patience"):
        figures(5, 0.03, 300.0, 20.0, -4.0)
    with pytest.raises(InputError, match="agents"):
        figures(-3, 0.03, 300.0, 20.0)
    with pytest.raises(InputError, match="abandonment"):
        Target(max_abandonment=1.5).check()
    with pytest.raises(InputError, match="abandonment 0"):
        required_agents(0.03, 300.0, Target(max_abandonment=0.0), patience_s=60.0)
    with pytest.raises(InputError):
        erlang_b(-1, 2.0)
