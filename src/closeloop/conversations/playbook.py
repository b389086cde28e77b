"""The playbook: what each detector listens for, as a company edits it.

A playbook is a TOML document (see ``default_playbook.toml``, shipped with closeloop).
Parsing is strict on purpose: a misspelt key or a bad regular expression would otherwise
silently turn a detector off, and every pattern → outcome figure after it would be wrong
without anyone noticing. Every mistake raises :class:`~closeloop.errors.ScenarioError`
naming the file, the key and the problem.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from closeloop.errors import ScenarioError

SPEAKERS = ("agent", "customer", "any")
CALL_SCOPES = ("sales", "care", "all")
DEFAULT_NAME = "default_playbook.toml"

# Characters folded before matching; each maps to one character, so offsets survive.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\n": " ", "\r": " ", "\t": " "})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def normalize(text: str) -> str:
    """Lower-case and fold curly quotes and line breaks, keeping the length (offsets stay valid)."""
    folded = text.translate(_FOLD)
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else "".join(c.lower()[0] for c in folded)


@dataclass(frozen=True)
class Cue:
    """What one detector (or script step, or objection answer) listens for."""

    name: str
    label: str
    speaker: str = "any"
    calls: str = "all"
    phrases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    first_turns: int | None = None

    def applies_to(self, speaker: str) -> bool:
        """Whether a turn by ``speaker`` is searched by this cue."""
        return self.speaker == "any" or self.speaker == speaker


@dataclass(frozen=True)
class PlaybookSettings:
    """Thresholds of the timing detectors and of matching (see the playbook's [settings])."""

    dead_air_s: float = 6.0
    hold_s: float = 30.0
    long_monologue_s: float = 60.0
    talk_share_high: float = 0.70
    question_rate_low: float = 0.5
    answer_within_turns: int = 2
    interruption_min_s: float = 0.3
    semantic_threshold: float = 0.50


@dataclass(frozen=True)
class Playbook:
    """A validated playbook: detectors, the objection answer, the script steps in order."""

    detectors: tuple[Cue, ...]
    steps: tuple[Cue, ...]
    answers: dict[str, Cue] = field(default_factory=dict)
    script_calls: str = "sales"
    settings: PlaybookSettings = field(default_factory=PlaybookSettings)
    source: str = "<playbook>"
    digest: str = ""

    def cue(self, name: str) -> Cue:
        """The detector or step called ``name``."""
        for c in (*self.detectors, *self.steps):
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def labels(self) -> dict[str, str]:
        """Display label of every detector and step."""
        return {c.name: c.label for c in (*self.detectors, *self.steps)}


_CUE_KEYS = {"label", "speaker", "calls", "phrases", "patterns", "exclude", "examples", "competitors", "answer",
             "first_turns"}


def default_playbook_text() -> str:
    """The TOML text of the playbook shipped with closeloop."""
    return resources.files("closeloop.conversations").joinpath(DEFAULT_NAME).read_text(encoding="utf-8")


def default_playbook() -> Playbook:
    """The playbook shipped with closeloop, parsed."""
    return parse_playbook(default_playbook_text(), source=f"<closeloop>/{DEFAULT_NAME}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswerTable(_Strict):
    """What counts as the agent answering an objection."""

    speaker: Literal["agent", "customer", "any"] = "agent"
    phrases: list[str] = []
    patterns: list[str] = Field([], description="Regular expressions (Python syntax)")
    exclude: list[str] = []
    examples: list[str] = Field([], description="Sentences for semantic matching (--semantic)")


class DetectorTable(AnswerTable):
    """``[detectors.NAME]``: a moment to listen for."""

    label: str | None = Field(None, description="What reports call it")
    speaker: Literal["agent", "customer", "any"] = "customer"
    calls: Literal["sales", "care", "all"] = "all"
    competitors: list[str] = Field([], description="Competitor names (matched like phrases)")
    answer: AnswerTable | None = Field(None, description="How an agent answers it (objections)")
    first_turns: int | None = Field(None, ge=1, description="Only the first N turns of the speaker count")


class StepTable(AnswerTable):
    """``[script.STEP]``: a step of the sales script."""

    label: str | None = None
    speaker: Literal["agent", "customer", "any"] = "agent"
    first_turns: int | None = Field(None, ge=1)


class ScriptTable(BaseModel):
    """``[script]``: the steps in order, each with its own ``[script.STEP]`` table."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, StepTable] = Field(init=False)
    steps: list[str] = []
    calls: Literal["sales", "care", "all"] = "sales"


class PlaybookSettingsTable(_Strict):
    """``[settings]``: thresholds of the timing detectors."""

    dead_air_s: float = Field(6.0, ge=0)
    hold_s: float = Field(30.0, ge=0)
    long_monologue_s: float = Field(60.0, ge=0)
    talk_share_high: float = Field(0.70, gt=0, lt=1)
    question_rate_low: float = Field(0.5, ge=0)
    answer_within_turns: int = Field(2, ge=0)
    interruption_min_s: float = Field(0.3, ge=0)
    semantic_threshold: float = Field(0.50, gt=0, lt=1)


class PlaybookFile(_Strict):
    """A playbook file (``closeloop schema playbook``)."""

    playbook: dict[str, str] = Field({}, description="Free-form metadata (name, version...)")
    settings: PlaybookSettingsTable = PlaybookSettingsTable()
    detectors: dict[str, DetectorTable] = {}
    script: ScriptTable = ScriptTable()


def parse_playbook(text: str, source: str = "<playbook>") -> Playbook:
    """Parse and validate playbook TOML; raise ScenarioError(source, key, problem) on any mistake.

    The file's shape, types and key names are checked by :class:`PlaybookFile` (the one
    config mechanism, :mod:`closeloop.config`); names, expressions and the script's order here.
    """
    from closeloop.config import read_toml, validate

    data = read_toml(text, source)
    shape = validate(PlaybookFile, data, source)
    settings = PlaybookSettings(**shape.settings.model_dump())
    detectors_raw = _table(source, "detectors", data.get("detectors", {}))
    detectors, answers = [], {}
    for name, raw in detectors_raw.items():
        key = f"detectors.{name}"
        cue = _cue(source, key, name, raw, default_speaker="customer")
        detectors.append(cue)
        if "answer" in raw:
            answers[name] = _cue(source, f"{key}.answer", f"{name}.answer", raw["answer"], default_speaker="agent")
    steps, script_calls = _script(source, data.get("script", {}))
    clash = {c.name for c in detectors} & {c.name for c in steps}
    if clash:
        raise ScenarioError(source, f"script.{sorted(clash)[0]}", "has the same name as a detector; rename one")
    if not detectors and not steps:
        raise ScenarioError(source, "detectors", "a playbook needs at least one detector or script step")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return Playbook(tuple(detectors), tuple(steps), answers, script_calls, settings, source, digest)


def _table(source: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(source, key, f"must be a table, got {type(value).__name__}")
    return value


def _no_unknown(source: str, prefix: str, table: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ScenarioError(source, where, f"unknown key; known keys here: {', '.join(sorted(known))}")


def _strings(source: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError(source, key, "must be a list of strings")
    for i, v in enumerate(value):
        if not v.strip():
            raise ScenarioError(source, f"{key}[{i}]", "is empty")
    return tuple(v.strip() for v in value)


def _choice(source: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ScenarioError(source, key, f"{value!r} is not one of {', '.join(choices)}")
    return str(value)


def _cue(source: str, key: str, name: str, raw: Any, default_speaker: str, step: bool = False) -> Cue:
    raw = _table(source, key, raw)
    known = _CUE_KEYS - ({"answer", "competitors", "calls"} if step else {"first_turns"})
    if key.endswith(".answer"):
        known = {"speaker", "phrases", "patterns", "exclude", "examples"}
    _no_unknown(source, key, raw, known)
    if not step and not key.endswith(".answer") and not _NAME.match(name):
        raise ScenarioError(source, key, "detector names are lower_snake_case (letters, digits, _)")
    phrases = _strings(source, f"{key}.phrases", raw.get("phrases", []))
    phrases += _strings(source, f"{key}.competitors", raw.get("competitors", []))
    patterns = _strings(source, f"{key}.patterns", raw.get("patterns", []))
    for i, pat in enumerate(patterns):
        try:
            re.compile(pat)
        except re.error as exc:
            raise ScenarioError(source, f"{key}.patterns[{i}]", f"bad regular expression {pat!r}: {exc}") from exc
    if not phrases and not patterns:
        raise ScenarioError(source, key, "needs at least one phrase (or pattern) to listen for")
    first_turns = raw.get("first_turns")
    if first_turns is not None and (not isinstance(first_turns, int) or isinstance(first_turns, bool)
                                    or first_turns < 1):
        raise ScenarioError(source, f"{key}.first_turns", f"must be a positive integer, got {first_turns!r}")
    label = raw.get("label", name.replace("_", " ").capitalize())
    if not isinstance(label, str):
        raise ScenarioError(source, f"{key}.label", "must be a string")
    return Cue(
        name=name,
        label=label,
        speaker=_choice(source, f"{key}.speaker", raw.get("speaker", default_speaker), SPEAKERS),
        calls=_choice(source, f"{key}.calls", raw.get("calls", "all"), CALL_SCOPES),
        phrases=tuple(dict.fromkeys(normalize(p) for p in phrases)),
        patterns=patterns,
        exclude=tuple(normalize(p) for p in _strings(source, f"{key}.exclude", raw.get("exclude", []))),
        examples=_strings(source, f"{key}.examples", raw.get("examples", [])),
        first_turns=first_turns,
    )


def _script(source: str, raw: Any) -> tuple[list[Cue], str]:
    raw = _table(source, "script", raw)
    if not raw:
        return [], "sales"
    order = _strings(source, "script.steps", raw.get("steps", []))
    if len(set(order)) != len(order):
        raise ScenarioError(source, "script.steps", "lists a step twice")
    defined = {k for k, v in raw.items() if isinstance(v, dict)}
    _no_unknown(source, "script", raw, {"steps", "calls", *defined})
    missing = [s for s in order if s not in defined]
    if missing:
        raise ScenarioError(source, f"script.{missing[0]}", "is listed in script.steps but has no table")
    unlisted = sorted(defined - set(order))
    if unlisted:
        raise ScenarioError(source, f"script.{unlisted[0]}", "is defined but not listed in script.steps")
    calls = _choice(source, "script.calls", raw.get("calls", "sales"), CALL_SCOPES)
    steps = []
    for name in order:
        if not _NAME.match(name):
            raise ScenarioError(source, f"script.{name}", "step names are lower_snake_case (letters, digits, _)")
        cue = _cue(source, f"script.{name}", name, raw[name], default_speaker="agent", step=True)
        steps.append(Cue(**{**cue.__dict__, "calls": calls}))
    return steps, calls
