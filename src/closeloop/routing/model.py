"""The routing vocabulary: queues, agents, contacts, events and decisions.

These are plain data objects shared by the simulator and a live router. A policy sees
them through :class:`closeloop.routing.state.RouterState` and answers with decisions;
whoever owns the clock (the simulator's event list, or a telephony switch) applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from closeloop.model import CallType, Direction


@dataclass(frozen=True)
class QueueDef:
    """A queue (or outbound campaign).

    ``skill`` is the agent skill it needs; ``priority`` orders queues in global order
    (higher is served first); an outbound queue holds leads ready to dial. ``selection``
    says which free agent takes an arrival (:meth:`RouterState.pick_agent`): the longest
    idle, one at random, or the longest idle of the first group in ``agent_order`` that
    has one free (inbound-only agents before blended ones, say).
    """

    name: str
    call_type: CallType
    direction: Direction
    skill: str
    priority: int = 0
    selection: str = "longest_idle"
    agent_order: tuple[str, ...] = ()

    @property
    def outbound(self) -> bool:
        """True when contacts in this queue are leads to dial, not callers waiting."""
        return self.direction is Direction.OUTBOUND


@dataclass(frozen=True)
class AgentDef:
    """An agent: skills with proficiency 1-10, a center and a home mode (for blending)."""

    agent_id: str
    center_id: str
    skills: dict[str, int]
    home_mode: str | None = None
    group: str = ""


@dataclass(slots=True)
class Contact:
    """A caller waiting (inbound) or a lead ready to dial (outbound).

    ``key`` is the owner's handle (the simulator's job number, a switch's call id).
    """

    key: int
    queue: str
    arrived_at: float
    priority: int = 0
    connected: bool = False  # an outbound lead who answered a predictive dial
    gone: bool = False  # abandoned or taken; skipped lazily by the state
    u: float = 0.0  # the contact's own uniform draw: random agent choice stays reproducible


@dataclass(slots=True)
class AgentState:
    """What a policy may know about an agent right now."""

    agent: AgentDef
    index: int
    mode: str | None = None
    home_mode: str | None = None
    mode_since: float = 0.0
    on_shift: bool = False
    busy: bool = False
    idle_since: float | None = None
    serving: tuple[str, ...] = ()
    calls_in_mode: int = 0

    @property
    def agent_id(self) -> str:
        """The agent's id."""
        return self.agent.agent_id


# ---- events a policy is told about -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arrival:
    """A contact joined a queue (a caller, a lead becoming ready, an answered predictive dial)."""

    contact: Contact


@dataclass(frozen=True, slots=True)
class AgentFree:
    """An agent finished wrap-up or started a shift and can take work."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer fired: a periodic review (``contact`` None) or one the policy set for a contact."""

    tag: str
    contact: Contact | None = None


Event = Arrival | AgentFree | Timer

# ---- decisions a policy returns ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assign:
    """Connect a waiting contact to an idle agent (for an outbound lead: the agent dials it)."""

    contact: Contact
    agent_id: str


@dataclass(frozen=True, slots=True)
class Dial:
    """Predictive pacing: dial ``lines`` leads of ``queue`` without reserving an agent.

    Whoever answers becomes an :class:`Arrival` that must find an idle agent quickly or is
    dropped (counted against the abandon-rate cap).
    """

    queue: str
    lines: int = 1


@dataclass(frozen=True, slots=True)
class ChangeMode:
    """Put an agent in another mode; a busy agent switches when its current call ends."""

    agent_id: str
    mode: str


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Ask to be told (:class:`Timer`) at time ``at``, e.g. to widen a contact's agent pool."""

    at: float
    tag: str
    contact: Contact | None = None


Decision = Assign | Dial | ChangeMode | SetTimer


@dataclass
class Counters:
    """Running totals a policy may read (the pacing cap needs them)."""

    dialed: int = 0
    connected: int = 0
    dropped: int = 0
    extra: dict[str, int] = field(default_factory=dict)
