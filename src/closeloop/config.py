"""One way to read every configuration file: typed models, one kind of message, a JSON Schema each.

Why: workspace settings, scenarios, SLA contracts and playbooks each had a hand-written
validator with its own wording. Here a file's shape is a pydantic model; :func:`validate`
turns any mistake into :class:`~closeloop.errors.ScenarioError` naming the file, the key path
(``metrics.service_levl_threshold_s``) and the problem — an unknown key is answered with the
closest valid name — and :func:`json_schema` gives editors the schema to complete against
(``closeloop schema NAME``). Range and cross-field rules that need the domain stay with the
domain; this module checks shape, types and names.

>>> from pydantic import BaseModel, ConfigDict
>>> class Demo(BaseModel):
...     model_config = ConfigDict(extra="forbid")
...     threshold_s: float = 20.0
>>> try:
...     validate(Demo, {"treshold_s": 30}, "x.toml")
... except Exception as exc:
...     print(exc)
x.toml: treshold_s: unknown key; did you mean 'threshold_s'? (known: threshold_s)
"""

from __future__ import annotations

import difflib
import importlib
import tomllib
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from closeloop.errors import InputError, ScenarioError

M = TypeVar("M", bound=BaseModel)

#: ``closeloop schema NAME`` -> the model describing that file ("module:Class", imported on demand).
SCHEMAS: dict[str, str] = {
    "settings": "closeloop.settings:SettingsFile",
    "playbook": "closeloop.conversations.playbook:PlaybookFile",
    "contracts": "closeloop.contracts.shape:ContractsFile",
    "scenario": "closeloop.sim.scenario_shape:scenario_model",
}


def read_toml(text: str, path: str) -> dict[str, Any]:
    """TOML text as a dict; a syntax error names the file and the place."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(file)", f"not valid TOML: {exc}") from exc


def validate(model: type[M], data: Any, path: str) -> M:
    """``data`` as ``model``, or ScenarioError for the first mistake (file, key path, problem)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # a misspelt key is both an unknown key and a missing one: name the unknown one first
        err = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        loc = tuple(p for p in err["loc"] if not _union_tag(p))
        raise ScenarioError(path, _key(loc) or "(file)", _problem(model, err, loc)) from None


_TYPE_TAGS = {"float", "int", "str", "bool", "list", "dict", "date", "datetime", "none"}


def _union_tag(part: Any) -> bool:
    """Whether a location part names a union member (``float``, ``list[float]``, ``QueueTable``), not a key."""
    return isinstance(part, str) and (part in _TYPE_TAGS or "[" in part or part.endswith("Table")
                                      or part.startswith("function-"))


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(model: type[BaseModel], err: Any, loc: tuple[Any, ...]) -> str:
    if err["type"] == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key; {hint}(known: {', '.join(known)})"
    hint = _description(model, loc)
    if err["type"] in ("missing", "too_short") and hint:
        return f"is required: {hint}"
    if err["type"] == "missing":
        return "is required"
    got = err.get("input")
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "literal_error":
        choices = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{got!r} is not one of {choices}"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}, got {got!r}"
    if kind == "greater_than_equal" and ctx.get("ge") == 0:
        return f"must not be negative, got {got!r}"
    if kind in _BOUND_WORDS:
        return f"must be {_BOUND_WORDS[kind]} {_num(ctx)}, got {got!r}"
    return f"{err['msg']} (got {got!r})"


def _description(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """The description of the field at ``loc`` (what to write there), or ''."""
    _, field = _walk(model, loc)
    return (field.description or "") if field is not None else ""


_TYPE_WORDS = {
    "list_type": "a list", "string_type": "a string", "int_type": "an integer", "int_from_float": "an integer",
    "int_parsing": "an integer", "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "dict_type": "a table", "model_type": "a table",
    "model_attributes_type": "a table", "date_type": "a TOML date like 2026-01-05",
    "date_parsing": "a TOML date like 2026-01-05", "date_from_datetime_parsing": "a TOML date like 2026-01-05",
    "date_from_datetime_inexact": "a TOML date like 2026-01-05 (a day, not a time)",
}
_BOUND_WORDS = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}


def _num(ctx: dict[str, Any]) -> str:
    return str(next(iter(v for k, v in ctx.items() if k in ("ge", "gt", "le", "lt")), ""))


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, Any]:
    """The model (and the field) at ``loc``: keys of mapping tables and list indexes are stepped over."""
    current: Any = model
    field = None
    skip_key = False
    for part in loc:
        if isinstance(part, int):
            continue
        if skip_key:  # a key of a dict[str, Table] (a detector's name, a column's name)
            skip_key = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None, None
        field = current.model_fields.get(str(part)) or next(
            (f for f in current.model_fields.values() if f.alias == part), None)
        if field is None:
            return None, None
        current = _inner_model(field.annotation)
        skip_key = _is_mapping(field.annotation)
    return current, field


def _is_mapping(annotation: Any) -> bool:
    if typing.get_origin(annotation) is dict:
        return True
    return any(_is_mapping(a) for a in typing.get_args(annotation)
               if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid key names of the table at ``loc`` inside ``model``."""
    current, _ = _walk(model, loc)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or name for name, f in current.model_fields.items())
    return []


def _inner_model(annotation: Any) -> Any:
    """The model inside ``X``, ``list[X]``, ``dict[str, X]`` or ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (list, dict, typing.Union):
        for arg in reversed(args):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def model_for(name: str) -> type[BaseModel]:
    """The model a ``closeloop schema`` name stands for."""
    if name not in SCHEMAS:
        raise InputError(f"no schema {name!r}; known: {', '.join(sorted(SCHEMAS))}")
    module, _, attr = SCHEMAS[name].partition(":")
    found = getattr(importlib.import_module(module), attr)
    # a model class, or a function building one (the scenario's is generated from its dataclasses)
    model: type[BaseModel] = found if isinstance(found, type) else found()
    return model


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a configuration file (for editors: Taplo, VS Code's Even Better TOML...)."""
    schema = model_for(name).model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


__all__ = ["SCHEMAS", "json_schema", "model_for", "read_toml", "validate"]
