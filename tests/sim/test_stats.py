"""Run statistics: occupancy counts on-duty time only, intervals stay inside what a figure can be."""

from __future__ import annotations

import math

import numpy as np
import pytest

from closeloop.sim.runner import run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario, Shift
from closeloop.sim.stats import _on_duty, summarize
from closeloop.stats import wilson_interval


def test_on_duty_overlap_is_hand_computed() -> None:
    duty = [[(0.0, 100.0), (200.0, 300.0)], [(50.0, 60.0)]]
    agent = np.array([0, 0, 0, 1, 0])
    t0 = np.array([90.0, 150.0, 250.0, 0.0, 320.0])
    t1 = np.array([210.0, 180.0, 400.0, 55.0, 330.0])
    # 10 s before the break + 10 s after it; all in the break; 50 s before the end; 5 s; after the day
    assert _on_duty(duty, agent, t0, t1).tolist() == [20.0, 0.0, 50.0, 5.0, 0.0]


def test_occupancy_never_exceeds_one_when_calls_run_past_the_shift() -> None:
    # Overloaded two-hour shifts with half-hour calls: agents are always busy and every
    # shift ends mid-call, so busy time past the shift would push occupancy above 100%.
    s = Scenario(
        days=1.0, seed=4, centers=[Center("c1")],
        queues=[QueueSpec("care_in", call_type="care", rate_per_hour=60.0, handle_mean_s=1800.0,
                          handle_dist="exponential")],
        agents=[Agent(f"a{i}", "c1", {"care": 5}, Shift("08:00", 2.0, "mon-sun")) for i in range(5)],
        policy="longest_idle",
    )
    r = run_once(s)
    assert r.stats["all"]["occupancy"] == pytest.approx(1.0, abs=0.02)
    assert all(row["occupancy"] <= 1.0 for row in r.stats.values() if not math.isnan(row["occupancy"]))


def _reps(values: dict[str, list[float]]) -> list[dict[str, dict[str, float]]]:
    n = len(next(iter(values.values())))
    return [{"q": {m: v[i] for m, v in values.items()}} for i in range(n)]


def test_replication_intervals_are_cut_to_what_a_figure_can_be() -> None:
    est = summarize(_reps({"service_level": [0.6, 1.0], "occupancy": [0.9, 1.0], "asa": [0.0, 40.0],
                           "sales": [0.0, 30.0], "csat": [1.0, 5.0], "revenue": [10.0, 12.0]}))["q"]
    assert est["service_level"].hi == 1.0 and est["occupancy"].hi == 1.0
    assert est["asa"].lo == 0.0 and est["sales"].lo == 0.0
    assert (est["csat"].lo, est["csat"].hi) == (1.0, 5.0)
    assert est["service_level"].value == pytest.approx(0.8)
    plain = summarize(_reps({"revenue": [10.0, 11.0, 12.0]}))["q"]["revenue"]  # nothing to cut: the t interval
    assert (plain.lo, plain.hi) == (pytest.approx(11.0 - 2.48414, rel=1e-5), pytest.approx(11.0 + 2.48414, rel=1e-5))


def test_one_replication_gives_proportions_the_wilson_interval() -> None:
    est = summarize([{"q": {"service_level": (81, 263), "asa": 12.0}}])["q"]
    lo, hi = wilson_interval(81, 263)
    assert (est["service_level"].lo, est["service_level"].hi) == (pytest.approx(lo), pytest.approx(hi))
    assert math.isnan(est["asa"].lo)
