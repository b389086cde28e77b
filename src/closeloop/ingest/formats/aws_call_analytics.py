"""Amazon Transcribe Call Analytics / Amazon Connect Contact Lens JSON as a canonical transcript.

Contact centers on Amazon Connect get one JSON file per call from Contact Lens or from
Transcribe's post-call analytics; both carry the turns as a ``Transcript`` list. The
mapping (see docs/conversations.md):

* **call_id**: ``CustomerMetadata.ContactId`` (Contact Lens), else ``JobName``
  (Transcribe), else the file name without ``.json`` (and ``.gz``);
* **speaker**: each segment's ``ParticipantRole``, or — where a segment names only its
  ``ParticipantId`` — the role the ``Participants`` list gives that id. ``AGENT`` →
  agent, ``CUSTOMER`` → customer, ``SUPERVISOR`` (a supervisor barging in) → agent;
  ``SYSTEM`` and ``CUSTOM_BOT`` segments (IVR prompts, bots: not people) are skipped. Any
  other role rejects the transcript;
* **start_s / end_s**: ``BeginOffsetMillis`` / ``EndOffsetMillis`` ÷ 1000;
* **text**: ``Content`` (redacted PII stays as Amazon wrote it, e.g. ``[PII]``).

Extras such as ``Sentiment`` are not loaded. Not valid JSON, a segment without offsets or
content, and an unknown role each reject the whole transcript with the reason; times that
are negative or overlap are rejected by the common transcript validation.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from closeloop.errors import InputError
from closeloop.ingest.formats import AdapterOutput, PreReject

ROLES = {"AGENT": "agent", "CUSTOMER": "customer", "SUPERVISOR": "agent"}
SKIPPED_ROLES = frozenset({"SYSTEM", "CUSTOM_BOT"})
RAW_CHARS = 2000


class AwsCallAnalytics:
    """Reader for one call's Amazon Transcribe Call Analytics or Contact Lens JSON."""

    name = "aws-call-analytics"
    record = "transcripts"
    description = "Amazon Transcribe Call Analytics / Connect Contact Lens output JSON; one file is one call"

    def read(self, path: Path) -> AdapterOutput:
        """Read one file as one transcript (or one reject)."""
        text = _read(path)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON: {exc.msg} (line {exc.lineno})"
            return _reject(PreReject(exc.lineno, None, reason, text[:RAW_CHARS]))
        if not isinstance(doc, dict) or "Transcript" not in doc:
            raise InputError(f"{path}: not Amazon Transcribe/Contact Lens output (no top-level 'Transcript' list)")
        segments = doc["Transcript"]
        if not isinstance(segments, list):
            return _reject(PreReject(None, "turns", "'Transcript' is not a list", text[:RAW_CHARS]))
        call_id = _call_id(doc, path)
        roles = _participants(doc)
        rows: dict[str, list[Any]] = {k: [] for k in ("speaker", "start_s", "end_s", "text", "__raw")}
        for i, seg in enumerate(segments):
            row = _segment(i, seg, roles)
            if isinstance(row, PreReject):
                return _reject(row)
            if row is None:
                continue
            for key, value in row.items():
                rows[key].append(value)
        if not rows["text"]:
            return _reject(PreReject(None, "turns", "transcript has no agent or customer segments", text[:RAW_CHARS]))
        n = len(rows["text"])
        table = pa.table({
            "__line": pa.array([1] * n, pa.int64()),
            "__raw": rows["__raw"],
            "call_id": [call_id] * n,
            "speaker": rows["speaker"],
            "start_s": pa.array(rows["start_s"], pa.float64()),
            "end_s": pa.array(rows["end_s"], pa.float64()),
            "text": rows["text"],
        })
        return AdapterOutput(table, [], units_read=1)


def _read(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: damaged gzip file ({exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text, so not Transcribe JSON") from exc


def _reject(problem: PreReject) -> AdapterOutput:
    empty = pa.table({"__line": pa.array([], pa.int64()), "__raw": pa.array([], pa.string()),
                      "call_id": pa.array([], pa.string()), "speaker": pa.array([], pa.string()),
                      "start_s": pa.array([], pa.float64()), "end_s": pa.array([], pa.float64()),
                      "text": pa.array([], pa.string())})
    return AdapterOutput(empty, [problem], units_read=1)


def _call_id(doc: dict[str, Any], path: Path) -> str:
    meta = doc.get("CustomerMetadata")
    if isinstance(meta, dict) and isinstance(meta.get("ContactId"), str) and meta["ContactId"].strip():
        return str(meta["ContactId"]).strip()
    if isinstance(doc.get("JobName"), str) and doc["JobName"].strip():
        return str(doc["JobName"]).strip()
    name = path.name
    for suffix in (".gz", ".json"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _participants(doc: dict[str, Any]) -> dict[str, str]:
    """ParticipantId -> ParticipantRole from the ``Participants`` list (Contact Lens)."""
    out = {}
    for p in doc.get("Participants") or []:
        if isinstance(p, dict) and isinstance(p.get("ParticipantRole"), str):
            out[str(p.get("ParticipantId", p["ParticipantRole"]))] = p["ParticipantRole"]
    return out


def _segment(i: int, seg: Any, roles: dict[str, str]) -> dict[str, Any] | PreReject | None:
    raw = json.dumps(seg, ensure_ascii=False)[:RAW_CHARS]
    where = f"Transcript[{i}]"
    if not isinstance(seg, dict):
        return PreReject(None, "turns", f"{where} is not an object", raw)
    role = seg.get("ParticipantRole") or roles.get(str(seg.get("ParticipantId")))
    if role is None and seg.get("ParticipantId") in ROLES:
        role = seg["ParticipantId"]
    role = str(role or "").upper()
    if role in SKIPPED_ROLES:
        return None
    if role not in ROLES:
        return PreReject(None, "speaker", f"{where}: unknown speaker role {role or '(none)'!r}; expected AGENT or "
                         "CUSTOMER (SUPERVISOR counts as agent; SYSTEM and CUSTOM_BOT are skipped)", raw)
    begin, end = seg.get("BeginOffsetMillis"), seg.get("EndOffsetMillis")
    for name, value in (("BeginOffsetMillis", begin), ("EndOffsetMillis", end)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            field = "start_s" if name.startswith("Begin") else "end_s"
            return PreReject(None, field, f"{where}: {name} missing or not a number", raw)
    assert begin is not None and end is not None  # both checked to be numbers just above
    content = seg.get("Content")
    if not isinstance(content, str) or not content.strip():
        return PreReject(None, "text", f"{where}: Content missing or empty", raw)
    return {"speaker": ROLES[role], "start_s": begin / 1000.0, "end_s": end / 1000.0, "text": content.strip(),
            "__raw": raw}
