"""Calibration of a twin from calls: fits recover known truths, the twin file reads back,
and validation tells a faithful twin from a wrong one.

The "observed" calls are simulated from a scenario whose truth is known, then pushed
through exactly the path real data takes (canonical call records → calibration).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.sim.calibrate import (
    _slot_overlap,
    calibrate,
    calls_from_table,
    local_seconds,
    shift_groups,
)
from closeloop.sim.dists import make
from closeloop.sim.fitting import fit_durations, fit_patience, kaplan_meier
from closeloop.sim.runner import run_once
from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario, validate
from closeloop.sim.scenario_file import parse_scenario
from closeloop.sim.twin import hourly, simulated_hourly, to_toml, validate_twin
from tests.sim.test_cli import invoke

TZ = "Europe/Paris"
START = datetime(2026, 3, 2, tzinfo=ZoneInfo(TZ))  # a Monday


def test_kaplan_meier_matches_a_hand_computed_curve() -> None:
    # times 1(event) 2(censored) 3(event) 3(event) 4(censored): S(1) = 4/5, S(3) = 4/5 * (1 - 2/3)
    times, surv, risk = kaplan_meier(np.array([1, 2, 3, 3, 4.0]), np.array([1, 0, 1, 1, 0], dtype=bool))
    assert times.tolist() == [1.0, 3.0] and risk.tolist() == [5, 3]
    assert surv == pytest.approx([0.8, 0.8 / 3])


def test_fitted_talk_family_recovers_the_truth_and_falls_back_to_empirical() -> None:
    rng = np.random.default_rng(1)
    d, fits = fit_durations(make("gamma", mean=200.0, sd=120.0).sample(rng, 20_000))
    assert d.kind == "gamma" and fits[0].ks < 0.01
    assert d.mean() == pytest.approx(200.0, rel=0.03) and d["sd"] == pytest.approx(120.0, rel=0.03)
    bimodal = np.r_[rng.normal(30, 3, 5000), rng.normal(600, 30, 5000)]
    d2, fits2 = fit_durations(bimodal)
    assert d2.kind == "empirical" and fits2[0].ks > 0.05
    assert d2.mean() == pytest.approx(bimodal.mean(), rel=0.01)


@pytest.mark.parametrize("truth", [make("exponential", mean=120.0), make("weibull", shape=0.6, scale=150.0)])
def test_patience_is_recovered_under_censoring(truth) -> None:  # type: ignore[no-untyped-def]
    """Served callers' waits are lower bounds: treating them as events, or dropping them,
    would be badly biased; the censored fit is not."""
    rng = np.random.default_rng(4)
    patience = truth.sample(rng, 40_000)
    service_wait = rng.exponential(60.0, 40_000)  # when an agent would have answered
    abandoned = patience < service_wait
    wait = np.minimum(patience, service_wait)
    d, fits = fit_patience(wait, abandoned)
    assert d.kind == truth.kind
    assert d.mean() == pytest.approx(truth.mean(), rel=0.08)
    assert wait[abandoned].mean() < 0.5 * truth.mean()  # the naive estimate is far off
    assert fits[0].ks < 0.02  # the chosen family follows Kaplan–Meier


@settings(max_examples=40, deadline=None)
@given(st.integers(1_600_000_000, 1_900_000_000), st.sampled_from(["Europe/Paris", "America/New_York",
                                                                    "Asia/Jerusalem", "UTC"]))
def test_local_seconds_agree_with_zoneinfo(t: int, tz: str) -> None:
    local = datetime.fromtimestamp(t, ZoneInfo(tz)).replace(tzinfo=UTC).timestamp()
    assert local_seconds(np.array([float(t)]), tz)[0] == local


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 7000), st.floats(0, 3000)), min_size=1, max_size=20))
def test_slot_overlap_is_the_brute_force_overlap(spans: list[tuple[float, float]]) -> None:
    a = np.array([s for s, _ in spans])
    b = a + np.array([d for _, d in spans])
    want = [sum(max(0.0, min(y, (k + 1) * 1800.0) - max(x, k * 1800.0)) for x, y in zip(a, b, strict=True))
            for k in range(6)]
    assert _slot_overlap(a, b, 6) == pytest.approx(want, abs=1e-6)


def test_shift_groups_reproduce_the_staffing_curve() -> None:
    staffing = [0] * (7 * 48)
    for d in range(5):
        for h in range(16, 36):
            staffing[d * 48 + h] = 3 + (h >= 20) + (h >= 24) * 2
    s = Scenario(days=7, start=START, timezone=TZ, centers=[Center("c", timezone=TZ)],
                 queues=[QueueSpec("q", call_type="care", rate_per_hour=1.0)],
                 agents=[])
    from closeloop.sim.scenario import AgentGroup, expand_groups
    s.agents = expand_groups([AgentGroup(center="c", count=n, skills="care:5", prefix=f"g{i}-", shift=sh)
                              for i, (sh, n) in enumerate(shift_groups(staffing))])
    validate(s)
    from closeloop.sim.world import build_world
    w = build_world(s, s.make_policy())
    got = np.zeros(7 * 48)
    for spans in w.duty:
        for on, off in spans:
            got[int(on // 1800):int(off // 1800)] += 1
    assert got.tolist() == staffing


def _truth(days: float = 14.0) -> Scenario:
    day = [0.0] * 16 + [40.0] * 24 + [0.0] * 8  # 08:00-20:00
    return Scenario(
        name="truth", start=START, days=days, timezone=TZ, seed=9, policy="global_order",
        centers=[Center("c", country="FR", timezone=TZ)],
        queues=[QueueSpec("care", call_type="care", rate_per_hour=day, talk=make("gamma", mean=240.0, sd=150.0),
                          patience=make("exponential", mean=180.0), retrial_prob=0.4,
                          retrial_delay=make("fixed", value=300.0))],
        agents=[Agent(f"a{i}", "c", {"care": 5}) for i in range(3)],
    )


def _observed(s: Scenario) -> pa.Table:
    """The truth's calls as records, with the caller key a real log would carry."""
    t = run_once(s).calls()
    caller = pc.replace_substring_regex(t["call_id"], r"-r\d+$", "")
    return t.append_column("caller", caller)


def test_calibration_recovers_the_truth_of_a_simulated_center() -> None:
    s = _truth()
    t = _observed(s)
    cal = calibrate(calls_from_table(t, START, TZ, "caller"), "c", TZ, START, 14)
    q = cal.queues[0]
    fresh = (pc.match_substring_regex(t["call_id"], r"-r\d+$").to_numpy(zero_copy_only=False) == 0).sum()
    assert q.callbacks == t.num_rows - fresh  # every call-back found, nothing else
    assert sum(q.profile) / 2 * 2 == pytest.approx(fresh, rel=1e-9)  # 2 weeks of half-hours, per hour
    busy = [r for r in q.profile if r > 0]
    assert np.mean(busy) == pytest.approx(40.0, rel=0.1)
    assert q.talk.mean() == pytest.approx(240.0, rel=0.05)
    assert q.patience is not None and q.patience.mean() == pytest.approx(180.0, rel=0.25)
    assert q.retrial_prob == pytest.approx(0.4, abs=0.06)
    assert q.retrial_delay is not None and q.retrial_delay.mean() == pytest.approx(300.0, rel=0.02)
    open_hours = [cal.staffing[d * 48 + h] for d in range(7) for h in range(17, 39)]
    assert np.median(open_hours) == 3  # three agents, busy all day
    assert max(cal.staffing[d * 48 + h] for d in range(7) for h in range(0, 14)) <= 1


def test_the_twin_file_reads_back_and_validates() -> None:
    s = _truth(days=7)
    cal = calibrate(calls_from_table(_observed(s), START, TZ, "caller"), "c", TZ, START, 7)
    twin = parse_scenario(to_toml(cal, "test"), "twin.toml")
    validate(twin)
    tq, cq = twin.queues[0], cal.queues[0]
    assert tq.profile() == pytest.approx(cq.profile) and tq.profile_period == "week"
    assert tq.talk is not None and tq.talk.mean() == pytest.approx(cq.talk.mean(), rel=1e-5)
    assert twin.start == START and twin.days == 7 and len(twin.agents) >= 3


def test_validation_accepts_a_faithful_twin_and_flags_a_wrong_one() -> None:
    s = _truth(days=7)
    obs = hourly(run_once(s, seed=123).calls(), TZ, START, 7, {"care": 20.0})
    good = validate_twin(obs, simulated_hourly(s, 4), ["care"])
    rows = [r for r in good if r["queue"] == "care"]
    assert len(rows) > 10
    verdicts = [r[f"{m}_verdict"] for r in rows for m in ("service_level", "asa", "abandonment")]
    assert verdicts.count("agrees") / len(verdicts) > 0.85
    short = _truth(days=7)
    short.agents = short.agents[:2]
    bad = validate_twin(obs, simulated_hourly(short, 4), ["care"])
    overall = next(r for r in bad if r["queue"] == "care" and r["hour"] == "all")
    assert overall["service_level_verdict"] == "differs" and overall["service_level_sim"] < overall[
        "service_level_obs"]


def test_calibrate_and_validate_commands_end_to_end(tmp_path: Path) -> None:
    s = _truth(days=7)
    invoke("init", str(tmp_path), cwd=tmp_path)
    from closeloop.ingest import ingest_arrow
    from closeloop.settings import load_settings
    from closeloop.warehouse import open_warehouse

    r = run_once(s)
    with open_warehouse(load_settings(tmp_path)) as wh:
        for record, table in r.tables().items():
            if table.num_rows:
                ingest_arrow(wh, record, table, source="truth")
    out = tmp_path / "twin.toml"
    res = invoke("calibrate", "-o", str(out), "--from", "2026-03-02", "--to", "2026-03-08", "-f", "json",
                 cwd=tmp_path)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["queue"] == "care"
    twin = parse_scenario(out.read_text(), str(out))
    assert twin.timezone == TZ and twin.days == 7  # the center's time zone came from its record
    res = invoke("simulate", str(out), "--validate", "-n", "2", "-f", "json", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert any(r["queue"] == "care" and r["hour"] == "all" for r in rows)
    assert all(0.0 <= r["service_level_sim"] <= 1.0 for r in rows if "service_level_sim" in r
               and not math.isnan(r["service_level_sim"]))


def test_calibrate_refuses_an_empty_selection(tmp_path: Path) -> None:
    from closeloop.errors import InputError

    invoke("init", str(tmp_path), cwd=tmp_path)
    with pytest.raises(InputError, match="no inbound calls"):
        invoke("calibrate", "-o", str(tmp_path / "x.toml"), cwd=tmp_path)


def test_a_period_of_whole_local_days() -> None:
    from closeloop.sim.calibrate import period

    a = datetime(2026, 3, 2, 23, 30, tzinfo=ZoneInfo(TZ)).timestamp()
    b = (datetime(2026, 3, 2, 23, 30, tzinfo=ZoneInfo(TZ)) + timedelta(days=2, hours=1)).timestamp()
    start, days = period(a, b, TZ)
    assert start == START and days == 4


def test_calibration_splits_busyness_into_shared_and_own() -> None:
    from closeloop.sim.scenario import Busyness

    days = 120
    s = Scenario(
        name="busy", start=START, days=days, timezone=TZ, seed=5, policy="longest_idle",
        centers=[Center("c", timezone=TZ)],
        queues=[QueueSpec(n, call_type="care", skill=n, rate_per_hour=40.0, talk=make("fixed", value=1.0),
                          busyness_sd=own) for n, own in (("a", 0.0), ("b", 0.2), ("tiny", 0.0))],
        agents=[Agent(f"{n}{i}", "c", {n: 5}) for n in ("a", "b", "tiny") for i in range(2)],
        busyness=[Busyness(["a", "b"], 0.3)],
    )
    s.queues[2].rate_per_hour = 0.5  # 12 calls a day: too few to tell shared from own
    cal = calibrate(calls_from_table(run_once(s).calls(), START, TZ), "c", TZ, START, days)
    assert cal.shared_queues == ["a", "b"]
    assert cal.shared_sd == pytest.approx(0.3, abs=0.07)
    own = {q.name: q.busyness_sd for q in cal.queues}
    assert own["a"] < 0.1 and own["b"] == pytest.approx(0.2, abs=0.08)
    twin = parse_scenario(to_toml(cal), "twin.toml")
    assert twin.busyness[0].queues == ["a", "b"] and twin.busyness[0].sd == pytest.approx(cal.shared_sd)


def test_a_replay_twin_follows_the_period_half_hour_by_half_hour() -> None:
    s = _truth(days=7)
    cal = calibrate(calls_from_table(_observed(s), START, TZ, "caller"), "c", TZ, START, 7, replay=True)
    assert len(cal.period_staffing) == 7 * 48
    twin = parse_scenario(to_toml(cal), "twin.toml")
    validate(twin)
    plan = twin.agents[0].plan
    assert plan is not None and list(plan.levels) == cal.period_staffing and plan.interval_s == 1800.0
    r = run_once(twin)
    assert r.engine == "event" and max(cal.period_staffing) == len(twin.agents)
    # on duty as planned: idle agents leave at a drop, busy ones at most one call later
    staffed = sum(b - a for spans in r.world.duty for a, b in spans)
    assert 1800.0 * sum(cal.period_staffing) <= staffed + 1e-6


def test_skill_groups_recover_who_serves_what() -> None:
    from closeloop.sim.twin_skills import agent_skills

    day = [0.0] * 16 + [30.0] * 24 + [0.0] * 8
    s = Scenario(
        name="skills", start=START, days=7, timezone=TZ, seed=3, policy="global_order",
        centers=[Center("c", timezone=TZ)],
        queues=[QueueSpec("main", call_type="care", skill="main", rate_per_hour=day,
                          talk=make("exponential", mean=200.0)),
                QueueSpec("english", call_type="care", skill="english", rate_per_hour=[r / 6 for r in day],
                          talk=make("exponential", mean=200.0))],
        agents=[Agent(f"m{i}", "c", {"main": 5}) for i in range(3)]
        + [Agent(f"e{i}", "c", {"main": 5, "english": 5}) for i in range(2)],
    )
    t = run_once(s).calls()
    c = calls_from_table(t, START, TZ)
    skills = agent_skills(c)
    assert {a: sorted(v) for a, v in skills.items()} == {
        **{f"m{i}": ["main"] for i in range(3)}, **{f"e{i}": ["english", "main"] for i in range(2)}}
    cal = calibrate(c, "c", TZ, START, 7, skill_groups=True)
    assert sorted(q for q, _ in cal.skill_groups) == [["english", "main"], ["main"]]
    weekly = {tuple(q): w for q, w in cal.skill_groups}
    total = np.add(weekly[("english", "main")], weekly[("main",)])
    assert total.max() == 5 and np.median(total[total > 0]) == 5  # the five agents, busy all day
    assert max(weekly[("english", "main")]) == 2
    twin = parse_scenario(to_toml(cal), "twin.toml")
    validate(twin)
    assert {tuple(sorted(a.skills)) for a in twin.agents} == {("english", "main"), ("main",)}


@pytest.mark.parametrize(("args", "message"), [
    (["--timezone", "Mars/Base"], "unknown time zone"),
    (["--from", "2026-03-08", "--to", "2026-03-02"], "is after"),
    (["--caller-column", "nope"], "no column 'nope'"),
])
def test_calibrate_says_what_is_wrong_with_its_options(tmp_path: Path, args: list[str], message: str) -> None:
    from closeloop.errors import InputError
    from closeloop.ingest import ingest_arrow
    from closeloop.settings import load_settings
    from closeloop.warehouse import open_warehouse

    invoke("init", str(tmp_path), cwd=tmp_path)
    with open_warehouse(load_settings(tmp_path)) as wh:
        for record, table in run_once(_truth(days=1)).tables().items():
            if table.num_rows:
                ingest_arrow(wh, record, table, source="truth")
    with pytest.raises(InputError, match=message):
        invoke("calibrate", "-o", str(tmp_path / "x.toml"), *args, cwd=tmp_path)
