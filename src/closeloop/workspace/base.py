"""What every part of the Workspace shares: settings, the stores, conventions, stored facts, progress.

The use-case mixins (:mod:`~closeloop.workspace.analysis`, ``conversations``, ``money``,
``simulation``) subclass :class:`Base`, so each file is typed against the plumbing it uses and
a user still sees one object, :class:`closeloop.workspace.Workspace`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from closeloop.errors import ConfigError, InputError, StorageError, map_errors
from closeloop.settings import Settings
from closeloop.warehouse import Warehouse, open_warehouse


class Progress:
    """Where long work says how far it is. The default says nothing (a notebook, a pipe).

    The CLI passes one that draws a Rich progress bar on a terminal.
    """

    def step(self, name: str, total: float | None = None) -> None:
        """A new stage of the work begins (``total`` units, or unknown)."""

    def update(self, done: float, total: float | None = None) -> None:
        """``done`` units of the current stage are finished."""


QUIET = Progress()


class Base:
    """Settings, stores and conventions of one workspace (the plumbing every use-case uses)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def root(self) -> Path:
        """The workspace folder."""
        return self.settings.root

    @contextmanager
    def warehouse(self, write: bool = False) -> Iterator[Warehouse]:
        """The analytical store, open for the block (read-only unless ``write``)."""
        with map_errors("warehouse"), open_warehouse(self.settings, read_only=not write) as wh:
            yield wh

    def contracts(self, path: str | Path | None = None) -> list[Any]:
        """The parsed contract file (default: contracts.toml in the workspace); several use-cases read it."""
        from closeloop.contracts import parse_contracts

        file = Path(path) if path is not None else self.root / "contracts.toml"
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"no contract file at {file}: write one (see docs/sla.md, examples/contracts/) "
                              "or pass the contracts path") from None
        except OSError as exc:
            raise ConfigError(f"{file}: cannot read the contract file ({exc.strerror or exc})") from exc
        return parse_contracts(text, str(file))

    def conventions(self, **overrides: Any) -> Any:
        """The workspace's metric conventions (docs/metrics.md), with overrides such as ``conf``."""
        from closeloop.metrics import Conventions

        return Conventions.from_settings(self.settings.metrics, default_timezone=self.settings.default_timezone,
                                         **overrides)

    def display_zone(self) -> ZoneInfo:
        """The zone people read this workspace's times in (its default time zone)."""
        return ZoneInfo(self.settings.default_timezone)

    def refresh_facts(self, conv: Any = None, progress: Progress = QUIET) -> bool:
        """Build the stored per-call facts when the data or conventions changed since they were built.

        Why: the first scorecard, SLA check or report after an ingest pays for the facts once
        (windows and joins over every call), later ones read them as plain columns. When the
        warehouse cannot be opened for writing (another process holds it, a read-only file),
        nothing is built: metrics are then computed on the fly, with the same results.
        Returns whether a build ran.
        """
        from closeloop.metrics.facts import facts_current

        conv = conv or self.conventions()
        try:
            with self.warehouse() as wh:
                if facts_current(wh.ibis(), conv):
                    return False
        except StorageError:
            return False  # no warehouse yet: the use-case's own open says so
        try:
            with self.warehouse(write=True) as wh:
                backend = wh.ibis()
                if facts_current(backend, conv):
                    return False
                progress.step("preparing call facts (once after new data)")
                wh.store_facts(backend, conv)
                return True
        except StorageError:
            return False

    @contextmanager
    def fact_tables(self, conv: Any, progress: Progress = QUIET) -> Iterator[Any]:
        """The metric layer's tables, with stored facts current for ``conv`` (built first if stale).

        One read-only open and one freshness check in the common case (facts current); a
        build only after new data, and only when the warehouse can be written.
        """
        from closeloop.metrics import Tables

        with self.warehouse() as wh:
            tables = Tables.from_backend(wh.ibis())
            if tables.facts is not None and tables.facts.serves(conv):
                yield tables
                return
        self.refresh_facts(conv, progress)
        with self.warehouse() as wh:
            yield Tables.from_backend(wh.ibis())

    def tables(self, wh: Warehouse) -> Any:
        """The metric layer's view of an open warehouse."""
        from closeloop.metrics import Tables

        return Tables.from_backend(wh.ibis())




@contextmanager
def _query_progress(wh: Warehouse, progress: Progress) -> Iterator[None]:
    """Report the running DuckDB statement's percent done while the block runs (no-op when quiet)."""
    if type(progress) is Progress:
        yield
        return
    from closeloop.warehouse.progress import query_progress

    with query_progress(wh.con, lambda pct: progress.update(pct, 100.0)):
        yield




def as_of(text: str | datetime | None) -> datetime:
    """A moment from ISO text or a datetime (naive = UTC); now when None."""
    from datetime import UTC

    if text is None:
        return datetime.now(UTC)
    if isinstance(text, str):
        try:
            text = datetime.fromisoformat(text)
        except ValueError as exc:
            raise InputError(f"{text!r} is not an ISO time like 2025-03-04T15:00:00+00:00") from exc
    return text.replace(tzinfo=UTC) if text.tzinfo is None else text
