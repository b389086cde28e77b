"""Staffing by group size: a plan of agents on duty per interval, instead of shifts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from closeloop.errors import ScenarioError
from closeloop.sim.dists import make
from closeloop.sim.runner import run_once
from closeloop.sim.scenario import AgentGroup, Center, QueueSpec, Scenario, expand_groups
from closeloop.sim.scenario_file import parse_scenario
from closeloop.sim.traffic import SERVED


def _plan(levels: list[int], per_hour: float, talk: float, interval: float = 1800.0, days: float = 0.25,
          **group: object) -> Scenario:
    return Scenario(days=days, seed=6, centers=[Center("c")], policy="longest_idle",
                    queues=[QueueSpec("q", call_type="care", rate_per_hour=per_hour,
                                      talk=make("exponential", mean=talk), patience=make("exponential", mean=120.0))],
                    agents=expand_groups([AgentGroup(center="c", skills="care:5", staffing=levels,
                                                     staffing_interval_s=interval, **group)]))  # type: ignore[arg-type]


def _rows(t: pa.Table) -> list[dict]:
    return sorted(t.to_pylist(), key=lambda r: r["call_id"])


def test_a_constant_plan_is_the_same_as_plain_agents_record_for_record() -> None:
    plan = _plan([5], 120.0, 120.0)
    plain = _plan([5], 120.0, 120.0)
    for a in plain.agents:
        a.plan = None
    a, b = run_once(plan), run_once(plain, engine="event")
    assert a.engine == "event" and _rows(a.calls()) == _rows(b.calls())
    assert a.stats["all"]["occupancy"] == pytest.approx(b.stats["all"]["occupancy"])


def test_at_a_drop_the_first_agents_to_become_free_leave() -> None:
    s = _plan([4, 2, 2, 2], 400.0, 300.0)  # overloaded: all four are busy at the drop at 30 min
    r = run_once(s)
    j = r.jobs
    served = np.asarray(j.status) == SERVED
    ag, start, end = np.asarray(j.agent), np.asarray(j.start), np.asarray(j.end)
    in_progress = served & (start < 1800.0) & (end > 1800.0)
    assert in_progress.sum() == 4
    finish = {int(a): float(e) for a, e in zip(ag[in_progress], end[in_progress], strict=True)}
    leavers = sorted(finish, key=finish.get)[:2]  # type: ignore[arg-type]
    for ai, spans in enumerate(r.world.duty):
        if ai in leavers:
            assert spans == [(0.0, pytest.approx(finish[ai]))]
            assert not (served & (ag == ai) & (start >= 1800.0)).any()
        else:
            assert spans == [(0.0, s.horizon_s)]


def test_idle_agents_leave_at_once_and_staffed_time_is_the_plan() -> None:
    levels = [3, 1, 4, 0, 2, 2, 5, 1]
    r = run_once(_plan(levels, 0.5, 60.0, interval=900.0, days=2 / 24))  # almost no calls: agents are idle
    staffed = sum(b - a for spans in r.world.duty for a, b in spans)
    assert staffed == pytest.approx(900.0 * sum(levels), abs=61.0 * 8)
    assert len(r.world.duty) == max(levels)


def test_staffing_in_a_scenario_file_and_its_checks() -> None:
    base = """
[[centers]]
id = "c"
[[queues]]
name = "q"
type = "care"
rate_per_hour = 10
[[agents]]
center = "c"
skills = "care:5"
{extra}
"""
    s = parse_scenario(base.format(extra="staffing = [1, 3, 2]\nstaffing_interval_s = 3600"), "f.toml")
    assert len(s.agents) == 3 and s.agents[0].plan is not None and s.agents[0].plan.levels == (1, 3, 2)
    for extra in ("staffing = [1, 2.5]", 'staffing = [1]\nshift = { start = "08:00", hours = 8 }',
                  "staffing = [-1]"):
        with pytest.raises(ScenarioError) as err:
            parse_scenario(base.format(extra=extra), "f.toml")
        assert "agents[0].staffing" in str(err.value)
