"""The "Anonymous Bank" call log (Technion SEE lab) as canonical calls.

One tab-separated row per call: the VRU line it came in on, when it left the VRU, joined
and left the agent queue, and started and ended service, each a clock time ``h:mm:ss`` on
the row's ``date`` (YYMMDD, the center's local time). The mapping and the rule for every
odd row found in the published month (January 1999) are documented in docs/formats.md;
this module implements exactly those rules, vectorised over the whole file.

Rows the data itself marks as not customer contacts with an agent queue (PHANTOM ghost
calls, callers who hung up in the VRU before queueing) and served rows missing what a
served call needs (the server, the service times) go to rejects with a reason; every
other row is mapped. ``rule_counts`` on the adapter says how often each rule fired.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.errors import InputError
from closeloop.ingest.formats import AdapterOutput, PreReject
from closeloop.ingest.formats._textfile import read_text_lines
from closeloop.model import CALLS, CallType, Direction, Outcome

HEADER = (
    "vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry", "vru_exit", "vru_time",
    "q_start", "q_exit", "q_time", "outcome", "ser_start", "ser_exit", "ser_time", "server",
)
# Clock fields in the order a call passes them; one more than half a day earlier on the
# clock than the field before it happened after midnight.
CLOCK_FIELDS = ("vru_entry", "vru_exit", "q_start", "q_exit", "ser_start", "ser_exit")
SECONDS_FIELDS = ("vru_time", "q_time", "ser_time")
TEXT_FIELDS = ("vru+line", "call_id", "type", "date", "outcome", "server")
CALL_TYPES = {
    "PS": CallType.CARE, "PE": CallType.CARE, "IN": CallType.CARE, "NE": CallType.CARE, "TT": CallType.CARE,
    "NW": CallType.SALES,  # prospects asking for information: the bank's pre-sales queue
}
OUTCOMES = ("AGENT", "HANG", "PHANTOM")
NO_SERVER = "NO_SERVER"
CALLBACK_QUEUE = "TT"
# Source columns kept beside the canonical ones, under these names.
EXTRAS = {
    "bank_call_id": "call_id", "bank_vru_line": "vru+line", "bank_customer_id": "customer_id",
    "bank_priority": "priority", "bank_vru_time": "vru_time", "bank_q_time": "q_time",
    "bank_ser_time": "ser_time", "bank_server": "server",
}
CALLBACK_COLUMN = "bank_callback_request"
HALF_DAY = 12 * 3600
DAY = 24 * 3600

REASON_PHANTOM = "phantom call (ghost call, not a customer contact)"
REASON_VRU_HANG = "hung up in the VRU before joining the agent queue (never offered to an agent)"
REASON_NO_SERVER = "served (AGENT) but no server recorded (NO_SERVER): who answered is unknown"
REASON_NO_SERVICE = "served (AGENT) but ser_start and ser_exit are 0:00:00: service times missing"

_CLOCK = r"^(?P<h>\d{1,2}):(?P<m>[0-5]\d):(?P<s>[0-5]\d)$"
_SECONDS = r"^-?\d+$"


class AnonymousBank:
    """Reader for the Anonymous Bank call-center log (one row per call, tab-separated)."""

    name = "anonymous-bank"
    record = "calls"
    description = "Anonymous Bank (Technion SEE lab) call log: tab-separated, one row per call, local clock times"

    def __init__(self, center_id: str = "anonymous-bank", timezone: str = "Asia/Jerusalem") -> None:
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InputError(f"unknown time zone {timezone!r} for the anonymous-bank format") from exc
        self.center_id = center_id
        self.timezone = timezone
        self.rule_counts: dict[str, int] = {}

    def read(self, path: Path) -> AdapterOutput:
        """Map every row of ``path``; odd rows follow the documented rules or go to rejects."""
        lines = read_text_lines(path, "Anonymous Bank call log")
        _check_header(path, lines)
        rows, rejects = _split_rows(lines)
        self.rule_counts = {"malformed_row": len(rejects)}
        units = rows.n + len(rejects)
        reason, field = self._reject_reasons(rows)
        keep = reason == ""
        for i in np.flatnonzero(~keep):
            rejects.append(PreReject(int(rows.line[i]), field[i], reason[i], rows.raw[i].as_py()))
        table = self._map(rows.take(keep))
        return AdapterOutput(table, rejects, units_read=units)

    def _reject_reasons(self, rows: _Rows) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the first reason it cannot be mapped ('' when it can) and the field at fault."""
        reason = np.full(rows.n, "", dtype=object)
        field = np.full(rows.n, None, dtype=object)

        def mark(mask: np.ndarray, name: str, why: str, rule: str, values: np.ndarray | None = None) -> None:
            new = mask & (reason == "")
            reason[new] = why if values is None else [f"{why}: {v!r}" for v in values[new]]
            field[new] = name
            self.rule_counts[rule] = self.rule_counts.get(rule, 0) + int(new.sum())

        text = rows.text
        for name in ("vru+line", "call_id"):
            mark(text[name] == "", name, f"{name} is empty", "invalid_value")
        mark(~np.isin(text["type"], list(CALL_TYPES)), "type", "unknown service type", "invalid_value", text["type"])
        mark(~np.isin(text["outcome"], OUTCOMES), "outcome", "unknown outcome", "invalid_value", text["outcome"])
        mark(rows.days < 0, "date", "not a YYMMDD date", "invalid_value", text["date"])
        for name in CLOCK_FIELDS:
            mark(rows.secs[name] < 0, name, "not a clock time h:mm:ss", "invalid_value", _strings(rows.cols[name]))
        for name in SECONDS_FIELDS:
            bad = ~_true(pc.match_substring_regex(rows.cols[name], _SECONDS))
            mark(bad, name, "not a whole number of seconds", "invalid_value", _strings(rows.cols[name]))

        agent, hang = text["outcome"] == "AGENT", text["outcome"] == "HANG"
        no_service = (rows.secs["ser_start"] == 0) & (rows.secs["ser_exit"] == 0)
        mark(text["outcome"] == "PHANTOM", "outcome", REASON_PHANTOM, "phantom")
        mark(hang & ~rows.queued, "q_start", REASON_VRU_HANG, "hung_up_in_vru")
        mark(agent & (text["server"] == NO_SERVER), "server", REASON_NO_SERVER, "agent_without_server")
        mark(agent & no_service, "ser_start", REASON_NO_SERVICE, "agent_without_service_times")
        return reason, field

    def _map(self, rows: _Rows) -> pa.Table:
        """Canonical columns (strings, ISO 8601 with offset) for rows every rule accepted."""
        n = rows.n
        clock = self._absolute_clock(rows)
        outcome, qtype = rows.text["outcome"], rows.text["type"]
        agent, sales = outcome == "AGENT", qtype == "NW"
        offered = np.where(rows.queued, clock["q_start"], clock["vru_exit"])
        # The VRU and the switch keep separate clocks: a call is often stamped answered a
        # second "before" it left the VRU or joined the queue. A call cannot be answered
        # before it is offered, so offered_at is then moved back to the answer.
        early = agent & (clock["ser_start"] < offered)
        self.rule_counts["served_without_queueing"] = int((agent & ~rows.queued).sum())
        self.rule_counts["answered_before_offered_unqueued"] = int((early & ~rows.queued).sum())
        self.rule_counts["answered_before_offered_queued"] = int((early & rows.queued).sum())
        offered = np.where(early, clock["ser_start"], offered)
        self._count_oddities(rows, agent)
        base = rows.days * DAY
        everywhere = np.ones(n, dtype=bool)
        data: dict[str, pa.Array] = {
            "call_id": pc.binary_join_element_wise(rows.cols["vru+line"], rows.cols["date"], rows.cols["call_id"], "-"),
            "center_id": pa.array(np.full(n, self.center_id, dtype=object), pa.string()),
            "queue": rows.cols["type"],
            "direction": pa.array(np.full(n, Direction.INBOUND.value, dtype=object), pa.string()),
            "call_type": pa.array(np.where(sales, CallType.SALES.value, CallType.CARE.value), pa.string()),
            "offered_at": self._iso(base + offered, everywhere),
            "answered_at": self._iso(base + clock["ser_start"], agent),
            "ended_at": self._iso(base + np.where(agent, clock["ser_exit"], clock["q_exit"]), everywhere),
            "agent_id": pa.array(np.where(agent, rows.text["server"], None),  # type: ignore[call-overload]  # stubs reject None
                                 pa.string()),
            "outcome": pa.array(_outcomes(agent, sales), pa.string()),
        }
        columns = {name: data.get(name, pa.nulls(n, pa.string())) for name in CALLS.names}
        columns |= {name: rows.cols[source] for name, source in EXTRAS.items()}
        columns[CALLBACK_COLUMN] = pa.array(np.where(qtype == CALLBACK_QUEUE, "true", "false"), pa.string())
        columns["__line"] = pa.array(rows.line, pa.int64())
        columns["__raw"] = rows.raw
        return pa.table(columns)

    def _absolute_clock(self, rows: _Rows) -> dict[str, np.ndarray]:
        """Seconds after midnight of ``date`` for each clock field, rolling over midnight.

        Fields are taken in the order a call passes them; a field more than half a day
        earlier on the clock than the previous present one happened the next day. Smaller
        backward steps are clock skew between the VRU and the switch and are kept.
        """
        present = {"q_start": rows.queued, "q_exit": rows.queued, "ser_start": rows.served, "ser_exit": rows.served}
        prev = rows.secs["vru_entry"].copy()
        day = np.zeros(rows.n, dtype=np.int64)
        out: dict[str, np.ndarray] = {}
        for name in CLOCK_FIELDS:
            t = rows.secs[name]
            here = present.get(name, np.ones(rows.n, dtype=bool))
            day = day + (here & (t < prev - HALF_DAY))
            out[name] = np.where(here, t + day * DAY, 0)
            prev = np.where(here, t, prev)
        self.rule_counts["crossed_midnight"] = int((day > 0).sum())
        return out

    def _count_oddities(self, rows: _Rows, agent: np.ndarray) -> None:
        """Count odd but mappable patterns that docs/formats.md describes (no value changes)."""
        hang = ~agent
        self.rule_counts["hang_with_service_times"] = int((hang & rows.served).sum())
        self.rule_counts["hang_with_server"] = int((hang & (rows.text["server"] != NO_SERVER)).sum())
        self.rule_counts["negative_vru_time"] = int((rows.integers("vru_time") < 0).sum())
        mismatch = np.zeros(rows.n, dtype=bool)
        for start, end, secs in (("vru_entry", "vru_exit", "vru_time"), ("q_start", "q_exit", "q_time"),
                                 ("ser_start", "ser_exit", "ser_time")):
            stated = rows.integers(secs)
            mismatch |= ((rows.secs[end] - rows.secs[start]) % DAY != stated % DAY) & (stated != 0)
        self.rule_counts["duration_differs_from_clock"] = int(mismatch.sum())

    def _iso(self, local_sec: np.ndarray, present: np.ndarray) -> pa.Array:
        """ISO 8601 text with the center's UTC offset at that local time; null where absent."""
        local_sec = local_sec.astype(np.int64)
        hours, where = np.unique(local_sec // 3600, return_inverse=True)
        epoch = datetime(1970, 1, 1)
        offsets = np.array([_offset(epoch + timedelta(hours=int(h)), self._zone) for h in hours], dtype=object)
        stamps = np.datetime_as_string(local_sec.astype("datetime64[s]"), unit="s").astype(object)
        return pa.array(np.where(present, stamps + offsets[where.ravel()], None), pa.string())


class _Rows:
    """The file's data rows as columns, each field parsed once (the rules read them often)."""

    def __init__(self, cols: dict[str, pa.Array], line: np.ndarray, raw: pa.Array) -> None:
        self.cols, self.line, self.raw = cols, line, raw
        self.n = len(line)
        self.text = {name: _strings(cols[name]) for name in TEXT_FIELDS}
        self.secs = {name: _clock_seconds(cols[name]) for name in CLOCK_FIELDS}
        self.days = _date_days(cols["date"])
        self._derive()

    def _derive(self) -> None:
        self.queued = (self.secs["q_start"] > 0) | (self.secs["q_exit"] > 0)
        self.served = (self.secs["ser_start"] > 0) | (self.secs["ser_exit"] > 0)

    def take(self, keep: np.ndarray) -> _Rows:
        """The rows where ``keep`` is true (parsed values are filtered, not parsed again)."""
        mask = pa.array(keep)
        out = object.__new__(_Rows)
        out.cols = {k: v.filter(mask) for k, v in self.cols.items()}
        out.line, out.raw, out.n = self.line[keep], self.raw.filter(mask), int(keep.sum())
        out.text = {k: v[keep] for k, v in self.text.items()}
        out.secs = {k: v[keep] for k, v in self.secs.items()}
        out.days = self.days[keep]
        out._derive()
        return out

    def integers(self, name: str) -> np.ndarray:
        """A seconds field (vru_time, q_time, ser_time) as integers; only rows that passed validation ask."""
        array: np.ndarray = pc.cast(self.cols[name], pa.int64()).to_numpy(zero_copy_only=False)
        return array


def _check_header(path: Path, lines: list[str]) -> None:
    """Refuse a file whose first line is not the Anonymous Bank header."""
    if not lines:
        raise InputError(f"{path}: empty file, not an Anonymous Bank call log")
    found = tuple(h.strip().lower() for h in lines[0].split("\t"))
    if found != HEADER:
        raise InputError(
            f"{path}: not an Anonymous Bank call log: the first line should be the 17 tab-separated "
            f"fields {', '.join(HEADER)}; found {lines[0][:120]!r}"
        )


def _split_rows(lines: list[str]) -> tuple[_Rows, list[PreReject]]:
    """Data rows split on tabs into trimmed columns; blank lines skipped, wrong-width rows rejected."""
    raw = pa.array(lines[1:], pa.string())
    line = np.arange(2, len(lines) + 1, dtype=np.int64)
    nonblank = _true(pc.not_equal(pc.utf8_trim_whitespace(raw), ""))
    raw, line = raw.filter(pa.array(nonblank)), line[nonblank]
    parts = pc.split_pattern(raw, "\t")
    width = len(HEADER)
    ok = _true(pc.equal(pc.list_value_length(parts), width))
    counts = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    rejects = [
        PreReject(int(line[i]), None, f"expected {width} tab-separated fields, found {counts[i]}", raw[i].as_py())
        for i in np.flatnonzero(~ok)
    ]
    mask = pa.array(ok)
    values = pc.utf8_trim_whitespace(pc.list_flatten(parts.filter(mask)))
    cols = {name: values.take(pa.array(np.arange(k, len(values), width))) for k, name in enumerate(HEADER)}
    return _Rows(cols, line[ok], raw.filter(mask)), rejects


def _strings(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def _true(mask: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _clock_seconds(arr: pa.Array) -> np.ndarray:
    """``h:mm:ss`` -> seconds after midnight; -1 where the text is not a clock time."""
    parts = pc.extract_regex(arr, _CLOCK)
    h, m, s = (pc.cast(pc.struct_field(parts, k), pa.int64()) for k in ("h", "m", "s"))
    sec = pc.add(pc.add(pc.multiply(h, 3600), pc.multiply(m, 60)), s)
    sec = pc.if_else(pc.less(h, 24), sec, pa.scalar(None, pa.int64()))
    return np.asarray(pc.fill_null(sec, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _date_days(arr: pa.Array) -> np.ndarray:
    """YYMMDD -> days since 1970-01-01 (YY 69-99 is 19YY, 00-68 is 20YY); -1 where invalid."""
    parsed = pc.strptime(arr, format="%y%m%d", unit="s", error_is_null=True)
    six = _true(pc.match_substring_regex(arr, r"^\d{6}$"))
    days = pc.fill_null(pc.divide(pc.cast(parsed, pa.int64()), DAY), -1).to_numpy(zero_copy_only=False)
    return np.where(six, days, -1).astype(np.int64)


def _outcomes(agent: np.ndarray, sales: np.ndarray) -> np.ndarray:
    """AGENT -> resolved (care) / no_sale (sales: no business outcome in the data); HANG -> abandoned."""
    answered = np.where(sales, Outcome.NO_SALE.value, Outcome.RESOLVED.value)
    return np.where(agent, answered, Outcome.ABANDONED.value)


def _offset(local: datetime, zone: ZoneInfo) -> str:
    """``+02:00`` for a naive local time in ``zone`` (an hour that occurs twice takes its first offset)."""
    delta = local.replace(tzinfo=zone).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
