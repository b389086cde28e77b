"""The :class:`Workspace`: data in (ingest, status, rejects, SQL, vacuum), and the one object.

The plumbing every use-case shares is :class:`~closeloop.workspace.base.Base`; the analytics,
conversation, money and simulation use-cases are its subclasses in sibling modules, mixed
together here, so each file stays about one concern while a user sees one object.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from closeloop.errors import EmptySelectionError, InputError, StorageError, map_errors
from closeloop.model import RECORDS
from closeloop.results import Result, Schema, schema_of
from closeloop.settings import Settings, check_timezone
from closeloop.workspace.analysis import Analysis
from closeloop.workspace.base import QUIET, Progress, _query_progress
from closeloop.workspace.conversations import Conversations
from closeloop.workspace.money import Money
from closeloop.workspace.simulation import Simulation
from closeloop.workspace.twin import Twin

INGEST = schema_of("ingest", [
    ("file", "str", "path of the file read"),
    ("record", "str", "canonical record the file holds"),
    ("format", "str", "input format it was read as"),
    ("read", "int", "data rows read"),
    ("loaded", "int", "rows loaded (inserted or replacing a row with the same key)"),
    ("rejected", "int", "rows kept in rejects with their reason (read = loaded + rejected)"),
    ("replaced", "int", "loaded rows that replaced an earlier row with the same key"),
    ("orphans", "json", "loaded rows naming unknown parent records, by field"),
    ("top_reasons", "json", "the most frequent reject reasons with their counts"),
    ("ingest_id", "int", "this load's number in the ingest log"),
])

STATUS = schema_of("status", [
    ("table", "str", "canonical table"),
    ("rows", "int", "rows loaded"),
    ("from", "timestamp", "earliest date of the table's main timestamp (UTC)"),
    ("to", "timestamp", "latest date of the table's main timestamp (UTC)"),
    ("rejected", "int", "rows of this record kind kept in rejects"),
])

REJECTS = schema_of("rejects", [
    ("record", "str", "record kind the row was meant to be"),
    ("source", "str", "file it came from"),
    ("line", "int", "line in that file (1 = header)"),
    ("field", "str", "the field at fault (empty: the whole row)"),
    ("reason", "str", "why it was not loaded"),
    ("raw", "str", "the row as written"),
])

#: Which timestamp gives each table its date range in ``status``.
_DATE_COLUMN = {"calls": "offered_at", "leads": "created_at", "agents": "hired_at"}


class Workspace(Analysis, Conversations, Money, Simulation, Twin):  # each a Base
    """One workspace: its settings, its warehouse and operational store, and every use-case.

    Open one with :func:`closeloop.open` or :func:`closeloop.init`. It holds no connection
    between calls: each method opens what it needs and closes it, so several processes (an
    ingest, the web app, a notebook) can share a workspace under DuckDB's one-writer rule.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        from closeloop.workspace.leads import Leads

        #: Lead intake, scoring, queues and follow-ups: ``ws.leads.clean()`` ...
        self.leads = Leads(self)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- data in ---------------------------------------------------------------------------

    def ingest(self, record: str, paths: str | Path | Sequence[str | Path], format: str = "auto",
               center: str | None = None, timezone: str | None = None, delimiter: str | None = None,
               progress: Progress = QUIET) -> Result:
        """Validate files and load them; one row per file. Each file is one transaction.

        Every row read is loaded or kept in rejects with its reason. ``timezone`` is the zone
        of offset-less local times (for ``anonymous-bank`` its one site); ``delimiter`` the
        separator of canonical CSV (default: sniffed from the header; the dialect is RFC 4180).
        Timestamps outside the workspace's plausibility window (``[ingest] earliest``,
        ``latest_years_ahead``) are rejected. When a later file fails, the earlier ones stay
        committed and :class:`~closeloop.ingest.FilesIngestError` says which (``.done``).
        """
        from closeloop.errors import CloseloopError
        from closeloop.ingest import FilesIngestError, TimeWindow, ingest_file
        from closeloop.warehouse import compact, worth_compacting

        if record not in RECORDS:
            raise InputError(f"unknown record {record!r}; one of {', '.join(RECORDS)}")
        files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
        options: dict[str, Any] = {"center_id": center} if center else {}
        default_tz = self.settings.default_timezone
        if timezone is not None:
            check_timezone(timezone, "timezone")
            if format == "asterisk-queue-log":
                raise InputError("asterisk-queue-log times are epoch seconds (instants): a timezone does not apply")
            if format == "anonymous-bank":
                options["timezone"] = timezone
            else:
                default_tz = timezone
        window = TimeWindow(self.settings.earliest, self.settings.latest_years_ahead)
        done = []
        with self.warehouse(write=True) as wh:
            for i, path in enumerate(files):
                progress.step(f"{path.name} ({i + 1}/{len(files)})", 100.0)
                try:
                    with _query_progress(wh, progress):
                        done.append(ingest_file(wh, record, path, format, default_tz, lambda _s: None,
                                                window=window, delimiter=delimiter, **options))
                except CloseloopError as exc:
                    if not done:
                        raise
                    raise FilesIngestError(exc, done, path) from exc
            wasted = worth_compacting(wh.size())
        if wasted:  # space an interrupted load left: the next successful load gives it back
            with suppress(StorageError):  # the load itself succeeded; `closeloop vacuum` reclaims it later
                compact(self.settings.warehouse_path())
        return ingest_result(done, [str(p) for p in files])

    def ingest_arrow(self, record: str, table: Any, source: str) -> Result:
        """Load an Arrow table of canonical records (the simulator's output) through the same validation."""
        from closeloop.ingest import ingest_arrow

        with self.warehouse(write=True) as wh:
            r = ingest_arrow(wh, record, table, source=source)
        return ingest_result([r], [source])

    def status(self) -> Result:
        """One row per canonical table: rows, date range, rejects. Extra ``size``: the warehouse
        file's bytes on disk, used and free inside (free space is reclaimed by ``vacuum``)."""
        rows = []
        with self.warehouse() as wh:
            size = wh.size()
            have = wh.tables()  # a warehouse made by an older version lacks newer records until a write
            for name in RECORDS:
                if name not in have:
                    rows.append({"table": name, "rows": 0, "rejected": 0})
                    continue
                n = wh.count(name)
                col = _DATE_COLUMN.get(name)
                first = last = None
                if col and n:
                    first, last = wh.con.execute(  # type: ignore[misc]  # aggregate: always one row
                        f'SELECT min("{col}"), max("{col}") FROM "{name}"').fetchone()
                rejected = wh.con.execute(  # type: ignore[index]  # aggregate: always one row
                    "SELECT count(*) FROM rejects WHERE record = ?", [name]).fetchone()[0]
                rows.append({"table": name, "rows": n, "from": first, "to": last, "rejected": rejected})
        return Result.from_rows(STATUS, rows, title=f"workspace {self.root}", display_zone=self.display_zone(),
                                size=size)

    def rejects(self, record: str | None = None, source: str | None = None) -> Result:
        """Rows that could not be loaded, with file, line, field, reason and raw text."""
        where, params = ["TRUE"], []
        if record:
            if record not in RECORDS:
                raise InputError(f"unknown record {record!r}; one of {', '.join(RECORDS)}")
            where.append("record = ?")
            params.append(record)
        if source:
            where.append("contains(source, ?)")
            params.append(source)
        sql = f"SELECT record, source, line, field, reason, raw FROM rejects WHERE {' AND '.join(where)} " \
              "ORDER BY source, line"
        with self.warehouse() as wh:
            rows = wh.query(sql, params).to_pylist()
        return Result.from_rows(REJECTS, rows, title="rejects")

    def sql(self, query: str) -> Result:
        """Run one SQL query on the warehouse (DuckDB dialect); columns as the query names them.

        It runs on a secured connection (:meth:`Warehouse.secured`): read-only, no file or
        network outside the warehouse, no extensions, configuration locked.
        """
        from closeloop.warehouse import open_secured

        with map_errors("warehouse"), open_secured(self.settings) as wh:
            table = wh.query(query)
        return Result(_schema_from_arrow("sql", table), table, title="sql")

    def vacuum(self) -> tuple[int, int]:
        """Give the warehouse's free space back to the disk; returns (bytes before, bytes after)."""
        from closeloop.warehouse import compact

        return compact(self.settings.warehouse_path())

def ingest_result(done: Sequence[Any], files: Sequence[str]) -> Result:
    """The INGEST table for ingest results (one row per file)."""
    return Result.from_rows(INGEST, [{
        "file": f, "record": r.record, "format": r.format, "read": r.rows_read, "loaded": r.loaded,
        "rejected": r.rejected, "replaced": r.replaced, "orphans": r.orphans,
        "top_reasons": [[k, n] for k, n in r.top_reasons], "ingest_id": r.ingest_id}
        for f, r in zip(files, done, strict=False)], title="ingest")


_ARROW_LOGICAL = (
    ("is_string", "str"), ("is_large_string", "str"), ("is_integer", "int"), ("is_floating", "float"),
    ("is_boolean", "bool"), ("is_date", "date"), ("is_timestamp", "timestamp"),
)


def _schema_from_arrow(name: str, table: Any) -> Schema:
    """A declared schema for a table whose columns the user chose (``sql``): types as Arrow gives them."""
    import pyarrow.types as pt

    from closeloop.results import Column

    cols = []
    for f in table.schema:
        kind = next((k for test, k in _ARROW_LOGICAL if getattr(pt, test)(f.type)), "str")
        cols.append(Column(f.name, kind, "as the query returned it"))
    return Schema(name, tuple(cols))


def require(table_names: set[str], name: str, hint: str) -> None:
    """EmptySelectionError naming the command to run when a derived table is not there yet."""
    if name not in table_names:
        raise EmptySelectionError(f"no {name} table in the warehouse: {hint}")
