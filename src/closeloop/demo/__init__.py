"""The demo operation: a simulated quarter of Pinebrook Office Systems (docs/demo.md).

Pure generators (:mod:`params`, :mod:`operation`, :mod:`leads`, :mod:`followups`,
:mod:`transcripts`, :mod:`defects`, :mod:`generate`) return records; :mod:`build` is the
edge that writes the canonical files, ingests them and writes the report.
"""

from closeloop.demo.generate import DemoData, generate
from closeloop.demo.params import SCALES, DemoParams, Effects, Scale

__all__ = ["SCALES", "DemoData", "DemoParams", "Effects", "Scale", "generate"]
