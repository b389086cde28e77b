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


#: Entry-point group where installed packages register their own policies (name = "pkg.mod:Class").
ENTRY_POINTS = "closeloop.policies"


def policy_class(name: str) -> type[Policy]:
    """The policy class a scenario names: built-in, registered by entry point, or a dotted path.

    A user's own policy (a :class:`Policy` subclass, as Ciw lets users bring their own
    routing) is named ``"package.module:ClassName"`` (or ``package.module.ClassName``) in a
    scenario, or registered under the ``closeloop.policies`` entry-point group and named by
    its entry-point name. Either way it runs through the same checks as a built-in one.
    """
    if name in POLICIES:
        return POLICIES[name]
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINTS):
        if ep.name == name:
            return _checked(name, ep.load())
    if "." in name or ":" in name:
        module, _, attr = name.partition(":") if ":" in name else name.rpartition(".")
        import importlib

        try:
            return _checked(name, getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError) as exc:
            raise PolicyParamError("policy", f"cannot load policy {name!r}: {exc}") from None
    raise PolicyParamError("policy", f"unknown policy {name!r}; built-in: {sorted(POLICIES)}, "
                                     "or a class of yours as 'package.module:Class'")


def _checked(name: str, obj: Any) -> type[Policy]:
    if not (isinstance(obj, type) and issubclass(obj, Policy)):
        raise PolicyParamError("policy", f"{name!r} is not a closeloop.routing.Policy subclass")
    return obj


def make_policy(name: str, **params: Any) -> Policy:
    """Build a policy by name (:func:`policy_class`); unknown names and bad parameters raise PolicyParamError."""
    return policy_class(name)(**params)


__all__ = [
    "POLICIES", "AgentDef", "AgentFree", "AgentState", "Arrival", "Assign", "BestSkill", "ChangeMode",
    "Contact", "Decision", "Dial", "Event", "GlobalOrder", "LongestIdle", "Param", "Policy",
    "PolicyParamError", "QueueDef", "RouterState", "SetTimer", "SkillExpansion", "StickyBlend",
    "ThresholdDialer", "Timer", "global_head", "make_policy", "policy_class",
]
