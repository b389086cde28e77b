"""The policy interface: one object, two clocks.

A policy is a deterministic object. Given the :class:`RouterState` and an event
(:class:`Arrival`, :class:`AgentFree`, :class:`Timer`) it returns decisions
(:class:`Assign`, :class:`Dial`, :class:`ChangeMode`, :class:`SetTimer`); an empty list
means "hold". It never reads a clock or a random generator and never touches the
simulator: the simulator calls it with simulated time, a live router with wall-clock
time. Write your own by subclassing :class:`Policy` and overriding the ``on_*`` methods.

Parameters are declared as :class:`Param` and checked when the policy is built, so a
scenario with a bad value fails before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from closeloop.errors import InputError
from closeloop.routing.model import (
    AgentFree,
    AgentState,
    Arrival,
    Assign,
    Contact,
    Decision,
    Event,
    QueueDef,
    Timer,
)
from closeloop.routing.state import RouterState


class PolicyParamError(InputError):
    """A policy parameter is unknown or out of range (``key`` names it)."""

    def __init__(self, key: str, problem: str) -> None:
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}")


@dataclass(frozen=True)
class Param:
    """A documented policy parameter with its default and allowed range."""

    name: str
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to the default's type, or raise PolicyParamError."""
        kind = type(self.default)
        if kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PolicyParamError(self.name, f"must be a number, got {value!r}")
            if kind is int and float(value) != int(value):
                raise PolicyParamError(self.name, f"must be a whole number, got {value!r}")
            value = kind(value)
            if self.minimum is not None and value < self.minimum:
                raise PolicyParamError(self.name, f"{value} is below the minimum {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise PolicyParamError(self.name, f"{value} is above the maximum {self.maximum}")
        elif self.default is not None and not isinstance(value, kind):
            raise PolicyParamError(self.name, f"must be a {kind.__name__}, got {value!r}")
        return value


class Policy:
    """Base class of routing policies: longest-idle agent and FCFS by default.

    Subclasses set ``name``, ``summary`` and ``params`` and override the ``on_*`` hooks.
    ``review_s`` (a parameter, when declared) asks the clock owner for a periodic
    :class:`Timer` with tag ``"review"``.
    """

    name: ClassVar[str] = "base"
    summary: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **values: Any) -> None:
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise PolicyParamError(unknown[0], f"unknown parameter of policy {self.name!r}; known: {sorted(known)}")
        self.p: dict[str, Any] = {n: p.check(values[n]) if n in values else p.default for n, p in known.items()}
        self.queues: dict[str, QueueDef] = {}
        self.check()

    def check(self) -> None:
        """Cross-parameter checks (e.g. hysteresis bounds); raise PolicyParamError."""

    # ---- what the clock owner asks --------------------------------------------

    @property
    def review_s(self) -> float | None:
        """Period of the review timer, or None when the policy needs none."""
        value = self.p.get("review_s")
        return None if value is None else float(value)

    @property
    def modes(self) -> dict[str, tuple[str, ...]] | None:
        """Named agent modes (mode -> queues it serves), or None when agents serve all their skills."""
        return None

    def setup(self, queues: list[QueueDef], agents: list[Any]) -> None:
        """Called once before the first event: check parameters against the queues and agents."""
        self.queues = {q.name: q for q in queues}

    def pooled(self, state: RouterState) -> bool:
        """True when every agent serves exactly one queue FCFS with longest-idle choice and
        the policy acts only on review timers — then the simulator may use its exact fast path."""
        return False

    def decide(self, state: RouterState, event: Event) -> list[Decision]:
        """Dispatch an event to the matching hook."""
        if isinstance(event, Arrival):
            return self.on_arrival(state, event.contact)
        if isinstance(event, AgentFree):
            return self.on_agent_free(state, state.agent(event.agent_id))
        if isinstance(event, Timer):
            return self.on_timer(state, event)
        raise TypeError(f"unknown event {event!r}")

    # ---- hooks ------------------------------------------------------------------

    def on_arrival(self, state: RouterState, contact: Contact) -> list[Decision]:
        """A contact arrived: give it to the free agent its queue's selection rule picks
        (longest idle by default), if any."""
        if self.queues[contact.queue].outbound and not contact.connected:
            return self.on_lead_ready(state, contact)
        agent = state.pick_agent(contact)
        return [Assign(contact, agent.agent_id)] if agent is not None else []

    def on_lead_ready(self, state: RouterState, contact: Contact) -> list[Decision]:
        """A lead became ready to dial: an idle agent serving the campaign dials it."""
        agent = state.longest_idle(contact.queue)
        return [Assign(contact, agent.agent_id)] if agent is not None else []

    def on_agent_free(self, state: RouterState, agent: AgentState) -> list[Decision]:
        """An agent is free: take the head of its first queue (in scenario order) that has one."""
        for q in agent.serving:
            c = state.head(q)
            if c is not None:
                return [Assign(c, agent.agent_id)]
        return []

    def on_timer(self, state: RouterState, timer: Timer) -> list[Decision]:
        """A timer fired; the base policy sets none."""
        return []


def global_head(state: RouterState, queues: tuple[str, ...]) -> Contact | None:
    """The contact an agent serving ``queues`` takes in strict global order:
    highest queue priority first, then the longest wait, across all the queues."""
    best: Contact | None = None
    best_key: tuple[int, float] | None = None
    for q in queues:
        c = state.head(q)
        if c is None:
            continue
        key = (-state.queues[q].priority, c.arrived_at)
        if best_key is None or key < best_key:
            best, best_key = c, key
    return best


def single_queue_agents(state: RouterState) -> bool:
    """True when every agent serves exactly one queue (so queues are separate pools)."""
    return all(len(a.serving) == 1 for a in state.agents)
