"""Seeded leads whose extra columns carry a known truth: for tests, benchmarks and docs.

:func:`planted_leads` writes a leads table the way a marketing-automation export looks: the
canonical ``lead_id``, ``created_at`` and ``source`` followed by extra columns, *all as text*,
of every attribute type, and returns with it each lead's true sale probability and its sampled
outcome. What is planted:

* informative attributes (time on site, page views, e-mails opened, lead origin, occupation,
  a do-not-email flag, the last activity's time) with an interaction (time on site matters
  more for landing-page leads), so a boosted model has something a linear one misses;
* ``notes`` (free text), ``fax`` (empty for every lead), ``market`` (the same for every lead);
* two **leaks**: ``tags`` filled only when the lead bought (a status written by the sale) and
  ``engagement_final`` (a score computed after the call, nearly the outcome itself);
* a few bad values (``"n/a"`` among the page views) that must land in rejects;
* noise columns up to ``n_attributes``.

Times are spread over a year in order, so a time-ordered split is meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LEAKS = ("tags", "engagement_final")
ORIGINS = ("Landing Page", "API", "Import", "Referral", "Chat")
OCCUPATIONS = ("Working Professional", "Student", "Unemployed", "Businessman", "Housewife", "Other")
SOURCES = ("web_form", "google", "olark_chat", "reference", "direct")


@dataclass(frozen=True)
class Planted:
    """The leads table (text columns), the true probabilities and the sampled outcomes."""

    leads: pa.Table
    p_true: np.ndarray
    y: np.ndarray


def planted_leads(n: int, n_attributes: int = 40, seed: int = 0, start: datetime | None = None) -> Planted:
    """``n`` leads with ``n_attributes`` extra columns (at least 14), oldest first."""
    rng = np.random.default_rng(seed)
    start = start or datetime(2025, 1, 1, tzinfo=UTC)
    created = np.sort(rng.uniform(0, 365 * 86400, n))
    source = rng.choice(len(SOURCES), n, p=[0.35, 0.3, 0.15, 0.1, 0.1])
    origin = rng.choice(len(ORIGINS), n, p=[0.4, 0.25, 0.15, 0.1, 0.1])
    occupation = rng.choice(len(OCCUPATIONS), n, p=[0.3, 0.2, 0.25, 0.1, 0.05, 0.1])
    tos = rng.lognormal(1.5, 1.0, n)  # minutes on site
    views = rng.poisson(3, n).astype(float)
    opens = rng.poisson(1.5, n).astype(float)
    dne = rng.random(n) < 0.1
    last_h = rng.exponential(48, n)  # hours before creation
    logit = (-2.2 + np.array([0.3, -0.2, 0.0, 1.0, -0.4])[source] + np.array([0.2, -0.5, -0.8, 1.2, 0.0])[origin]
             + np.array([1.0, -0.6, -0.3, 0.2, -0.2, 0.0])[occupation]
             + 0.35 * np.log1p(tos) * (1 + (origin == 0)) + 0.12 * views + 0.25 * np.minimum(opens, 4)
             - 1.2 * dne - 0.006 * last_h - 0.3 * np.log1p(tos) * 1.4)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p).astype(int)
    t0 = int(start.timestamp() * 1e6)
    us = pa.timestamp("us", "UTC")
    created_ts = pa.array((t0 + created * 1e6).astype(np.int64)).cast(us)
    last_ts = pa.array((t0 + (created - last_h * 3600) * 1e6).astype(np.int64)).cast(us)
    cols: dict[str, pa.Array] = {
        "lead_id": pc.binary_join_element_wise("P", pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), 8, "0"),
                                               ""),
        "created_at": pc.strftime(created_ts, "%Y-%m-%dT%H:%M+00:00"),
        "source": _pick(SOURCES, source),
        "time_on_site_min": _text(np.round(tos, 1), rng.random(n) < 0.15),
        "page_views": _bad(_text(views, rng.random(n) < 0.05), rng.random(n) < 0.003, "n/a"),
        "email_opens": _text(opens, rng.random(n) < 0.2),
        "lead_origin": _pick(ORIGINS, origin),
        "occupation": pc.if_else(pa.array(rng.random(n) < 0.25), pa.scalar(None, pa.string()),
                                 _pick(OCCUPATIONS, occupation)),
        "do_not_email": pc.if_else(pa.array(dne), "Yes", "No"),
        "last_activity_at": pc.strftime(last_ts, "%Y-%m-%d %H:%M"),
        "notes": pc.binary_join_element_wise("asked about plan ", pc.cast(pa.array(rng.integers(0, 9999, n)),
                                                                          pa.string()),
                                             " on call-back form #", pc.cast(pa.array(np.arange(n)), pa.string()), ""),
        "fax": pa.nulls(n, pa.string()),
        "market": pa.array(np.full(n, "EU")),
        "tags": pc.if_else(pa.array(y == 1), pc.if_else(pa.array(rng.random(n) < 0.7), "Closed by sales", "Won - paid"),
                           pa.scalar(None, pa.string())),
        "engagement_final": _text(np.round(y * 80 + rng.normal(10, 3, n), 1), np.zeros(n, dtype=bool)),
    }
    for k in range(max(0, n_attributes - (len(cols) - 3))):
        if k % 3 == 2:
            cols[f"utm_{k}"] = pc.binary_join_element_wise("c", pc.cast(pa.array(rng.integers(0, 20, n)), pa.string()),
                                                           "")
        else:
            cols[f"signal_{k}"] = _text(np.round(rng.normal(0, 1, n), 3), rng.random(n) < 0.1)
    return Planted(pa.table(cols), p, y)


def _text(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values, mask=missing), pa.string())


def _pick(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pc.take(pa.array(names), pa.array(index))


def _bad(values: pa.Array, hit: np.ndarray, bad: str) -> pa.Array:
    return pc.if_else(pa.array(hit), bad, values)
