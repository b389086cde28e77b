"""How the report is put together: a list of pluggable sections sharing one context.

A section is any object with a ``key``, a ``title`` and ``build(ctx) -> SectionResult |
None`` (None: nothing to show, e.g. no contracts). Built-in sections are registered in
:data:`SECTIONS`; another package adds its own with :func:`register_section`::

    from closeloop.report import ReportContext, SectionResult, register_section

    class TalkPatterns:
        key, title = "patterns", "Conversation patterns"

        def build(self, ctx: ReportContext) -> SectionResult | None:
            rows = my_analysis(ctx.tables, ctx.selection)   # Ibis tables, the report's selection
            if not rows:
                return None
            return SectionResult(ctx.table(rows), [f"{len(rows)} patterns found"])

    register_section(TalkPatterns(), after="drivers")

A section's HTML is inserted as is (build it with :meth:`ReportContext.table`,
:meth:`ReportContext.render` or :mod:`closeloop.report.charts`, which escape their
inputs). ``summary`` lines go to the terminal. A section that raises a CloseloopError is
shown as "not available: <reason>" instead of breaking the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from closeloop.contracts import Contract
from closeloop.metrics import METRICS, Conventions, Scorecard, ScorecardRequest, Selection, Tables, scorecard


@dataclass(frozen=True)
class SectionResult:
    """A section's HTML body and the lines it contributes to the terminal summary."""

    html: str
    summary: list[str] = field(default_factory=list)


class Section(Protocol):
    """What the report needs from a section (read-only, so frozen dataclasses qualify)."""

    @property
    def key(self) -> str: ...

    @property
    def title(self) -> str: ...

    def build(self, ctx: ReportContext) -> SectionResult | None:
        """The section's content, or None to leave it out."""
        ...


def environment() -> Environment:
    """The Jinja environment over closeloop/report/templates (HTML autoescaped)."""
    return Environment(loader=PackageLoader("closeloop.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


@dataclass
class ReportContext:
    """Everything a section may use: the data, conventions, selection and contracts.

    Scorecards are cached by request, so sections asking for the same one share a query.
    """

    tables: Tables
    conv: Conventions
    selection: Selection = field(default_factory=Selection)
    contracts: list[Contract] | None = None
    title: str = "closeloop diagnostic report"
    env: Environment = field(default_factory=environment)
    _cache: dict[Any, Scorecard] = field(default_factory=dict)

    def scorecard(self, by: Sequence[str] = (), grain: str | None = None, metrics: Sequence[str] = (),
                  adjust_for: Sequence[str] = ()) -> Scorecard:
        """A scorecard over the report's selection (cached)."""
        key = (tuple(by), grain, tuple(metrics), tuple(adjust_for))
        if key not in self._cache:
            sel = Selection(by=tuple(by), filters=self.selection.filters, start=self.selection.start,
                            end=self.selection.end)
            req = ScorecardRequest(selection=sel, grain=grain, metrics=tuple(metrics), adjust_for=tuple(adjust_for))
            self._cache[key] = scorecard(self.tables, self.conv, req)
        return self._cache[key]

    def render(self, template: str, **values: Any) -> str:
        """Render one of the package's templates."""
        return self.env.get_template(template).render(**values)

    def table(self, rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]] | None = None,
              caption: str | None = None) -> str:
        """An HTML table of ``rows``; ``columns`` = [(key, heading)], values formatted for reading."""
        cols = list(columns) if columns else [(k, k) for k in (rows[0] if rows else {})]
        return self.render("table.html.j2", rows=rows, columns=cols, caption=caption, cell=format_column)


def format_column(value: Any, key: str) -> str | Markup:
    """Like :func:`format_cell`, but a non-rate metric column (asa_s, revenue...) is never a %."""
    m = METRICS.get(key)
    if m is not None and m.kind != "rate" and isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    return format_cell(value)


def format_cell(value: Any) -> str | Markup:
    """Numbers for people: rates as %, CIs as [low-high], None as empty."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list | tuple) and len(value) == 2:
        if None in value:
            return ""
        return f"[{format_cell(value[0])}–{format_cell(value[1])}]"
    if isinstance(value, float):
        return f"{value * 100:.1f}%" if -1 <= value <= 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


SECTIONS: list[Section] = []


def register_section(section: Section, after: str | None = None) -> None:
    """Add ``section`` to the report (at the end, or right after the section keyed ``after``)."""
    keys = [s.key for s in SECTIONS]
    if section.key in keys:
        SECTIONS[keys.index(section.key)] = section
        return
    if after in keys:
        SECTIONS.insert(keys.index(after) + 1, section)
    else:
        SECTIONS.append(section)


def section(key: str, title: str) -> Callable[[Callable[[ReportContext], SectionResult | None]], Section]:
    """Decorator: turn ``build(ctx)`` into a registered section (how the built-ins are written)."""

    def wrap(fn: Callable[[ReportContext], SectionResult | None]) -> Section:
        obj = _FunctionSection(key, title, fn)
        register_section(obj)
        return obj

    return wrap


@dataclass(frozen=True)
class _FunctionSection:
    key: str
    title: str
    fn: Callable[[ReportContext], SectionResult | None]

    def build(self, ctx: ReportContext) -> SectionResult | None:
        return self.fn(ctx)
