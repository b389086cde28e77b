"""Metric definitions (portable Ibis expressions) and the scorecards built on them.

Pure: takes Ibis tables (:class:`Tables`), returns rows; no file or terminal I/O.
"""

from closeloop.metrics.definitions import DEFAULT_METRICS, METRICS, Metric, metric
from closeloop.metrics.frame import Conventions, Tables, dimensions, enrich
from closeloop.metrics.scorecard import ADJUSTABLE, Scorecard, ScorecardRequest, scorecard
from closeloop.metrics.selection import Filter, Selection, parse_filter

__all__ = [
    "ADJUSTABLE",
    "DEFAULT_METRICS",
    "METRICS",
    "Conventions",
    "Filter",
    "Metric",
    "Scorecard",
    "ScorecardRequest",
    "Selection",
    "Tables",
    "dimensions",
    "enrich",
    "metric",
    "parse_filter",
    "scorecard",
]
