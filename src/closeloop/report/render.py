"""Render the report: run every registered section and fill the page template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from closeloop.errors import CloseloopError, EmptySelectionError
from closeloop.report import builtin, conversations, leads, money, vendor  # noqa: F401  (registers the sections)
from closeloop.report.sections import SECTIONS, ReportContext, Section


@dataclass(frozen=True)
class Report:
    """The finished HTML page and the terminal summary."""

    html: str
    summary: list[str]


def render_report(ctx: ReportContext, sections: list[Section] | None = None) -> Report:
    """Build each section (a failing one is shown as not available) and render the page.

    An empty selection fails the whole report (EmptySelectionError) rather than writing a
    page of blanks.
    """
    built: list[dict[str, Any]] = []
    summary: list[str] = []
    error: str | None
    for sec in sections if sections is not None else SECTIONS:
        try:
            result = sec.build(ctx)
        except EmptySelectionError:
            if not built:
                raise
            result, error = None, "no calls in the selection for this section"
        except CloseloopError as exc:
            result, error = None, str(exc)
        else:
            error = None
        if result is None and error is None:
            continue
        built.append({"key": sec.key, "title": sec.title, "html": result.html if result else "", "error": error})
        summary += [f"{sec.title}: {line}" for line in (result.summary if result else [f"not available ({error})"])]
    html = ctx.render("report.html.j2", title=ctx.title, sections=built, scope=ctx.selection.describe(),
                      generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return Report(html, summary)
