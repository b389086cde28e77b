"""Asterisk (and VICIdial) ``queue_log`` as canonical calls.

The queue log is an event stream, ``epoch|callid|queuename|agent|event|data1|data2|...``,
one line per event, every event of a queued call sharing its ``callid`` (the caller
channel's uniqueid). Lines are split with Arrow and the events of each call are folded
into one row by a single DuckDB query, so a month of a busy PBX (millions of lines) maps
in seconds. Queue and agent events that are not calls (QUEUESTART, ADDMEMBER, PAUSE, ...)
are skipped and counted in ``skipped_events``. The mapping table, and what queue_log
cannot tell (business outcome, in-call hold), are in docs/formats.md.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.errors import InputError
from closeloop.ingest.formats import AdapterOutput, PreReject
from closeloop.ingest.formats._textfile import read_text_lines
from closeloop.model import CALLS, CallType, Direction, Outcome

# Events that end an answered call: where their holdtime and calltime are among data1..5.
ANSWERED_END = {
    "COMPLETEAGENT": ("d1", "d2"),
    "COMPLETECALLER": ("d1", "d2"),
    "TRANSFER": ("d3", "d4"),
    "BLINDTRANSFER": ("d3", "d4"),
    "ATTENDEDTRANSFER": ("d3", "d4"),
}
TRANSFERS = ("TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER")
# Events that end a call no agent answered: where their waittime is (None: refused at once).
UNANSWERED_END = {
    "ABANDON": "d3",
    "EXITWITHTIMEOUT": "d3",
    "EXITWITHKEY": "d4",
    "EXITEMPTY": "d3",
    "JOINEMPTY": None,
    "JOINUNAVAIL": None,
}
# Queue and agent events that are not about a call: skipped, counted in skipped_events.
NON_CALL_EVENTS = (
    "QUEUESTART", "CONFIGRELOAD", "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL",
    "PENALTY", "MEMBERPENALTY", "AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF",
)
NO_CALLID = ("", "NONE", "REALTIME", "MANAGER")
DATA_FIELDS = 5
REASON_NO_END = "call has no end event (log cut off?)"
REASON_NO_START = "call has no ENTERQUEUE and its start cannot be derived (log starts mid-call?)"
EXTRAS = ("transferred", "ring_no_answer", "end_event", "queue_entries", "caller_id")

_TECH_PREFIX = re.compile(r"^(?:Local|SIP|PJSIP|IAX2|Agent)/", re.IGNORECASE)
_SALES_QUEUE = re.compile(r"sale", re.IGNORECASE)
_EPOCH = r"^\s*\d+(\.\d+)?\s*$"


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
        events, rejects = _parse_lines(read_text_lines(path, "Asterisk queue_log"))
        if rejects and len(rejects) > events.num_rows:
            raise InputError(
                f"{path}: not an Asterisk queue_log: {len(rejects)} of {len(rejects) + events.num_rows} lines are "
                f"not 'epoch|callid|queue|agent|event|...' (e.g. {(rejects[0].raw or '')[:100]!r})"
            )
        skip = pc.or_(pc.is_in(events["event"], pa.array(NON_CALL_EVENTS)),
                      pc.is_in(pc.utf8_upper(events["callid"]), pa.array(NO_CALLID)))
        self.skipped_events = Counter(
            {d["values"]: d["counts"] for d in pc.value_counts(events["event"].filter(skip)).to_pylist()})
        calls = _fold_calls(events.filter(pc.invert(skip)))
        status = calls["status"].to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(status != "ok"):
            reason = REASON_NO_END if status[i] == "no_end" else REASON_NO_START
            rejects.append(PreReject(calls["first_line"][i].as_py(), "event", reason, calls["raw"][i].as_py()))
        table = self._canonical(calls.filter(pa.array(status == "ok")))
        return AdapterOutput(table, rejects, units_read=calls.num_rows + len(rejects) - int((status != "ok").sum()))

    def _canonical(self, calls: pa.Table) -> pa.Table:
        """Canonical columns (strings, ISO 8601 in UTC) from the folded calls."""
        n = calls.num_rows
        answered = calls["answered_at"].is_valid().to_numpy(zero_copy_only=False)
        queue = calls["queue"]
        sales = _map_unique(queue, lambda q: self.call_type(q or "") is CallType.SALES, pa.bool_())
        sales_np = sales.to_numpy(zero_copy_only=False)
        outcome = np.where(answered, np.where(sales_np, Outcome.NO_SALE.value, Outcome.RESOLVED.value),
                           Outcome.ABANDONED.value)
        data = {
            "call_id": calls["callid"],
            "center_id": pa.array(np.full(n, self.center_id, dtype=object), pa.string()),
            "queue": queue,
            "direction": pa.array(np.full(n, Direction.INBOUND.value, dtype=object), pa.string()),
            "call_type": pc.if_else(sales, CallType.SALES.value, CallType.CARE.value),
            "offered_at": _iso(calls["offered_at"]),
            "answered_at": _iso(calls["answered_at"]),
            "ended_at": _iso(calls["ended_at"]),
            "agent_id": pc.if_else(pa.array(answered), _map_unique(calls["agent"], normalise_agent, pa.string()),
                                   pa.scalar(None, pa.string())),
            "hold_s": pa.array(np.full(n, "0", dtype=object), pa.string()),
            "outcome": pa.array(outcome, pa.string()),
        }
        columns = {name: data.get(name, pa.nulls(n, pa.string())) for name in CALLS.names}
        columns |= {
            "transferred": pc.if_else(pc.is_in(calls["end_event"], pa.array(TRANSFERS)), "true", "false"),
            "ring_no_answer": pc.cast(calls["rings"], pa.string()),
            "end_event": calls["end_event"],
            "queue_entries": pc.cast(calls["entries"], pa.string()),
            "caller_id": calls["caller_id"],
            "__line": pc.cast(calls["first_line"], pa.int64()),
            "__raw": calls["raw"],
        }
        return pa.table(columns)


def normalise_agent(member: str | None) -> str | None:
    """A stable agent id from a queue member interface.

    ``SIP/1001``, ``PJSIP/1001``, ``IAX2/1001``, ``Agent/1001`` and
    ``Local/1001@from-queue/n`` all become ``1001``; a member name (``Jane Doe``) is kept.
    """
    text = (member or "").strip()
    if text.upper() in {"", "NONE"}:
        return None
    text = _TECH_PREFIX.sub("", text)
    if text.endswith("/n"):
        text = text[:-2]
    return text.split("@", 1)[0].strip() or None


def _parse_lines(lines: list[str]) -> tuple[pa.Table, list[PreReject]]:
    """Split every non-blank line into fields; lines that are not queue_log events become rejects."""
    raw = pa.array(lines, pa.string())
    line = pa.array(np.arange(1, len(lines) + 1, dtype=np.int64))
    nonblank = pc.not_equal(pc.utf8_trim_whitespace(raw), "")
    raw, line = raw.filter(nonblank), line.filter(nonblank)
    # Padding with pipes makes every line have at least 5 + DATA_FIELDS fields to pick from.
    parts = pc.split_pattern(pc.binary_join_element_wise(raw, "|" * (5 + DATA_FIELDS), ""), "|")
    field = [pc.utf8_trim_whitespace(pc.list_element(parts, k)) for k in range(5 + DATA_FIELDS)]
    width = pc.add(pc.count_substring(raw, "|"), 1)
    epoch_ok = pc.match_substring_regex(field[0], _EPOCH)
    event = pc.utf8_upper(field[4])
    ok = pc.and_(pc.and_(pc.greater_equal(width, 5), epoch_ok), pc.not_equal(event, ""))
    rejects = []
    for i in np.flatnonzero(~ok.to_numpy(zero_copy_only=False)):
        fields, text = width[i].as_py(), raw[i].as_py()
        if fields < 5:
            rejects.append(PreReject(line[i].as_py(), None, f"expected at least 5 '|'-separated fields, found {fields}",
                                     text))
        elif not epoch_ok[i].as_py():
            rejects.append(PreReject(line[i].as_py(), "epoch", f"not a Unix time: {field[0][i].as_py()[:40]!r}", text))
        else:
            rejects.append(PreReject(line[i].as_py(), "event", "event name is empty", text))
    events = pa.table({
        "line": line, "epoch": pc.cast(pc.if_else(ok, field[0], "0"), pa.float64()), "callid": field[1],
        "queue": field[2], "agent": field[3], "event": event,
        **{f"d{k + 1}": field[5 + k] for k in range(DATA_FIELDS)}, "raw": raw,
    }).filter(ok)
    return events, rejects


class _Grouped:
    """Events sorted by (callid, epoch, line), with the first/last position of an event kind per call.

    Positions index the sorted events; ``NONE`` marks a call without such an event.
    """

    NONE = -1

    def __init__(self, events: pa.Table) -> None:
        encoded = pc.dictionary_encode(events["callid"]).combine_chunks()
        code = encoded.indices.to_numpy(zero_copy_only=False)
        epoch = events["epoch"].to_numpy()
        line = events["line"].to_numpy()
        order = np.lexsort((line, epoch, code))
        self.n = len(order)
        self.sorted = events.take(pa.array(order))
        code_sorted = code[order]
        self.starts = np.flatnonzero(np.r_[True, code_sorted[1:] != code_sorted[:-1]]) if self.n else np.array([], int)
        self.sizes = np.diff(np.r_[self.starts, self.n])
        self.group_of = np.repeat(np.arange(len(self.starts)), self.sizes)
        self.pos = np.arange(self.n)
        names = pc.dictionary_encode(self.sorted["event"]).combine_chunks()
        self._event_code = names.indices.to_numpy(zero_copy_only=False)
        self._event_names = names.dictionary.to_pylist()
        # each call's lines in file order (same group order: by callid code), for the raw text
        self._raw_by_line = events["raw"].combine_chunks().take(pa.array(np.lexsort((line, code))))

    def mask(self, *names: str) -> np.ndarray:
        """Sorted events whose name is one of ``names``."""
        wanted = [i for i, name in enumerate(self._event_names) if name in names]
        return np.isin(self._event_code, wanted)

    def first(self, mask: np.ndarray) -> np.ndarray:
        if not self.n:
            return np.array([], int)
        found = np.minimum.reduceat(np.where(mask, self.pos, self.n), self.starts)
        return np.where(found == self.n, self.NONE, found)

    def last(self, mask: np.ndarray) -> np.ndarray:
        if not self.n:
            return np.array([], int)
        return np.maximum.reduceat(np.where(mask, self.pos, self.NONE), self.starts)

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask.astype(np.int64), self.starts) if self.n else np.array([], np.int64)

    def text(self, column: str, at: np.ndarray) -> pa.Array:
        """``column`` of the event at each position (null where the call has none)."""
        values = self.sorted[column].combine_chunks().take(pa.array(np.where(at == self.NONE, 0, at)))
        return pc.if_else(pa.array(at != self.NONE), values, pa.scalar(None, pa.string()))

    def number(self, column: str, at: np.ndarray) -> np.ndarray:
        """``column`` of the event at each position as a non-negative number (NaN if absent/invalid)."""
        if column == "epoch":
            values = self.sorted["epoch"].to_numpy()[np.where(at == self.NONE, 0, at)] if self.n else np.array([])
            return np.where(at == self.NONE, np.nan, values)
        text = self.text(column, at)
        ok = pc.fill_null(pc.match_substring_regex(text, r"^\d+(\.\d+)?$"), False)
        array: np.ndarray = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.float64()).to_numpy(
            zero_copy_only=False)
        return array

    def raw(self) -> pa.Array:
        """Each call's lines in file order, joined with newlines."""
        offsets = pa.array(np.r_[self.starts, self.n].astype(np.int32))
        return pc.binary_join(pa.ListArray.from_arrays(offsets, self._raw_by_line), "\n")


def _pick(event: pa.Array, columns: dict[str, str | None], grouped: _Grouped, at: np.ndarray) -> np.ndarray:
    """Per call, the duration in the data field that ``event`` keeps it in (NaN if none, 0 if None)."""
    names = np.asarray(event.to_numpy(zero_copy_only=False), dtype=object)
    out = np.full(len(at), np.nan)
    for column in {c for c in columns.values() if c}:
        kinds = [e for e, c in columns.items() if c == column]
        out = np.where(np.isin(names, kinds), grouped.number(column, at), out)
    zero = [e for e, c in columns.items() if c is None]
    return np.where(np.isin(names, zero), 0.0, out) if zero else out


def _fold_calls(events: pa.Table) -> pa.Table:
    """One row per callid: which events started, answered and ended it, and the derived times.

    Events of a call are ordered by (epoch, line). The answered end is the first
    COMPLETE*/TRANSFER after the first CONNECT; the unanswered end is the last ABANDON/EXIT*
    and counts only if no ENTERQUEUE follows it (a re-queued caller is still waiting).
    """
    g = _Grouped(events)
    enter, connect = g.first(g.mask("ENTERQUEUE")), g.first(g.mask("CONNECT"))
    last_enter = g.last(g.mask("ENTERQUEUE"))
    connect_row = connect[g.group_of] if g.n else np.array([], int)
    after_connect = g.pos > connect_row  # NONE (-1) when no CONNECT: every event is "after"
    answer_end = g.first(g.mask(*ANSWERED_END) & after_connect)
    unanswered_end = g.last(g.mask(*UNANSWERED_END))
    unanswered_end = np.where(unanswered_end > last_enter, unanswered_end, _Grouped.NONE)
    rings = g.count(g.mask("RINGNOANSWER") & ((connect_row == _Grouped.NONE) | (g.pos < connect_row)))

    enter_t, connect_t = g.number("epoch", enter), g.number("epoch", connect)
    ae_t, ue_t = g.number("epoch", answer_end), g.number("epoch", unanswered_end)
    ae_event, ue_event = g.text("event", answer_end), g.text("event", unanswered_end)
    ae_hold = _pick(ae_event, {k: v[0] for k, v in ANSWERED_END.items()}, g, answer_end)
    ae_calltime = _pick(ae_event, {k: v[1] for k, v in ANSWERED_END.items()}, g, answer_end)
    ue_wait = _pick(ue_event, UNANSWERED_END, g, unanswered_end)

    has_connect = connect != _Grouped.NONE
    answered = has_connect | (answer_end != _Grouped.NONE)
    answer_t = np.where(has_connect, connect_t, ae_t - ae_calltime)
    hold = np.where(has_connect, g.number("d1", connect), ae_hold)
    start = np.where(answered, answer_t - hold, ue_t - ue_wait)
    offered = np.where(np.isnan(enter_t), start, enter_t)
    ended = np.where(answered, ae_t, ue_t)
    status = np.where(np.isnan(ended), "no_end", np.where(np.isnan(offered) | (answered & np.isnan(answer_t)),
                                                          "no_start", "ok"))
    answered_arr = pa.array(answered)
    queue = pc.if_else(answered_arr, pc.coalesce(g.text("queue", connect), g.text("queue", answer_end)),
                       g.text("queue", unanswered_end))
    first_line = np.minimum.reduceat(g.sorted["line"].to_numpy(), g.starts) if g.n else np.array([], np.int64)
    table = pa.table({
        "callid": g.text("callid", g.starts if g.n else np.array([], int)),
        "first_line": pa.array(first_line, pa.int64()),
        "raw": g.raw() if g.n else pa.array([], pa.string()),
        "entries": pa.array(g.count(g.mask("ENTERQUEUE")), pa.int64()),
        "rings": pa.array(rings, pa.int64()),
        "caller_id": g.text("d2", enter),
        "agent": pc.if_else(answered_arr, pc.coalesce(g.text("agent", connect), g.text("agent", answer_end)),
                            pa.scalar(None, pa.string())),
        "queue": pc.coalesce(queue, g.text("queue", enter)),
        "offered_at": pa.array(offered, pa.float64(), from_pandas=True),
        "answered_at": pa.array(np.where(answered, answer_t, np.nan), pa.float64(), from_pandas=True),
        "ended_at": pa.array(ended, pa.float64(), from_pandas=True),
        "end_event": pc.if_else(answered_arr, ae_event, ue_event),
        "status": pa.array(status, pa.string()),
    })
    return table.take(pa.array(np.argsort(first_line, kind="stable")))


def _map_unique(values: pa.ChunkedArray | pa.Array, fn: object, type_: pa.DataType) -> pa.Array:
    """Apply a Python function to each distinct value only (queues and agents are few)."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    distinct = pc.unique(values)
    mapped = pa.array([fn(v) for v in distinct.to_pylist()], type_)  # type: ignore[operator]
    return mapped.take(pc.index_in(values, distinct))


def _iso(epochs: pa.ChunkedArray) -> pa.Array:
    """Epoch seconds -> ISO 8601 in UTC with an explicit +00:00 (microseconds only when present)."""
    arr = epochs.combine_chunks() if isinstance(epochs, pa.ChunkedArray) else epochs
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    seconds = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).astype(np.float64)
    # Seconds a timestamp cannot hold (a waittime of 10^20 behind an entry) stay text that
    # validation rejects, instead of overflowing the cast to microseconds.
    fits = np.isfinite(seconds) & (np.abs(seconds) < MAX_EPOCH_S)
    micros = np.round(np.where(fits, seconds, 0) * 1_000_000).astype(np.int64)
    stamps = micros.astype("datetime64[us]")
    whole = micros % 1_000_000 == 0
    text = np.where(whole, np.datetime_as_string(stamps, unit="s"), np.datetime_as_string(stamps, unit="us"))
    text = np.where(fits, text.astype(object) + "+00:00", "epoch out of range")
    return pa.array(np.where(valid, text, None), pa.string())  # type: ignore[call-overload]  # numpy stubs reject None


MAX_EPOCH_S = 253_402_300_800  # 10000-01-01T00:00:00Z: past it no ISO 8601 year has four digits
