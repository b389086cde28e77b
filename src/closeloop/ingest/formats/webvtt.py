"""WebVTT captions with speaker voice tags as a canonical transcript (one file = one call).

WebVTT (W3C) is what Microsoft Teams, many dialers' recorders and caption tools export.
Each cue has a timing line (``00:01:02.500 --> 00:01:05.000``) and text; the speaker is a
voice tag, ``<v Maria>Hello</v>`` (or ``<v.agent Maria>``), or — as Zoom writes it — a
``Name: text`` prefix. The mapping (see docs/conversations.md):

* **call_id**: a ``NOTE call_id: C123`` block if present, else the file name without
  ``.vtt`` (and ``.gz``);
* **speaker role**: a ``NOTE speakers: Maria=agent, John=customer`` block first; then a voice
  class ``agent``/``customer``; then the name's first word (Agent, Rep, Advisor, Operator...
  → agent; Customer, Caller, Client, Prospect... → customer). A name none of these
  resolves rejects the whole transcript, naming the speaker and how to map it;
* **turn times**: cue start/end in seconds; a cue with several voices is split evenly;
* **text**: tags removed (``<c>``, ``<i>``, inline timestamps...), entities decoded.

A transcript is loaded whole or rejected whole, so every problem found here is one
reject for the file, with the line it was found on.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from closeloop.errors import InputError
from closeloop.ingest.formats import AdapterOutput, PreReject
from closeloop.ingest.formats._textfile import read_text_lines

AGENT_WORDS = frozenset({"agent", "rep", "representative", "advisor", "adviser", "associate", "operator", "csr",
                         "consultant", "specialist", "salesperson", "seller"})
CUSTOMER_WORDS = frozenset({"customer", "caller", "client", "prospect", "lead", "member", "patient", "guest",
                            "buyer", "subscriber"})
_TS = r"(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"^{_TS}\s+-->\s+{_TS}(?:\s.*)?$")
_VOICE = re.compile(r"<v(?:\.([\w.-]+))?(?:\s+([^>]*))?>", re.IGNORECASE)
_TAG = re.compile(r"</?[^>]*>")
_PREFIX = re.compile(r"^\s*([A-Za-z][\w .'-]{0,40}?)\s*:\s+(.*)$")


@dataclass
class _Segment:
    line: int
    start: float
    end: float
    name: str
    cls: str | None
    text: str
    raw: str


class WebVTT:
    """Reader for ``.vtt`` transcripts with voice tags."""

    name = "webvtt"
    record = "transcripts"
    description = "WebVTT captions with <v Speaker> voice tags (Teams, recorders); one file is one call"

    def read(self, path: Path) -> AdapterOutput:
        """Read one WebVTT file as one transcript (or one reject)."""
        lines = read_text_lines(path, "WebVTT")
        if not lines or not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
            raise InputError(f"{path}: not a WebVTT file (the first line must start with WEBVTT)")
        meta, segments, problem = _parse(lines)
        call_id = meta.get("call_id") or _stem(path)
        if problem is None and not segments:
            problem = PreReject(1, "turns", "transcript has no cues with text", lines[0])
        if problem is None:
            problem = _assign_roles(segments, meta.get("speakers", ""))
        if problem is not None:
            return AdapterOutput(_empty(), [problem], units_read=1)
        table = pa.table({
            "__line": pa.array([1] * len(segments), pa.int64()),
            "__raw": [s.raw for s in segments],
            "call_id": [call_id] * len(segments),
            "speaker": [s.name for s in segments],
            "start_s": pa.array([s.start for s in segments], pa.float64()),
            "end_s": pa.array([s.end for s in segments], pa.float64()),
            "text": [s.text for s in segments],
        })
        return AdapterOutput(table, [], units_read=1)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".vtt", ".webvtt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _empty() -> pa.Table:
    return pa.table({"__line": pa.array([], pa.int64()), "__raw": pa.array([], pa.string()),
                     "call_id": pa.array([], pa.string()), "speaker": pa.array([], pa.string()),
                     "start_s": pa.array([], pa.float64()), "end_s": pa.array([], pa.float64()),
                     "text": pa.array([], pa.string())})


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks after the header block, each with its first line number (1-based)."""
    body = 1
    while body < len(lines) and lines[body].strip():  # header lines ("Kind: captions") run to the first blank
        body += 1
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines[body:], start=body + 1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _parse(lines: list[str]) -> tuple[dict[str, str], list[_Segment], PreReject | None]:
    meta: dict[str, str] = {}
    segments: list[_Segment] = []
    for first, block in _blocks(lines):
        head = block[0]
        if head.startswith("NOTE"):
            _read_note(block, meta)
            continue
        if head.startswith(("STYLE", "REGION")):
            continue
        timing_at = 0 if "-->" in head else 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            return meta, segments, PreReject(first, "start", "cue has no timing line (start --> end)", "\n".join(block))
        match = _TIMING.match(block[timing_at].strip())
        if not match:
            return meta, segments, PreReject(first + timing_at, "start", f"bad cue timing {block[timing_at]!r}",
                                             block[timing_at])
        start, end = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
        payload = block[timing_at + 1:]
        found = _voices(first + timing_at + 1, start, end, payload, "\n".join(block))
        if isinstance(found, PreReject):
            return meta, segments, found
        segments += found
    return meta, segments, None


def _read_note(block: list[str], meta: dict[str, str]) -> None:
    """``NOTE key: value`` lines (first line or following ones) for call_id and speakers."""
    text = [block[0][4:].strip(), *block[1:]]
    for line in text:
        key, sep, value = line.partition(":")
        key = key.strip().lower().replace(" ", "_")
        if sep and key in ("call_id", "speakers"):
            meta[key] = value.strip()


def _seconds(groups: tuple[str | None, ...]) -> float:
    h, m, s, ms = groups
    return int(h or 0) * 3600 + int(m or 0) * 60 + int(s or 0) + int(ms or 0) / 1000.0


def _voices(line: int, start: float, end: float, payload: list[str], raw: str) -> list[_Segment] | PreReject:
    """The speaker segments of one cue's text."""
    text = " ".join(payload)
    tags = list(_VOICE.finditer(text))
    parts: list[tuple[str, str | None, str]] = []
    if tags:
        for i, tag in enumerate(tags):
            stop = tags[i + 1].start() if i + 1 < len(tags) else len(text)
            parts.append(((tag.group(2) or "").strip(), tag.group(1), text[tag.end():stop]))
    else:
        prefixed = _PREFIX.match(_clean(text))
        if not prefixed:
            return PreReject(line, "speaker", "cue has no speaker: use a <v Name> voice tag or a 'Name: text' prefix",
                             raw)
        parts.append((prefixed.group(1).strip(), None, prefixed.group(2)))
    parts = [(n, c, _clean(t)) for n, c, t in parts]
    parts = [p for p in parts if p[2]]
    step = (end - start) / max(len(parts), 1)
    return [
        _Segment(line, start + i * step, start + (i + 1) * step, name, cls, body, raw)
        for i, (name, cls, body) in enumerate(parts)
    ]


def _clean(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", text)).replace("\u200e", "").replace("\u200f", "").split())


def _assign_roles(segments: list[_Segment], mapping: str) -> PreReject | None:
    """Replace each segment's speaker name by its role; a name that resolves to none rejects the file."""
    explicit: dict[str, str] = {}
    for item in re.split(r"[,;]", mapping):
        name, sep, role = item.partition("=")
        if sep:
            explicit[name.strip().lower()] = role.strip().lower()
    unresolved: dict[str, _Segment] = {}
    for seg in segments:
        role = _role(seg, explicit)
        if role is None:
            unresolved.setdefault(seg.name or "(no name)", seg)
        else:
            seg.name = role
    if unresolved:
        name, seg = next(iter(unresolved.items()))
        names = ", ".join(repr(n) for n in unresolved)
        return PreReject(seg.line, "speaker",
                         f"unknown speaker {names}: map it with 'NOTE speakers: {name}=agent' (or =customer), "
                         "a <v.agent ...> class, or a name starting with Agent/Customer", seg.raw)
    return None


def _role(seg: _Segment, explicit: dict[str, str]) -> str | None:
    name = seg.name.strip().lower()
    if explicit.get(name) in ("agent", "customer"):
        return explicit[name]
    classes = set((seg.cls or "").lower().split("."))
    for role in ("agent", "customer"):
        if role in classes:
            return role
    words = re.findall(r"[a-z]+", name)
    if words and words[0] in AGENT_WORDS:
        return "agent"
    if words and words[0] in CUSTOMER_WORDS:
        return "customer"
    return None
