"""Scenario files (TOML) to :class:`Scenario` objects, with one message per mistake.

Parsing works on text (this package does no file I/O); ``closeloop simulate`` reads the
file and passes its name so messages say ``file: key: problem``. The format is described
in docs/simulator.md; examples live in examples/scenarios/.
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, fields
from datetime import UTC, date, datetime
from typing import Any

from closeloop.errors import ScenarioError
from closeloop.sim.dists import parse_dist
from closeloop.sim.scenario import (
    AgentGroup,
    Busyness,
    Center,
    Lead,
    OutcomeModel,
    QueueSpec,
    Scenario,
    Shift,
    check_ranges,
    expand_groups,
)

DIST_KEYS = ("talk", "wrap", "patience", "retrial_delay")
_SCENARIO_KEYS = {"name", "start", "days", "timezone", "seed"}
_RENAMES = {"centers": {"id": "center_id"}, "queues": {"type": "call_type"}}


def _build(cls: type, table: Any, key: str, path: str, skip: tuple[str, ...] = (), rename: dict[str, str] | None = None
           ) -> Any:
    """A dataclass from a TOML table: unknown keys and wrong types are named."""
    if not isinstance(table, dict):
        raise ScenarioError(path, key, "must be a table")
    rename = rename or {}
    known = {f.name: f for f in fields(cls) if f.name not in skip}
    kwargs: dict[str, Any] = {}
    for k, v in table.items():
        name = rename.get(k, k)
        if name not in known:
            allowed = sorted({rename.get(x, x) for x in known} | set(rename) - set(rename.values()))
            raise ScenarioError(path, f"{key}.{k}", f"unknown key; known keys: {', '.join(allowed)}")
        kwargs[name] = _coerce(known[name], v, f"{key}.{k}", path)
    missing = [f.name for f in known.values() if f.default is MISSING and f.default_factory is MISSING
               and f.name not in kwargs]
    if missing:
        inv = {v: k for k, v in rename.items()}
        raise ScenarioError(path, f"{key}.{inv.get(missing[0], missing[0])}", "is required")
    obj = cls(**kwargs)
    check_ranges(obj, key, path)
    return obj


def _coerce(f: Any, v: Any, key: str, path: str) -> Any:
    default = f.default if f.default is not MISSING else (f.default_factory() if f.default_factory is not MISSING
                                                           else None)
    if isinstance(default, bool):
        ok = isinstance(v, bool)
    elif isinstance(default, float):
        ok = (isinstance(v, int | float) and not isinstance(v, bool)) or (
            f.name == "rate_per_hour" and isinstance(v, list) and all(isinstance(x, int | float) for x in v))
        if ok and not isinstance(v, list):
            v = float(v)
    elif isinstance(default, int):
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif isinstance(default, str):
        ok = isinstance(v, str)
    elif isinstance(default, list) and f.name in ("agent_order", "queues"):
        ok = isinstance(v, list) and all(isinstance(x, str) for x in v)
    elif isinstance(default, list):
        ok = isinstance(v, list) and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    else:
        ok = True
    if not ok:
        raise ScenarioError(path, key, f"wrong type: {v!r}")
    return v


def _start(value: Any, path: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _start(datetime.fromisoformat(value), path)
        except ValueError:
            pass
    raise ScenarioError(path, "scenario.start", f"{value!r} is not a date or datetime (e.g. 2026-03-02T00:00:00Z)")


def _leads(raw: Any, key: str, path: str) -> list[Lead]:
    if not isinstance(raw, list):
        raise ScenarioError(path, key, "must be an array of tables with lead_id, ready_s, quality")
    return [_build(Lead, r, f"{key}[{i}]", path) for i, r in enumerate(raw)]


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Read a scenario from TOML text; ScenarioError names ``source``, the key and the problem."""
    p = source
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(p, "(file)", f"not valid TOML: {exc}") from exc
    unknown = set(data) - {"scenario", "centers", "queues", "agents", "outcomes", "policy", "busyness"}
    if unknown:
        raise ScenarioError(p, sorted(unknown)[0], "unknown section; sections: scenario, centers, queues, agents, "
                                                   "outcomes, policy, busyness")
    head = data.get("scenario", {})
    bad = set(head) - _SCENARIO_KEYS
    if bad:
        raise ScenarioError(p, f"scenario.{sorted(bad)[0]}", f"unknown key; known keys: {sorted(_SCENARIO_KEYS)}")
    for k, kind in (("days", (int, float)), ("seed", (int,)), ("name", (str,)), ("timezone", (str,))):
        if k in head and (not isinstance(head[k], kind) or isinstance(head[k], bool)):
            raise ScenarioError(p, f"scenario.{k}", f"wrong type: {head[k]!r}")
    centers = [_build(Center, c, f"centers[{i}]", p, rename=_RENAMES["centers"])
               for i, c in enumerate(_array(data, "centers", p))]
    queues = []
    for i, qt in enumerate(_array(data, "queues", p)):
        qt = dict(qt) if isinstance(qt, dict) else qt
        leads = _leads(qt.pop("leads"), f"queues[{i}].leads", p) if isinstance(qt, dict) and "leads" in qt else None
        dists = {k: parse_dist(qt.pop(k), p, f"queues[{i}].{k}") for k in DIST_KEYS
                 if isinstance(qt, dict) and k in qt}
        q = _build(QueueSpec, qt, f"queues[{i}]", p, skip=("leads", *DIST_KEYS), rename=_RENAMES["queues"])
        q.leads = leads
        for k, d in dists.items():
            setattr(q, k, d)
        queues.append(q)
    groups = []
    for i, gt in enumerate(_array(data, "agents", p)):
        gt = dict(gt) if isinstance(gt, dict) else gt
        shift = _build(Shift, gt.pop("shift"), f"agents[{i}].shift", p) if isinstance(gt, dict) and "shift" in gt \
            else None
        g = _build(AgentGroup, gt, f"agents[{i}]", p, skip=("shift",))
        g.shift = shift
        _check_group(g, f"agents[{i}]", p)
        groups.append(g)
    outcomes = _build(OutcomeModel, data.get("outcomes", {}), "outcomes", p)
    busyness = [_build(Busyness, b, f"busyness[{i}]", p) for i, b in enumerate(_array(data, "busyness", p))]
    pol = dict(data.get("policy", {}))
    name = pol.pop("name", "global_order")
    if not isinstance(name, str):
        raise ScenarioError(p, "policy.name", f"wrong type: {name!r}")
    return Scenario(
        name=head.get("name", source), start=_start(head.get("start", "2026-01-05T00:00:00+00:00"), p),
        days=float(head.get("days", 1.0)), timezone=head.get("timezone", "UTC"), seed=head.get("seed", 1),
        centers=centers, queues=queues, agents=expand_groups(groups), outcomes=outcomes, policy=name,
        policy_params=pol, source=source, busyness=busyness,
    )


def _array(data: dict[str, Any], name: str, path: str) -> list[Any]:
    v = data.get(name, [])
    if not isinstance(v, list):
        raise ScenarioError(path, name, f"must be an array of tables ([[{name}]])")
    return v


def _check_group(g: AgentGroup, key: str, path: str) -> None:
    import re

    from closeloop.model.records import SKILLS_PATTERN

    if not g.center:
        raise ScenarioError(path, f"{key}.center", "is required")
    if g.staffing and (g.shift is not None or not all(isinstance(n, int) for n in g.staffing)):
        raise ScenarioError(path, f"{key}.staffing", "needs whole numbers of agents, and no shift beside it")
    if not re.match(SKILLS_PATTERN, g.skills or ""):
        raise ScenarioError(path, f"{key}.skills", f"{g.skills!r} is not like `sales:8;care:5` (levels 1-10)")
