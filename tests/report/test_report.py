"""The report renders: sections present, charts carry the tables' numbers, self-contained, pluggable."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from closeloop.contracts import parse_contracts
from closeloop.errors import EmptySelectionError, InputError
from closeloop.metrics import Conventions, Selection, Tables, parse_filter
from closeloop.report import SECTIONS, ReportContext, SectionResult, register_section, render_report
from closeloop.report.charts import bar_chart, forest_plot, line_chart
from tests.metrics.planted import planted_warehouse

GOOD = {"web": 0.6, "partner": 0.3, "list": 0.1}
BAD = {"web": 0.1, "partner": 0.3, "list": 0.6}
CONTRACT = """
[[contract]]
name = "offshore"
scope = { vendor = "v-offshore" }
period = "week"
[[contract.term]]
metric = "close_rate"
target = 0.3
direction = "at_least"
penalty = 100.0
"""


class Page(HTMLParser):
    """Collects sections, elements with data-value, scripts and external references."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.marks: list[dict[str, str]] = []
        self.external: list[str] = []
        self.svgs = 0
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.sections.append(a["data-section"])
        if "data-value" in a:
            self.marks.append({**a, "section": self.sections[-1] if self.sections else ""})
        if tag == "svg":
            self.svgs += 1
        if tag == "script" or (tag in ("link", "img") and re.match(r"https?:", a.get("href", a.get("src", "")))):
            self.external.append(tag)


@pytest.fixture(scope="module")
def tables():
    wh = planted_warehouse(7, {"onshore": GOOD, "offshore": BAD}, {"onshore": 1.0, "offshore": 1.0},
                           calls_per_center=800, agents_per_center=5)
    yield Tables.from_backend(wh.ibis())
    wh.close()


@pytest.fixture(scope="module")
def report(tables):
    ctx = ReportContext(tables, Conventions(), contracts=parse_contracts(CONTRACT))
    rep = render_report(ctx, builtin_sections())
    page = Page()
    page.feed(rep.html)
    return rep, page, ctx


def builtin_sections():
    """This package's sections only (other packages plug in theirs, tested there)."""
    return [s for s in SECTIONS if s.key in BUILTIN_KEYS]


BUILTIN_KEYS = ("headline", "scorecards", "drivers", "agents", "sla")


def test_sections_in_order_and_self_contained(report):
    rep, page, _ = report
    assert page.sections == ["headline", "scorecards", "drivers", "agents", "sla"]
    assert page.external == []
    assert "http://" not in rep.html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.svgs >= 5


def test_charts_carry_the_table_numbers(report):
    _, page, ctx = report
    by_center = {r["center_id"]: r for r in ctx.scorecard(by=("center_id",), metrics=(
        "offered", "handled", "service_level", "abandon_rate", "asa_s", "aht_s", "close_rate", "first_call_close",
        "csat_top2", "resolution_rate", "data_capture")).rows}
    forest = {m["data-label"]: m for m in page.marks if m.get("class") == "estimate" and m["section"] == "scorecards"}
    for center, row in by_center.items():
        assert float(forest[center]["data-value"]) == pytest.approx(row["close_rate"], rel=1e-5)
        assert float(forest[center]["data-low"]) == pytest.approx(row["close_rate_ci"][0], rel=1e-5)
    weekly = [m for m in page.marks if m.get("data-series") == "close rate"]
    assert len(weekly) == len(ctx.scorecard(grain="week", metrics=(
        "handled", "close_rate", "service_level", "abandon_rate")).rows)
    funnel = [float(m["data-value"]) for m in page.marks if m.get("class") == "bar" and m["section"] == "headline"]
    assert funnel[0] >= funnel[1] >= funnel[2] >= funnel[3] > 0


def test_summary_names_the_mix_gap_and_the_breach(report):
    rep, _, _ = report
    text = "\n".join(rep.summary)
    assert "mix" in text and "within noise" in text  # planted: the gap is all mix
    assert re.search(r"SLA: [1-9]\d* failed", text)


def test_a_plugged_in_section_appears_and_a_failing_one_is_contained(tables):
    class Extra:
        key, title = "extra", "Extra analysis"

        def build(self, ctx):
            return SectionResult("<p id='extra-body'>hello</p>", ["extra says hi"])

    class Broken:
        key, title = "broken", "Broken analysis"

        def build(self, ctx):
            raise InputError("needs transcripts")

    sections = [s for s in SECTIONS if s.key == "headline"]
    before = list(SECTIONS)
    try:
        register_section(Extra(), after="headline")
        assert [s.key for s in SECTIONS][:2] == ["headline", "extra"]
    finally:
        SECTIONS[:] = before
    rep = render_report(ReportContext(tables, Conventions()), [*sections, Extra(), Broken()])
    assert "extra-body" in rep.html and "extra says hi" in rep.summary[-2]
    assert "Not available: needs transcripts" in rep.html


def test_empty_selection_fails_instead_of_blank_page(tables):
    sel = Selection(filters=(parse_filter("vendor=nobody"),))
    with pytest.raises(EmptySelectionError):
        render_report(ReportContext(tables, Conventions(), sel), builtin_sections())


def test_chart_functions_escape_labels_and_handle_gaps():
    svg = line_chart("t", ["w1", "w2", "w3"], {"<b>": [0.1, None, 0.3]}, pct=True)
    assert "<b>" not in svg and svg.count('class="point"') == 2
    svg = forest_plot("f", ["a&b"], [0.2], [0.1], [0.3], reference=0.25)
    assert "a&amp;b" in svg and 'class="reference"' in svg
    assert bar_chart("b", ["x", "y"], [3.0, 1.0]).count('class="bar"') == 2
