"""Routing and blending policies, shared by the simulator and a live router (pure, no I/O).

>>> from closeloop.routing import make_policy
>>> make_policy("sticky_blend", min_dwell_s=600).p["min_dwell_s"]
600.0
"""

from typing import Any

from closeloop.routing.blending import StickyBlend
from closeloop.routing.dialing import ThresholdDialer
from closeloop.routing.model import (
    AgentDef,
    AgentFree,
    AgentState,
    Arrival,
    Assign,
    ChangeMode,
    Contact,
    Decision,
    Dial,
    Event,
    QueueDef,
    SetTimer,
    Timer,
)
from closeloop.routing.policies import BestSkill, GlobalOrder, LongestIdle, SkillExpansion
from closeloop.routing.policy import Param, Policy, PolicyParamError, global_head
from closeloop.routing.state import RouterState

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (LongestIdle, BestSkill, GlobalOrder, StickyBlend, ThresholdDialer, SkillExpansion)
}


def make_policy(name: str, **params: Any) -> Policy:
    """Build a built-in policy by name; unknown names and bad parameters raise PolicyParamError."""
    try:
        cls = POLICIES[name]
    except KeyError:
        raise PolicyParamError("policy", f"unknown policy {name!r}; built-in: {sorted(POLICIES)}") from None
    return cls(**params)


__all__ = [
    "POLICIES", "AgentDef", "AgentFree", "AgentState", "Arrival", "Assign", "BestSkill", "ChangeMode",
    "Contact", "Decision", "Dial", "Event", "GlobalOrder", "LongestIdle", "Param", "Policy",
    "PolicyParamError", "QueueDef", "RouterState", "SetTimer", "SkillExpansion", "StickyBlend",
    "ThresholdDialer", "Timer", "global_head", "make_policy",
]
