"""The declared mapping of a leads file's extra columns (``[leads.attributes.COLUMN]``).

Apart from :mod:`closeloop.leads.attributes` so that reading the settings costs no Arrow import.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from closeloop.errors import ConfigError


class AttributeType(StrEnum):
    """What an attribute's values are."""

    NUMBER = "number"
    CATEGORY = "category"
    BOOLEAN = "boolean"
    TIME = "time"
    TEXT = "text"


class KnownAt(StrEnum):
    """When an attribute's value becomes known, relative to the call being ranked."""

    CREATION = "creation"  # on the lead form or export row at creation: usable
    EVENT = "event"  # written by later activity before the call: usable
    AFTER_CALL = "after_call"  # written on or after the call (status, duration): never a feature


@dataclass(frozen=True)
class AttributeRule:
    """A declared mapping for one extra column (``[leads.attributes.COLUMN]`` in closeloop.toml)."""

    column: str
    rename: str | None = None
    type: AttributeType | None = None
    exclude: bool = False
    known_at: KnownAt | None = None


def parse_rules(section: dict[str, Any], where: str) -> dict[str, AttributeRule]:
    """Validate ``[leads.attributes]``: one table per column with rename/type/exclude/known_at."""
    rules = {}
    allowed = {"rename", "type", "exclude", "known_at"}
    for column, spec in section.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: leads.attributes.{column} must be a table like {{ type = \"number\" }}")
        unknown = set(spec) - allowed
        if unknown:
            raise ConfigError(f"{where}: leads.attributes.{column}: unknown key(s) {sorted(unknown)}; "
                              f"known: {sorted(allowed)}")
        try:
            kind = AttributeType(spec["type"]) if "type" in spec else None
            known = KnownAt(spec["known_at"]) if "known_at" in spec else None
        except ValueError as exc:
            raise ConfigError(f"{where}: leads.attributes.{column}: {exc}; types: "
                              f"{', '.join(AttributeType)}; known_at: {', '.join(KnownAt)}") from exc
        rename = spec.get("rename")
        if rename is not None and (not isinstance(rename, str) or not rename.strip()):
            raise ConfigError(f"{where}: leads.attributes.{column}.rename must be a non-empty name")
        rules[column] = AttributeRule(column, rename, kind, bool(spec.get("exclude", False)), known)
    return rules
