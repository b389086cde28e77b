"""The one data-access layer of the web app: every read goes through :class:`ScopedData`.

Why one layer: a vendor's manager must never see another vendor's centers, agents, calls or
contracts, whatever the URL says. The scope comes from the login (a :class:`Scope` built from
the account, never from the request) and is added here as ``where`` filters to every call of
the application layer (:class:`closeloop.workspace.Workspace`), so the numbers on a page are
the CLI's numbers for the same filters. A request naming a vendor, center, agent or call
outside the scope gets :class:`OutOfScope` (the app answers 404: nothing says it exists).
No request text becomes SQL: the few reads the Workspace has no method for (one call, its
transcript, a day's calls) are fixed statements with bound parameters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from closeloop.errors import CloseloopError, EmptySelectionError
from closeloop.ops.accounts import CLIENT_ROLES, User
from closeloop.results import Result, schema_of
from closeloop.workspace import Workspace
from closeloop.workspace.analysis import to_date

#: Filters a URL may carry, in drill order (vendor -> center -> queue -> agent -> day -> call).
DRILL = ("vendor", "center_id", "queue", "team", "agent_id")
#: The level below each grouping on the drill path (team is a side step: team -> its agents).
NEXT_LEVEL = {"vendor": "center_id", "center_id": "queue", "queue": "agent_id", "team": "agent_id",
              "agent_id": "day"}
_CALL_COLUMN = {"vendor": "ce.vendor", "team": "ag.team"}
#: Headline metrics (Overview) and the scorecard's default set.
HEADLINE = ("offered", "service_level", "abandon_rate", "close_rate", "aht_s")
MAX_CALLS = 500

CALL_LIST = schema_of("calls", [
    ("call_id", "str", "call"), ("center_id", "str", "center"), ("vendor", "str", "the center's vendor"),
    ("queue", "str", "queue"), ("call_type", "str", "sales or care"), ("direction", "str", "inbound or outbound"),
    ("offered_at", "timestamp", "offered (UTC)"), ("agent_id", "str", "agent"), ("outcome", "str", "outcome"),
    ("order_value", "float", "order value on a sale"),
])


#: DuckDB has one writer per file: the server's writes (uploads, a conversation scan) take turns.
WRITE_LOCK = threading.Lock()


class OutOfScope(CloseloopError):
    """A request named something outside the caller's scope (or that does not exist): answered 404."""

    exit_code = 1


@dataclass(frozen=True)
class Scope:
    """What one caller may see: every center (client), a vendor's centers, one center, or one agent."""

    role: str
    vendor: str | None = None
    centers: frozenset[str] | None = None  # None: every center
    agent_id: str | None = None

    @property
    def is_client(self) -> bool:
        """The client's own people (and client tokens) see everything."""
        return self.centers is None and self.agent_id is None

    def where(self) -> dict[str, list[str]]:
        """The scope as Workspace ``where`` filters."""
        out: dict[str, list[str]] = {}
        if self.centers is not None:
            out["center_id"] = sorted(self.centers)
        if self.agent_id is not None:
            out["agent_id"] = [self.agent_id]
        return out

    def describe(self) -> str:
        """One line for the page header."""
        if self.is_client:
            return "all centers"
        if self.agent_id:
            return f"agent {self.agent_id}"
        return f"{self.vendor or 'vendor'}: {', '.join(sorted(self.centers or ())) or 'no centers'}"


def scope_for(ws: Workspace, role: str, vendor: str | None = None, center: str | None = None,
              agent_id: str | None = None) -> Scope:
    """The scope of an account (or token), from the warehouse's centers and agents."""
    if role in CLIENT_ROLES:
        return Scope(role)
    with ws.warehouse() as wh:
        if role == "agent":
            got = wh.query("SELECT center_id FROM agents WHERE agent_id = ?", [agent_id]).column(0).to_pylist()
            centers = frozenset([center] if center else got)
            return Scope(role, _vendor_of(wh, centers), centers, agent_id)
        if role == "supervisor":
            centers = frozenset([center] if center else [])
            return Scope(role, _vendor_of(wh, centers), centers)
        got = wh.query("SELECT center_id FROM centers WHERE vendor = ?", [vendor]).column(0).to_pylist()
        return Scope(role, vendor, frozenset(got))


def scope_of_user(ws: Workspace, user: User) -> Scope:
    """The scope of a signed-in account."""
    return scope_for(ws, user.role, user.vendor, user.center_id, user.agent_id)


def _vendor_of(wh: Any, centers: frozenset[str]) -> str | None:
    if not centers:
        return None
    got = wh.query("SELECT DISTINCT vendor FROM centers WHERE list_contains(?, center_id)",
                   [sorted(centers)]).column(0).to_pylist()
    return got[0] if len(got) == 1 else None


class ResultCache:
    """Use-case answers by (use-case, arguments including the scope's filters), until the warehouse changes.

    Why: a page, its CSV export and its API twin ask the same scorecard; twenty people on one
    dashboard ask the same headline. The key holds the full ``where`` (the scope included), so
    one caller's entry can only ever be served to a caller with the same scope. An entry is
    dropped when the warehouse file (or its write-ahead log) changes: an ingest invalidates all.
    """

    def __init__(self, ws: Workspace, size: int = 256) -> None:
        self.paths = [ws.settings.warehouse_path(), ws.settings.warehouse_path().with_suffix(".duckdb.wal")]
        self.size = size
        self._items: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _stamp(self) -> Hashable:
        out: list[tuple[int, int] | None] = []  # (mtime, size) per file; None where it is missing
        for p in self.paths:
            try:
                st = p.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The cached answer for ``key``, or ``build()`` stored under it."""
        stamp = self._stamp()
        with self._lock:
            got = self._items.get(key)
            if got is not None and got[0] == stamp:
                self._items.move_to_end(key)
                return got[1]
        value = build()
        with self._lock:
            self._items[key] = (stamp, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def _frozen(where: Mapping[str, Sequence[str]]) -> tuple:
    return tuple(sorted((k, tuple(v)) for k, v in where.items()))


class ScopedData:
    """The Workspace seen through one caller's scope."""

    def __init__(self, ws: Workspace, scope: Scope, cache: ResultCache | None = None) -> None:
        self.ws = ws
        self.scope = scope
        self.cache = cache

    def _cached(self, key: Hashable, build: Callable[[], Any]) -> Any:
        return build() if self.cache is None else self.cache.get(key, build)

    # -- filters -------------------------------------------------------------------------

    def filters(self, given: Mapping[str, str | None]) -> dict[str, str]:
        """The drill filters of a request, checked against the scope (OutOfScope names none of them)."""
        out = {k: v for k, v in given.items() if k in DRILL and v}
        s = self.scope
        if s.centers is not None and "center_id" in out and out["center_id"] not in s.centers:
            raise OutOfScope("not found")
        if s.vendor is not None and "vendor" in out and out["vendor"] != s.vendor:
            raise OutOfScope("not found")
        if s.agent_id is not None and "agent_id" in out and out["agent_id"] != s.agent_id:
            raise OutOfScope("not found")
        return out

    def where(self, filters: Mapping[str, str]) -> dict[str, list[str]]:
        """The request's filters and the scope's, together (the scope's always apply)."""
        out: dict[str, list[str]] = {k: [v] for k, v in filters.items()}
        for col, allowed in self.scope.where().items():
            if col in out:
                out[col] = [v for v in out[col] if v in allowed]
                if not out[col]:
                    raise OutOfScope("not found")
            else:
                out[col] = allowed
        if self.scope.centers is not None and not self.scope.centers:
            raise OutOfScope("no centers in this account's scope")
        return out

    # -- use-cases -----------------------------------------------------------------------

    def scorecard(self, by: str | None, filters: Mapping[str, str], grain: str | None = None,
                  period: str | None = None, start: str | None = None, end: str | None = None,
                  metrics: tuple[str, ...] = HEADLINE) -> Result:
        """The Workspace's scorecard for the drill level ``by`` (``day``: per local day) within scope."""
        if by == "day":
            by, grain = None, "day"
        where = self.where(filters)
        key = ("scorecard", by, grain, _frozen(where), period, start, end, tuple(metrics))
        try:
            return self._cached(key, lambda: self.ws.scorecard(
                by=[by] if by else None, grain=grain, metrics=list(metrics), where=where, period=period,
                start=start, end=end))
        except EmptySelectionError:
            raise OutOfScope("nothing in your scope matches") from None

    def gap(self, dimension: str, a: str, b: str, adjust_for: Sequence[str], metric: str = "close_rate") -> Result:
        """Split the gap between two groups into mix and performance (Workspace.explain_gap) within scope.

        A vendor compares its own centers only (``vendor`` as the dimension would show another
        vendor's rate): both groups must be in scope, else OutOfScope.
        """
        if dimension not in ("vendor", "center_id"):
            raise OutOfScope("not found")
        if dimension == "vendor" and not self.scope.is_client:
            raise OutOfScope("not found")
        self.filters({dimension: a})
        self.filters({dimension: b})
        where = self.where({})
        key = ("gap", dimension, a, b, tuple(adjust_for), metric, _frozen(where))
        try:
            return self._cached(key, lambda: self.ws.explain_gap(dimension, a, b, adjust_for=list(adjust_for),
                                                                 metric=metric, where=where))
        except EmptySelectionError:
            raise OutOfScope("nothing in your scope matches") from None

    def modes(self) -> Result:
        """Close rate by the agent's previous call and run position (Workspace.explain_modes) within scope."""
        where = self.where({})
        return self._cached(("modes", _frozen(where)), lambda: self.ws.explain_modes(where=where))

    def patterns(self, center: str | None, call_type: str = "sales") -> Result:
        """What in the calls predicts lost sales (Workspace.patterns) for all centers or one in scope.

        A vendor or supervisor sees one of its centers at a time (the default: its first); an
        agent none (a center's patterns speak of their colleagues' calls too).
        """
        if self.scope.agent_id is not None:
            raise OutOfScope("not found")
        if not self.scope.is_client:
            if center is None:
                center = min(self.scope.centers or {""})
            self.filters({"center_id": center})
        key = ("patterns", center, call_type)

        def build() -> Result:
            with WRITE_LOCK:  # the first call scans the transcripts and stores what it found
                return self.ws.patterns(call_type=call_type, center=center)

        try:
            return self._cached(key, build)
        except EmptySelectionError:
            raise OutOfScope("nothing in your scope matches") from None

    def as_of(self) -> Any:
        """The latest offered call in scope (what the numbers are as of)."""
        where, params = self._scope_sql("c")

        def build() -> Any:
            with self.ws.warehouse() as wh:
                return wh.query(f"SELECT max(c.offered_at) FROM calls c WHERE {where}", params).column(0)[0].as_py()

        return self._cached(("as_of", where, str(params)), build)

    def span(self) -> tuple[date | None, date | None]:
        """First and last local day with calls in scope (to mark partial periods)."""
        where, params = self._scope_sql("c")
        return self._cached(("span", where, str(params)), lambda: self._span(where, params))

    def _span(self, where: str, params: list[Any]) -> tuple[date | None, date | None]:
        with self.ws.warehouse() as wh:
            got = wh.query("SELECT min(d) AS first_day, max(d) AS last_day FROM ("
                           "SELECT CAST(timezone(ce.timezone, c.offered_at) AS DATE) d FROM calls c "
                           f"LEFT JOIN centers ce USING (center_id) WHERE {where})", params).to_pylist()
        return got[0]["first_day"], got[0]["last_day"]

    def calls(self, filters: Mapping[str, str], day: str | date | None, limit: int = MAX_CALLS) -> Result:
        """The calls of one local day (the center's zone) within scope and filters, first ``limit``."""
        where, params = self._scope_sql("c")
        cond = [where]
        for col in DRILL:
            if col in filters:
                cond.append(f"{_CALL_COLUMN.get(col, 'c.' + col)} = ?")
                params.append(filters[col])
        the_day = to_date(day, "day")
        if the_day is not None:
            cond.append("CAST(timezone(ce.timezone, c.offered_at) AS DATE) = ?")
            params.append(the_day)
        sql = ("SELECT c.call_id, c.center_id, ce.vendor, c.queue, c.call_type, c.direction, c.offered_at, "
               "c.agent_id, c.outcome, c.order_value FROM calls c LEFT JOIN centers ce USING (center_id) "
               "LEFT JOIN agents ag ON ag.agent_id = c.agent_id "
               f"WHERE {' AND '.join(cond)} ORDER BY c.offered_at, c.call_id LIMIT {int(limit)}")
        with self.ws.warehouse() as wh:
            rows = wh.query(sql, params).to_pylist()
        if not rows and (filters or the_day is not None):
            raise OutOfScope("nothing in your scope matches")
        return Result.from_rows(CALL_LIST, rows, title="calls")

    def call(self, call_id: str) -> dict[str, Any]:
        """One call with its center, agent, lead and transcript turns; OutOfScope if not visible."""
        where, params = self._scope_sql("c")
        with self.ws.warehouse() as wh:
            cols = set(wh.columns("calls"))
            rec = "" if "recording_uri" in cols else ", NULL AS recording_uri"
            rows = wh.query(
                f"SELECT c.*{rec}, ce.vendor, ce.name AS center_name, "
                "ce.timezone, a.name AS agent_name, a.team FROM calls c "
                "LEFT JOIN centers ce USING (center_id) LEFT JOIN agents a ON a.agent_id = c.agent_id "
                f"WHERE c.call_id = ? AND {where}", [call_id, *params]).to_pylist()
            if not rows:
                raise OutOfScope("not found")
            turns = wh.query("SELECT turn, speaker, start_s, end_s, text FROM transcripts WHERE call_id = ? "
                             "ORDER BY turn", [call_id]).to_pylist()
            from closeloop.warehouse.conversations import events_for

            flagged: dict[int, list[str]] = {}
            for e in events_for(wh, [call_id])[call_id]:  # what the conversation scan found, by turn
                if e.get("turn") is not None:
                    flagged.setdefault(int(e["turn"]), []).append(str(e["kind"]))
            for t in turns:
                t["flags"] = sorted(set(flagged.get(int(t["turn"]), [])))
            lead = None
            if rows[0].get("lead_id"):
                got = wh.query("SELECT lead_id, created_at, source, product FROM leads WHERE lead_id = ?",
                               [rows[0]["lead_id"]]).to_pylist()
                lead = got[0] if got else None
        return {"call": rows[0], "turns": turns, "lead": lead}

    def visible_calls(self, call_ids: Sequence[str]) -> set[str]:
        """Which of these call ids exist within the scope."""
        if not call_ids:
            return set()
        where, params = self._scope_sql("c")
        with self.ws.warehouse() as wh:
            got = wh.query(f"SELECT call_id FROM calls c WHERE list_contains(?, c.call_id) AND {where}",
                           [sorted(set(call_ids)), *params])
        return set(got.column(0).to_pylist())

    def recording(self, call_id: str) -> Path:
        """The call's recording file under WORKSPACE/recordings; OutOfScope when none can be served."""
        path = self.recording_path(self.call(call_id)["call"].get("recording_uri"))
        if path is None:
            raise OutOfScope("no recording")
        return path

    def recording_path(self, uri: str | None) -> Path | None:
        """A ``recording_uri`` as a file to serve, or None.

        Why so strict: ``recording_uri`` is data from a calls file. Only a plain file inside
        the recordings folder (after resolving links and ``..``) is served; anything else,
        URLs included, is not.
        """
        if not uri or "://" in uri or "\x00" in uri:
            return None
        base = (self.ws.root / "recordings").resolve()
        try:
            path = (base / uri.removeprefix("recordings/")).resolve()
            return path if path.is_relative_to(base) and path.is_file() else None
        except (OSError, ValueError):  # a name the file system cannot hold: not a recording
            return None

    def sla(self, period: str | None = None, summary: bool = False) -> Result:
        """Every contract term (or contract, ``summary``) per period, keeping contracts of centers in scope."""
        result = self._cached(("sla", period, summary), lambda: self.ws.sla_check(period=period, summary=summary))
        if self.scope.is_client:
            return result
        visible = {c.name for c in self.ws.contracts() if self._covers(c)}
        rows = [r for r in result.rows() if r["contract"] in visible]
        return Result.from_rows(result.schema, rows, title=result.title)

    def _covers(self, contract: Any) -> bool:
        """A contract is visible to a vendor when its scope names only that vendor or its centers."""
        if self.scope.agent_id is not None:
            return False
        for f in contract.filters:
            if f.negate:
                continue
            if f.column == "vendor" and self.scope.vendor is not None and set(f.values) == {self.scope.vendor}:
                return True
            if f.column == "center_id" and set(f.values) <= (self.scope.centers or set()):
                return True
        return False

    def centers(self) -> list[dict[str, Any]]:
        """Centers in scope: id, vendor, name, zone."""
        where, params = self._scope_sql("c", centers_only=True)
        with self.ws.warehouse() as wh:
            return wh.query(f"SELECT center_id, vendor, name, timezone FROM centers c WHERE {where} "
                            "ORDER BY center_id", params).to_pylist()

    def _scope_sql(self, alias: str, centers_only: bool = False) -> tuple[str, list[Any]]:
        """The scope as a bound SQL condition on a table with center_id (and agent_id)."""
        cond: list[str] = ["TRUE"]
        params: list[Any] = []
        if self.scope.centers is not None:
            cond.append(f"list_contains(?, {alias}.center_id)")
            params.append(sorted(self.scope.centers))
        if self.scope.agent_id is not None and not centers_only:
            cond.append(f"{alias}.agent_id = ?")
            params.append(self.scope.agent_id)
        return " AND ".join(cond), params
