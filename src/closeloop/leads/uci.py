"""The UCI bank-marketing telemarketing data as scorer input (Moro, Cortez & Rita, 2014).

Rows are the file's records as dicts of strings (``;``-separated, see ``bank-additional-names.txt``),
in time order (May 2008 to November 2010). ``duration`` is the length of the call: it is known
only after the call, so it is never a feature. ``contact`` (cellular or telephone) is the
channel the prospect was reached on, the nearest thing this data has to a lead source, and
plays the source's part in the source-only baseline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from closeloop.errors import InputError

NUMERIC = ["age", "campaign", "pdays", "previous", "emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m",
           "nr.employed"]
CATEGORICAL = ["job", "marital", "education", "default", "housing", "loan", "contact", "month", "day_of_week",
               "poutcome"]
LEAKS = ("duration",)  # known only after the call
SOURCE = "contact"


def uci_features(rows: list[dict[str, str]]) -> tuple[dict[str, Any], np.ndarray]:
    """Feature columns and the outcome (1 = subscribed) of UCI bank-marketing rows."""
    if not rows:
        raise InputError("no UCI rows")
    missing = [c for c in [*NUMERIC, *CATEGORICAL, "y"] if c not in rows[0]]
    if missing:
        raise InputError(f"not the UCI bank-additional file: columns {missing} missing")
    cols: dict[str, Any] = {c: [float(r[c]) for r in rows] for c in NUMERIC}
    cols.update({c: [r[c] for r in rows] for c in CATEGORICAL})
    return cols, np.array([r["y"] == "yes" for r in rows], dtype=int)
