"""Talk, wrap-up, patience and call-back delay distributions: parsing, draws, both engines."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from closeloop.errors import ScenarioError
from closeloop.sim.dists import FAMILIES, Dist, empirical, make, parse_dist
from closeloop.sim.runner import run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario
from closeloop.sim.scenario_file import parse_scenario

EXAMPLES = {
    "fixed": make("fixed", value=42.0),
    "exponential": make("exponential", mean=180.0),
    "uniform": make("uniform", low=30.0, high=300.0),
    "triangular": make("triangular", low=10.0, mode=60.0, high=400.0),
    "gamma": make("gamma", mean=240.0, sd=120.0),
    "lognormal": make("lognormal", mean=300.0, sd=250.0),
    "weibull": make("weibull", shape=0.7, scale=150.0),
    "empirical": empirical(np.random.default_rng(0).gamma(2.0, 100.0, 5000)),
}


def test_every_family_has_an_example() -> None:
    assert set(EXAMPLES) == set(FAMILIES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_draws_have_the_exact_mean_and_pass_a_ks_test(name: str) -> None:
    d = EXAMPLES[name]
    x = d.sample(np.random.default_rng(7), 40_000)
    assert (x >= 0).all()
    sd = float(x.std()) or 1.0
    assert abs(x.mean() - d.mean()) < 4.5 * sd / math.sqrt(len(x))
    if name != "fixed":
        assert sps.kstest(x, d.cdf).pvalue > 1e-4


def test_lognormal_and_gamma_have_the_stated_sd() -> None:
    for kind in ("gamma", "lognormal"):
        x = make(kind, mean=200.0, sd=80.0).sample(np.random.default_rng(3), 200_000)
        assert x.std() == pytest.approx(80.0, rel=0.03)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from([f for f in FAMILIES if f != "empirical"]),
       a=st.floats(0.5, 1000.0), b=st.floats(0.5, 1000.0), c=st.floats(0.5, 1000.0))
def test_to_toml_reads_back_the_same_distribution(kind: str, a: float, b: float, c: float) -> None:
    lo, mode, hi = sorted((a, b, c))
    params = {"fixed": {"value": a}, "exponential": {"mean": a}, "uniform": {"low": lo, "high": hi},
              "triangular": {"low": lo, "mode": mode, "high": hi}, "gamma": {"mean": a, "sd": b},
              "lognormal": {"mean": a, "sd": b}, "weibull": {"shape": 0.1 + a / 100, "scale": b}}[kind]
    d = make(kind, **params)
    back = parse_dist(tomllib.loads(f"x = {d.to_toml()}")["x"], "f", "x")
    assert back.kind == d.kind
    assert back.mean() == pytest.approx(d.mean(), rel=1e-5)


@settings(max_examples=80, deadline=None)
@given(raw=st.dictionaries(st.sampled_from(["dist", "mean", "sd", "low", "high", "mode", "shape", "scale", "values",
                                            "value", "bogus"]),
                           st.one_of(st.floats(allow_nan=True), st.text(max_size=8), st.integers(-5, 5),
                                     st.lists(st.floats(-10, 10), max_size=3), st.sampled_from(FAMILIES)),
                           max_size=5))
def test_parse_dist_returns_a_valid_distribution_or_names_the_key(raw: dict) -> None:
    try:
        d = parse_dist(raw, "f.toml", "queues[0].talk")
    except ScenarioError as exc:
        assert "f.toml" in str(exc) and "queues[0].talk" in str(exc)
        return
    assert d.kind in FAMILIES
    assert math.isfinite(d.mean()) and d.mean() >= 0


@pytest.mark.parametrize(("table", "key"), [
    ('{ dist = "normal", mean = 3 }', "talk.dist"),
    ('{ dist = "gamma", mean = 3 }', "talk.sd"),
    ('{ dist = "gamma", mean = 3, sd = 1, shape = 2 }', "talk.shape"),
    ('{ dist = "triangular", low = 5, mode = 1, high = 9 }', "talk.mode"),
    ('{ dist = "uniform", low = 5, high = 1 }', "talk.high"),
    ('{ dist = "exponential", mean = -1 }', "talk.mean"),
    ('{ dist = "empirical", values = [3] }', "talk.values"),
])
def test_a_bad_distribution_in_a_scenario_file_names_its_key(table: str, key: str) -> None:
    text = f"""
[[centers]]
id = "c"
[[queues]]
name = "q"
type = "care"
rate_per_hour = 10
talk = {table}
[[agents]]
center = "c"
skills = "care:5"
"""
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "f.toml")
    assert "f.toml" in str(err.value) and f"queues[0].{key}" in str(err.value)


def _general(talk: Dist, patience: Dist | None, wrap: Dist | None = None, delay: Dist | None = None,
             agents: int = 8) -> Scenario:
    return Scenario(
        days=2.0, seed=5, centers=[Center("c")], policy="longest_idle",
        queues=[QueueSpec("q", call_type="care", rate_per_hour=90.0, talk=talk, patience=patience, wrap=wrap,
                          retrial_prob=0.4, retrial_delay=delay)],
        agents=[Agent(f"a{i}", "c", {"care": 5}) for i in range(agents)],
    )


def test_scenario_file_distributions_reach_the_simulation() -> None:
    s = parse_scenario("""
[scenario]
days = 1
[[centers]]
id = "c"
[[queues]]
name = "q"
type = "care"
rate_per_hour = 60
talk = { dist = "uniform", low = 100, high = 200 }
wrap = { dist = "fixed", value = 30 }
patience = { dist = "weibull", shape = 0.8, scale = 400 }
[[agents]]
center = "c"
count = 200
skills = "care:5"
""", "f.toml")
    r = run_once(s)
    j = r.jobs
    talk = np.asarray(j.end) - np.asarray(j.answer)
    talk = talk[~np.isnan(talk)]
    assert talk.min() >= 100 and talk.max() <= 200  # 200 agents: nobody waits, every call talks
    assert abs(talk.mean() - 150) < 4 * 29 / math.sqrt(len(talk))
    assert set(j.wrap) == {30.0}


def test_fast_path_equals_event_engine_with_general_distributions() -> None:
    s = _general(make("gamma", mean=300.0, sd=150.0), make("weibull", shape=1.5, scale=200.0),
                 make("triangular", low=5.0, mode=20.0, high=60.0), make("uniform", low=60.0, high=600.0))
    fast, event = run_once(s, engine="fast"), run_once(s, engine="event")

    def rows(t: pa.Table) -> list[dict]:
        return sorted(t.to_pylist(), key=lambda r: r["call_id"])

    a, b = rows(fast.calls()), rows(event.calls())
    assert len(a) > 3000 and a == b
    assert any("-r" in r["call_id"] for r in a)


def test_callers_abandon_by_their_patience_distribution() -> None:
    """No agent is ever free (one agent, talk far longer than the day): every caller's wait
    is its own patience, so abandoned waits follow the patience distribution exactly."""
    pat = make("lognormal", mean=90.0, sd=60.0)
    s = Scenario(days=1.0, seed=2, centers=[Center("c")], policy="longest_idle",
                 queues=[QueueSpec("q", call_type="care", rate_per_hour=400.0, talk=make("fixed", value=10 ** 6),
                                   patience=pat)],
                 agents=[Agent("a", "c", {"care": 5})])
    j = run_once(s).jobs
    waits = (np.asarray(j.end) - np.asarray(j.arrive))[np.asarray(j.status) == 2]
    assert len(waits) > 5000
    assert sps.kstest(waits, pat.cdf).pvalue > 1e-4


def _two_queues(days: float, groups: list) -> Scenario:  # type: ignore[type-arg]
    from closeloop.sim.scenario import Busyness

    return Scenario(
        days=days, seed=3, centers=[Center("c")], policy="longest_idle",
        queues=[QueueSpec(n, call_type="care", skill=n, rate_per_hour=25.0, talk=make("fixed", value=1.0))
                for n in ("a", "b", "z")],
        agents=[Agent(f"{n}{i}", "c", {n: 5}) for n in ("a", "b", "z") for i in range(3)],
        busyness=[Busyness(*g) for g in groups],
    )


def _daily(r, q: int, days: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    j = r.jobs
    mask = np.asarray(j.q) == q
    return np.bincount((np.asarray(j.arrive)[mask] // 86400).astype(int), minlength=days)[:days]


def test_shared_busyness_makes_days_busy_together_and_leaves_other_queues_alone() -> None:
    days, sd, lam = 150, 0.4, 600.0
    shared = run_once(_two_queues(days, [(["a", "b"], sd)]))
    alone = run_once(_two_queues(days, []))
    a, b = _daily(shared, 0, days), _daily(shared, 1, days)
    exact = lam * lam * sd**2 / (lam + lam * lam * sd**2)  # corr of two Poisson counts sharing a gamma factor
    assert np.corrcoef(a, b)[0, 1] == pytest.approx(exact, abs=0.08)
    assert abs(np.corrcoef(_daily(alone, 0, days), _daily(alone, 1, days))[0, 1]) < 0.25
    assert a.mean() == pytest.approx(lam, rel=4 * sd / math.sqrt(days))
    assert a.std() == pytest.approx(math.sqrt(lam + (lam * sd) ** 2), rel=0.2)
    # the queue outside the group keeps its own stream: the same callers either way
    z1 = [t for t, q in zip(shared.jobs.arrive, shared.jobs.q, strict=True) if q == 2]
    z0 = [t for t, q in zip(alone.jobs.arrive, alone.jobs.q, strict=True) if q == 2]
    assert z1 == z0


def test_busyness_groups_are_checked() -> None:
    from closeloop.sim.scenario import validate

    for groups, key in (([(["a", "nope"], 0.2)], "busyness[0].queues"),
                        ([(["a"], 0.2), (["a", "b"], 0.1)], "busyness[1].queues"),
                        ([(["a"], 3.0)], "busyness[0].sd")):
        with pytest.raises(ScenarioError) as err:
            validate(_two_queues(1, groups))
        assert key in str(err.value)
