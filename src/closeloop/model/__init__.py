"""The one vocabulary: canonical records and their enums."""

from closeloop.model.countries import ISO_COUNTRIES
from closeloop.model.records import (
    AGENTS,
    CALLS,
    CARE_OUTCOMES,
    CENTERS,
    LEAD_EVENTS,
    LEADS,
    RECORDS,
    SALES_OUTCOMES,
    TRANSCRIPT_TURNS,
    UNANSWERED_OUTCOMES,
    CallType,
    Direction,
    Field,
    FieldType,
    Outcome,
    RecordSchema,
    Speaker,
    allowed_outcomes,
    format_skills,
    parse_skills,
)

__all__ = [
    "AGENTS", "CALLS", "CARE_OUTCOMES", "CENTERS", "ISO_COUNTRIES", "LEADS", "LEAD_EVENTS", "RECORDS",
    "SALES_OUTCOMES", "TRANSCRIPT_TURNS", "UNANSWERED_OUTCOMES", "CallType", "Direction",
    "Field", "FieldType", "Outcome", "RecordSchema", "Speaker", "allowed_outcomes",
    "format_skills", "parse_skills",
]
