"""The diagnostic report: one self-contained HTML file built from pluggable sections.

An edge package (it renders HTML); the numbers come from metrics, stats and contracts.
See :mod:`closeloop.report.sections` for how to add a section.
"""

from closeloop.report.render import Report, render_report
from closeloop.report.sections import (
    SECTIONS,
    ReportContext,
    Section,
    SectionResult,
    format_cell,
    register_section,
    section,
)

__all__ = ["SECTIONS", "Report", "ReportContext", "Section", "SectionResult", "format_cell", "register_section",
           "render_report", "section"]
