"""Small scenarios shared by the simulator tests."""

from __future__ import annotations

import pytest

from closeloop.sim.scenario import Agent, Center, QueueSpec, Scenario, Shift


def single_queue(agents: int = 10, calls_per_hour: float = 108.0, aht: float = 300.0, patience: float = 0.0,
                 days: float = 1.0, policy: str = "global_order", seed: int = 1) -> Scenario:
    """M/M/c (+M when ``patience``) with exponential talk time and identical agents."""
    return Scenario(
        days=days, seed=seed, centers=[Center("c1")],
        queues=[QueueSpec("care_in", call_type="care", rate_per_hour=calls_per_hour, handle_dist="exponential",
                          handle_mean_s=aht, patience_mean_s=patience)],
        agents=[Agent(f"a{i:03d}", "c1", {"care": 5}) for i in range(agents)], policy=policy,
    )


def blended(days: float = 1.0, seed: int = 3, policy: str = "sticky_blend", shifts: bool = True) -> Scenario:
    """Inbound sales and care plus an outbound campaign, sticky modes, retrials and shifts."""
    day = Shift("07:00", 10.0, "mon-sun") if shifts else None
    late = Shift("12:00", 10.0, "mon-sun") if shifts else None
    agents = (
        [Agent(f"S{i:02d}", "us", {"sales": 4 + i % 6, "care": 3}, day if i % 2 else late, "sales_in")
         for i in range(12)]
        + [Agent(f"C{i:02d}", "ph", {"care": 6, "sales": 3 + i % 5}, day if i % 2 else late, "care_in")
           for i in range(12)]
        + [Agent(f"O{i:02d}", "ph", {"outbound": 6, "sales": 5}, day, "sales_out") for i in range(6)]
    )
    params = {"min_dwell_s": 600.0, "review_s": 60.0, "pulls": [
        {"from": "sales_out", "to": "sales_in", "start_waiting": 3, "stop_waiting": 0, "max_agents": 4, "step": 2},
        {"from": "care_in", "to": "sales_in", "start_waiting": 6, "stop_waiting": 1, "max_agents": 5, "step": 2},
    ]} if policy == "sticky_blend" else {}
    return Scenario(
        days=days, seed=seed, timezone="UTC",
        centers=[Center("us", timezone="UTC"), Center("ph", vendor="bpo", country="PH", timezone="Asia/Manila",
                                                     close_factor=0.8)],
        queues=[
            QueueSpec("sales_in", call_type="sales", skill="sales", priority=2,
                      rate_per_hour=[0, 0, 0, 0, 0, 0, 0, 60, 110, 140, 150, 140, 130, 130, 120, 110, 100, 80, 60,
                                     40, 20, 0, 0, 0], patience_mean_s=120, retrial_prob=0.3, lead_quality_sd=0.4),
            QueueSpec("care_in", call_type="care", skill="care", priority=1, rate_per_hour=90.0, patience_mean_s=200,
                      handle_mean_s=240),
            QueueSpec("sales_out", call_type="sales", direction="outbound", skill="outbound", rate_per_hour=40.0,
                      initial_leads=200, reach_prob=0.4, max_attempts=3, retry_after_s=1800),
        ],
        agents=agents, policy=policy, policy_params=params,
    )


@pytest.fixture
def blended_scenario() -> Scenario:
    """A fresh blended scenario."""
    return blended()
