"""The canonical records: one definition of each schema, used everywhere.

Ingestion validates files against these schemas, the warehouse creates its tables from
them, and the simulator emits exactly these columns, so real and simulated data are
analysed by the same code. Types here are *logical* (string, timestamp, float, ...); each
adapter maps them to its own storage types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa


class Direction(StrEnum):
    """Who started the contact."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallType(StrEnum):
    """Why the contact happened: to sell, or to serve an existing customer."""

    SALES = "sales"
    CARE = "care"


class Outcome(StrEnum):
    """How a call ended. Which outcomes are allowed depends on type and answer."""

    SALE = "sale"
    NO_SALE = "no_sale"
    CALLBACK = "callback"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    ESCALATED = "escalated"
    ABANDONED = "abandoned"
    NO_ANSWER = "no_answer"


class Speaker(StrEnum):
    """Who said a transcript turn."""

    AGENT = "agent"
    CUSTOMER = "customer"


SALES_OUTCOMES = frozenset({Outcome.SALE, Outcome.NO_SALE, Outcome.CALLBACK})
CARE_OUTCOMES = frozenset({Outcome.RESOLVED, Outcome.UNRESOLVED, Outcome.ESCALATED})
UNANSWERED_OUTCOMES = {Direction.INBOUND: Outcome.ABANDONED, Direction.OUTBOUND: Outcome.NO_ANSWER}


class FieldType(StrEnum):
    """Logical column types; adapters map them to storage types."""

    STRING = "string"
    TIMESTAMP = "timestamp"
    FLOAT = "float"
    INTEGER = "integer"


@dataclass(frozen=True)
class Field:
    """One column of a canonical record.

    ``required`` means the value may not be empty; ``in_header`` means a file must carry
    the column at all (an optional column missing from a file is read as empty).
    ``date_only`` marks a timestamp that is a calendar date by nature (a hire date): it may
    be written without a time of day; every other timestamp is an instant and must have one.
    """

    name: str
    type: FieldType
    doc: str
    required: bool = False
    in_header: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    date_only: bool = False


@dataclass(frozen=True)
class RecordSchema:
    """A canonical record kind: its name (also the warehouse table), key and fields."""

    name: str
    key: str
    fields: tuple[Field, ...]
    doc: str
    rules: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """Column names in canonical order."""
        return [f.name for f in self.fields]

    @property
    def header_columns(self) -> list[str]:
        """Columns a file must carry to be read as this kind."""
        return [f.name for f in self.fields if f.in_header]

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of this record, as the simulator and readers emit it."""
        return pa.schema([pa.field(f.name, _ARROW[f.type], nullable=not f.required) for f in self.fields])


_ARROW = {
    FieldType.STRING: pa.string(),
    FieldType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    FieldType.FLOAT: pa.float64(),
    FieldType.INTEGER: pa.int64(),
}

S, T, F, I = FieldType.STRING, FieldType.TIMESTAMP, FieldType.FLOAT, FieldType.INTEGER


def _req(name: str, type_: FieldType, doc: str, **kw: object) -> Field:
    return Field(name, type_, doc, required=True, in_header=True, **kw)  # type: ignore[arg-type]


SKILLS_PATTERN = r"^\s*[A-Za-z][\w-]*\s*:\s*(10|[1-9])\s*(;\s*[A-Za-z][\w-]*\s*:\s*(10|[1-9])\s*)*;?\s*$"

CENTERS = RecordSchema(
    name="centers",
    key="center_id",
    doc="A site that handles calls, owned by a vendor or in-house.",
    fields=(
        _req("center_id", S, "Unique id of the site."),
        _req("vendor", S, "Owning vendor; `in-house` for the company's own sites."),
        _req("country", S, "ISO 3166-1 alpha-2 country code.", pattern=r"^[A-Z]{2}$"),
        _req("timezone", S, "IANA time zone, e.g. `Asia/Manila`; used for offset-less timestamps."),
        Field("name", S, "Display name."),
    ),
    rules=("country must be an ISO 3166-1 alpha-2 code", "timezone must be a known IANA zone"),
)

AGENTS = RecordSchema(
    name="agents",
    key="agent_id",
    doc="A person who handles calls, with skills and proficiencies.",
    fields=(
        _req("agent_id", S, "Unique id of the agent."),
        _req("center_id", S, "The center the agent works in."),
        _req("skills", S, "Skills with proficiency 1-10: `sales:8;care:5`.", pattern=SKILLS_PATTERN),
        Field("name", S, "Display name."),
        Field("team", S, "Team or supervisor group."),
        Field("hired_at", T, "Start date, for tenure.", date_only=True),
    ),
    rules=("center_id should name a known center (orphans are loaded and counted)",),
)

LEADS = RecordSchema(
    name="leads",
    key="lead_id",
    doc="A prospect handed to sales, from marketing or a partner.",
    fields=(
        _req("lead_id", S, "Unique id of the lead."),
        _req("created_at", T, "When the lead was created (speed-to-lead starts here)."),
        _req("source", S, "Where it came from: web_form, trade_show, partner, purchased_list, ..."),
        Field("name", S, "Person's name."),
        Field("phone", S, "Phone number as given."),
        Field("email", S, "E-mail address as given."),
        Field("company", S, "Company name."),
        Field("product", S, "Product of interest."),
        Field("country", S, "ISO 3166-1 alpha-2 country of the lead."),
    ),
)

LEAD_EVENTS = RecordSchema(
    name="lead_events",
    key="event_id",
    doc="Activity of a lead before it is called: a page visit, an e-mail opened, a form filled, a webinar.",
    fields=(
        _req("event_id", S, "Unique id of the event."),
        _req("lead_id", S, "The lead it belongs to (any of a person's source records)."),
        _req("at", T, "When it happened (only events before the call being ranked are features)."),
        _req("kind", S, "What happened: page_visit, email_open, form_fill, webinar, ..."),
        Field("value", F, "A measure of it, if any (seconds on the page, pages viewed)."),
    ),
    rules=("lead_id should name a known lead (orphans are loaded and counted)",),
)

CALLS = RecordSchema(
    name="calls",
    key="call_id",
    doc="Every contact, inbound or outbound, sales or care, with timing and outcome.",
    fields=(
        _req("call_id", S, "Unique id of the contact."),
        _req("center_id", S, "Center that offered/handled the call."),
        _req("queue", S, "Queue (or campaign) the call belongs to."),
        _req("direction", S, "`inbound` or `outbound`.", choices=tuple(Direction)),
        _req("call_type", S, "`sales` or `care`.", choices=tuple(CallType)),
        _req("offered_at", T, "When the call entered the queue (inbound) or was dialled (outbound)."),
        Field(
            "answered_at", T, "When an agent (inbound) or the customer (outbound) answered; empty if never.",
            in_header=True,
        ),
        _req("ended_at", T, "When the call ended (after talk and hold, before wrap-up)."),
        Field("agent_id", S, "Agent who handled it; empty if never answered."),
        Field("lead_id", S, "Lead the call was about, if any."),
        Field("hold_s", F, "Seconds on hold during the call.", minimum=0),
        Field("wrap_s", F, "After-call work seconds.", minimum=0),
        _req("outcome", S, "How it ended (see Outcome).", choices=tuple(Outcome)),
        Field("order_value", F, "Value of the order on a sale.", minimum=0),
        Field("csat", I, "Customer satisfaction 1-5, if surveyed.", minimum=1, maximum=5),
    ),
    rules=(
        "answered_at and ended_at are not before offered_at; ended_at not before answered_at",
        "an answered call has agent_id and a sales/care outcome matching call_type",
        "an unanswered call is `abandoned` (inbound) or `no_answer` (outbound)",
        "center_id / agent_id / lead_id should name known records (orphans are loaded and counted)",
    ),
)

TRANSCRIPT_TURNS = RecordSchema(
    name="transcripts",
    key="call_id",
    doc="Speaker-labelled turns of a call, one row per turn (JSON Lines: one call per line).",
    fields=(
        _req("call_id", S, "The call this transcript belongs to."),
        _req("turn", I, "Turn number from 0, in time order.", minimum=0),
        _req("speaker", S, "`agent` or `customer`.", choices=tuple(Speaker)),
        _req("start_s", F, "Seconds from answer when the turn starts.", minimum=0),
        _req("end_s", F, "Seconds from answer when the turn ends.", minimum=0),
        _req("text", S, "What was said."),
    ),
    rules=("end_s is not before start_s", "turns of one speaker do not overlap"),
)

RECORDS: dict[str, RecordSchema] = {
    s.name: s for s in (CENTERS, AGENTS, LEADS, CALLS, TRANSCRIPT_TURNS, LEAD_EVENTS)
}

_SKILL_ITEM = re.compile(r"([A-Za-z][\w-]*)\s*:\s*(\d+)")


def parse_skills(text: str) -> dict[str, int]:
    """``"sales:8;care:5"`` -> ``{"sales": 8, "care": 5}`` (proficiency 1-10)."""
    return {name: int(level) for name, level in _SKILL_ITEM.findall(text or "")}


def format_skills(skills: dict[str, int]) -> str:
    """Inverse of :func:`parse_skills`."""
    return ";".join(f"{k}:{v}" for k, v in skills.items())


def allowed_outcomes(call_type: CallType | str, answered: bool, direction: Direction | str) -> frozenset[Outcome]:
    """The outcomes a call may have; the one rule used by ingestion and the simulator."""
    if not answered:
        return frozenset({UNANSWERED_OUTCOMES[Direction(direction)]})
    return SALES_OUTCOMES if CallType(call_type) is CallType.SALES else CARE_OUTCOMES
