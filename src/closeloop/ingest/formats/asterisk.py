"""Asterisk (and VICIdial) ``queue_log`` as canonical calls.

The queue log is an event stream, ``epoch|callid|queuename|agent|event|data1|data2|...``,
one line per event, every event of a queued call sharing its ``callid`` (the caller
channel's uniqueid). This adapter groups the events of each call in one pass and turns
each call into one canonical row; queue and agent events that are not calls (QUEUESTART,
ADDMEMBER, PAUSE, ...) are skipped and counted in ``skipped_events``. The mapping table,
and what queue_log cannot tell (business outcome, in-call hold), are in docs/formats.md.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from closeloop.errors import InputError
from closeloop.ingest.formats import AdapterOutput, PreReject
from closeloop.ingest.formats._textfile import read_text_lines
from closeloop.model import CALLS, CallType, Direction, Outcome

# Events that end an answered call, and where their holdtime / calltime fields are.
ANSWERED_END = {  # event: (holdtime index, calltime index) in data fields
    "COMPLETEAGENT": (0, 1),
    "COMPLETECALLER": (0, 1),
    "TRANSFER": (2, 3),
    "BLINDTRANSFER": (2, 3),
    "ATTENDEDTRANSFER": (2, 3),
}
TRANSFERS = frozenset({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
# Events that end a call no agent answered, and where their waittime field is (None: none).
UNANSWERED_END = {
    "ABANDON": 2,
    "EXITWITHTIMEOUT": 2,
    "EXITWITHKEY": 3,
    "EXITEMPTY": 2,
    "JOINEMPTY": None,
    "JOINUNAVAIL": None,
}
# Queue and agent events that are not about a call: skipped, counted in skipped_events.
NON_CALL_EVENTS = frozenset({
    "QUEUESTART", "CONFIGRELOAD", "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL",
    "PENALTY", "AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF", "MEMBERPENALTY",
})
NO_CALLID = frozenset({"", "NONE", "REALTIME", "MANAGER"})
REASON_NO_END = "call has no end event (log cut off?)"
REASON_NO_START = "call has no ENTERQUEUE and its start cannot be derived (log starts mid-call?)"
EXTRAS = ("transferred", "ring_no_answer", "end_event", "queue_entries", "caller_id")

_TECH_PREFIX = re.compile(r"^(?:Local|SIP|PJSIP|IAX2|Agent)/", re.IGNORECASE)
_SALES_QUEUE = re.compile(r"sale", re.IGNORECASE)


@dataclass
class _Event:
    line: int
    epoch: float
    callid: str
    queue: str
    agent: str
    event: str
    data: list[str]
    raw: str


@dataclass
class _Call:
    callid: str
    events: list[_Event] = field(default_factory=list)


class AsteriskQueueLog:
    """Reader for Asterisk / VICIdial ``queue_log`` files (pipe-separated events)."""

    name = "asterisk-queue-log"
    record = "calls"
    description = "Asterisk/VICIdial queue_log: epoch|callid|queue|agent|event|data..., one call per callid"

    def __init__(self, center_id: str = "asterisk", call_type_by_queue: dict[str, str] | None = None) -> None:
        self.center_id = center_id
        self.call_type_by_queue: dict[str, CallType] = {}
        for queue, kind in (call_type_by_queue or {}).items():
            try:
                self.call_type_by_queue[queue] = CallType(kind)
            except ValueError:
                raise InputError(f"queue {queue!r}: call type must be 'sales' or 'care', not {kind!r}") from None
        self.skipped_events: Counter[str] = Counter()

    def call_type(self, queue: str) -> CallType:
        """The configured call type of ``queue``, else sales when its name contains 'sale'."""
        if queue in self.call_type_by_queue:
            return self.call_type_by_queue[queue]
        return CallType.SALES if _SALES_QUEUE.search(queue) else CallType.CARE

    def read(self, path: Path) -> AdapterOutput:
        """One canonical row per callid; unparseable lines and calls without an end go to rejects."""
        lines = read_text_lines(path, "Asterisk queue_log")
        calls, rejects, parsed = self._group(lines)
        nonblank = parsed + len(rejects)
        if nonblank and (parsed == 0 or len(rejects) > parsed):
            example = next(r.raw for r in rejects)
            raise InputError(
                f"{path}: not an Asterisk queue_log: {len(rejects)} of {nonblank} lines are not "
                f"'epoch|callid|queue|agent|event|...' (e.g. {example[:100]!r})"
            )
        rows: list[dict[str, str | None]] = []
        for call in calls.values():
            row = self._map_call(call)
            if isinstance(row, PreReject):
                rejects.append(row)
            else:
                rows.append(row)
        return AdapterOutput(_table(rows), rejects, units_read=len(calls) + (nonblank - parsed))

    def _group(self, lines: list[str]) -> tuple[dict[str, _Call], list[PreReject], int]:
        """Parse each line once; call events grouped by callid in file order."""
        self.skipped_events = Counter()
        calls: dict[str, _Call] = {}
        rejects: list[PreReject] = []
        parsed = 0
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            event = _parse(number, line)
            if isinstance(event, PreReject):
                rejects.append(event)
                continue
            parsed += 1
            if event.event in NON_CALL_EVENTS or event.callid.upper() in NO_CALLID:
                self.skipped_events[event.event] += 1
                continue
            calls.setdefault(event.callid, _Call(event.callid)).events.append(event)
        return calls, rejects, parsed

    def _map_call(self, call: _Call) -> dict[str, str | None] | PreReject:
        """The canonical row of one call, or why it has none."""
        events = sorted(call.events, key=lambda e: (e.epoch, e.line))
        first_line = min(e.line for e in call.events)
        raw = "\n".join(e.raw for e in sorted(call.events, key=lambda e: e.line))
        enters = [e for e in events if e.event == "ENTERQUEUE"]
        connect = next((e for e in events if e.event == "CONNECT"), None)
        after = [e for e in events if connect is None or e.epoch >= connect.epoch]
        answered_end = next((e for e in after if e.event in ANSWERED_END), None)
        unanswered_end = next((e for e in reversed(events) if e.event in UNANSWERED_END), None)

        if connect is not None or answered_end is not None:
            if answered_end is None:
                return PreReject(first_line, "event", REASON_NO_END, raw)
            times = _answered_times(enters, connect, answered_end)
            agent_event = connect or answered_end
            end = answered_end
        elif unanswered_end is not None and events.index(unanswered_end) > _last_index(events, "ENTERQUEUE"):
            times = _unanswered_times(enters, unanswered_end)
            agent_event, end = None, unanswered_end
        else:
            return PreReject(first_line, "event", REASON_NO_END, raw)
        if times is None:
            return PreReject(first_line, "event", REASON_NO_START, raw)
        offered, answered = times

        queue = (agent_event or end).queue or (enters[0].queue if enters else "")
        kind = self.call_type(queue)
        agent = normalise_agent(agent_event.agent) if agent_event else None
        if agent_event is None:
            outcome = Outcome.ABANDONED
        else:
            outcome = Outcome.NO_SALE if kind is CallType.SALES else Outcome.RESOLVED
        before_answer = [e for e in events if connect is None or e.epoch <= connect.epoch]
        return {
            "call_id": call.callid,
            "center_id": self.center_id,
            "queue": queue,
            "direction": Direction.INBOUND.value,
            "call_type": kind.value,
            "offered_at": _iso(offered),
            "answered_at": _iso(answered) if answered is not None else None,
            "ended_at": _iso(end.epoch),
            "agent_id": agent,
            "hold_s": "0",
            "outcome": outcome.value,
            "transferred": "true" if end.event in TRANSFERS else "false",
            "ring_no_answer": str(sum(e.event == "RINGNOANSWER" for e in before_answer)),
            "end_event": end.event,
            "queue_entries": str(len(enters)),
            "caller_id": _data(enters[0], 1) if enters else None,
            "__line": first_line,  # type: ignore[dict-item]
            "__raw": raw,
        }


def _last_index(events: list[_Event], name: str) -> int:
    """Position of the last ``name`` event (-1 if none): a re-queue after an exit is still waiting."""
    return max((i for i, e in enumerate(events) if e.event == name), default=-1)


def normalise_agent(member: str) -> str | None:
    """A stable agent id from a queue member interface.

    ``SIP/1001``, ``PJSIP/1001``, ``IAX2/1001``, ``Agent/1001`` and
    ``Local/1001@from-queue/n`` all become ``1001``; a member name (``Jane Doe``) is kept.
    """
    text = member.strip()
    if text.upper() in {"", "NONE"}:
        return None
    text = _TECH_PREFIX.sub("", text)
    if text.endswith("/n"):
        text = text[:-2]
    return text.split("@", 1)[0].strip() or None


def _parse(number: int, line: str) -> _Event | PreReject:
    """One queue_log line, or why it is not one."""
    parts = line.split("|")
    if len(parts) < 5:
        return PreReject(number, None, f"expected at least 5 '|'-separated fields, found {len(parts)}", line)
    try:
        epoch = float(parts[0])
    except ValueError:
        return PreReject(number, "epoch", f"not a Unix time: {parts[0][:40]!r}", line)
    event = parts[4].strip().upper()
    if not event:
        return PreReject(number, "event", "event name is empty", line)
    return _Event(number, epoch, parts[1].strip(), parts[2].strip(), parts[3].strip(), event, parts[5:], line)


def _data(event: _Event, index: int | None) -> str | None:
    if index is None or index >= len(event.data):
        return None
    return event.data[index].strip() or None


def _seconds(event: _Event, index: int | None) -> float | None:
    """A duration field of ``event`` in seconds, or None when absent or not a number."""
    text = _data(event, index)
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def _answered_times(enters: list[_Event], connect: _Event | None, end: _Event) -> tuple[float, float] | None:
    """(offered, answered) epochs; derived from holdtime/calltime when ENTERQUEUE/CONNECT are missing."""
    hold_index, call_index = ANSWERED_END[end.event]
    if connect is not None:
        answered: float | None = connect.epoch
        hold = _seconds(connect, 0)
    else:
        calltime = _seconds(end, call_index)
        answered = end.epoch - calltime if calltime is not None else None
        hold = _seconds(end, hold_index)
    if answered is None:
        return None
    if enters:
        return enters[0].epoch, answered
    return (answered - hold, answered) if hold is not None else None


def _unanswered_times(enters: list[_Event], end: _Event) -> tuple[float, None] | None:
    """(offered, None); derived from the end event's waittime when ENTERQUEUE is missing."""
    if enters:
        return enters[0].epoch, None
    index = UNANSWERED_END[end.event]
    if index is None:  # JOINEMPTY / JOINUNAVAIL: refused at the door, offered and ended at once
        return end.epoch, None
    wait = _seconds(end, index)
    return (end.epoch - wait, None) if wait is not None else None


def _iso(epoch: float) -> str:
    """ISO 8601 in UTC with an explicit +00:00 (queue_log epochs are UTC)."""
    stamp = datetime.fromtimestamp(epoch, UTC)
    return stamp.isoformat(timespec="seconds" if stamp.microsecond == 0 else "microseconds")


def _table(rows: list[dict[str, str | None]]) -> pa.Table:
    """Canonical columns (strings), the extras, ``__line`` and ``__raw``."""
    names = [*CALLS.names, *EXTRAS]
    columns = {name: pa.array([r.get(name) for r in rows], pa.string()) for name in names}
    columns["__line"] = pa.array([r["__line"] for r in rows], pa.int64())
    columns["__raw"] = pa.array([r["__raw"] for r in rows], pa.string())
    return pa.table(columns)
