"""The shape of a scenario file, generated from the scenario's own dataclasses (``closeloop schema scenario``).

Why generated: the scenario's tables (``[[queues]]``, ``[[agents]]``, ...) are the fields of
:mod:`closeloop.sim.scenario`'s dataclasses. Writing a second model by hand would drift from
them; here each table's model is built from the dataclass's type hints (with the file's names
for renamed keys: ``type`` for ``call_type``, ``id`` for ``center_id``), so a new field is in
the schema the day it is added. :func:`check_shape` runs the file through them by the one
configuration mechanism (:mod:`closeloop.config`): unknown keys answered with the closest
valid name, types checked. Ranges and required values stay with the domain's checks.
"""

from __future__ import annotations

import typing
from dataclasses import fields
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

#: Table -> (dataclass name, file key for a renamed field, fields the file gives elsewhere).
_TABLES: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "centers": ("Center", {"center_id": "id"}, ()),
    "queues": ("QueueSpec", {"call_type": "type"}, ("talk", "wrap", "patience", "retrial_delay", "leads")),
    "agents": ("AgentGroup", {}, ("shift",)),
    "shift": ("Shift", {}, ()),
    "outcomes": ("OutcomeModel", {}, ()),
    "busyness": ("Busyness", {}, ()),
    "leads": ("Lead", {}, ()),
}
_LENIENT = ConfigDict(extra="forbid", populate_by_name=True, arbitrary_types_allowed=True)


def _table_model(table: str) -> type[BaseModel]:
    from closeloop.sim import scenario

    cls_name, renames, later = _TABLES[table]
    cls = getattr(scenario, cls_name)
    hints = typing.get_type_hints(cls)
    spec: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in later:
            continue
        spec[f.name] = (hints[f.name] | None, Field(None, alias=renames.get(f.name)))
    return create_model(f"{cls_name}Table", __config__=_LENIENT, **spec)


class DistTable(BaseModel):
    """A distribution: ``{ dist = "gamma", mean = 300, sd = 200 }`` (docs/simulator.md, "Distributions")."""

    model_config = ConfigDict(extra="allow")
    dist: str = Field(description="fixed, exponential, uniform, triangular, gamma, lognormal, weibull or empirical")


class HeadTable(BaseModel):
    """``[scenario]``: name, start, length, time zone and seed."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    start: Any = Field(None, description="A TOML date-time (the first day's midnight)")
    days: float | None = None
    timezone: str | None = None
    seed: int | None = None


def _optional(kind: Any) -> Any:
    """``(kind | None, None)``: an optional field for :func:`pydantic.create_model` (kinds built at run time)."""
    return (kind | None, None)


@cache
def scenario_model() -> type[BaseModel]:
    """The whole file's model (built once)."""
    dists: dict[str, Any] = {k: _optional(DistTable) for k in ("talk", "wrap", "patience", "retrial_delay")}
    queue: Any = create_model("QueueTable", __base__=_table_model("queues"), **dists,
                              leads=_optional(list[_table_model("leads")]))  # type: ignore[misc]
    agents: Any = create_model("AgentsTable", __base__=_table_model("agents"),
                               shift=_optional(_table_model("shift")))
    named = Field(None, description="a built-in policy or 'package.module:Class'")
    policy: Any = create_model("PolicyTable", __config__=ConfigDict(extra="allow"), name=(str | None, named))
    tables: dict[str, Any] = {
        "scenario": _optional(HeadTable), "centers": _optional(list[_table_model("centers")]),  # type: ignore[misc]
        "queues": _optional(list[queue]), "agents": _optional(list[agents]),
        "outcomes": _optional(_table_model("outcomes")), "policy": _optional(policy),
        "busyness": _optional(list[_table_model("busyness")]),  # type: ignore[misc]
    }
    model: type[BaseModel] = create_model("ScenarioFile", __config__=ConfigDict(extra="forbid"),
                                          __doc__="A scenario file (docs/simulator.md): what the simulator runs.",
                                          **tables)
    return model


def check_shape(data: dict[str, Any], path: str) -> None:
    """Refuse unknown keys (with the closest valid name) and wrong types, by :func:`closeloop.config.validate`."""
    from closeloop.config import validate

    validate(scenario_model(), data, path)


__all__ = ["check_shape", "scenario_model"]
