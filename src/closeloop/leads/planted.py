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
    cols: dict[str, list[str | None]] = {
        "lead_id": [f"P{i:08d}" for i in range(n)],
        "created_at": [datetime.fromtimestamp(start.timestamp() + c, UTC).isoformat() for c in created],
        "source": [SOURCES[i] for i in source],
        "time_on_site_min": _text(np.round(tos, 1), rng.random(n) < 0.15),
        "page_views": _bad(_text(views, rng.random(n) < 0.05), rng, 0.003, "n/a"),
        "email_opens": _text(opens, rng.random(n) < 0.2),
        "lead_origin": [ORIGINS[i] for i in origin],
        "occupation": _missing([OCCUPATIONS[i] for i in occupation], rng.random(n) < 0.25),
        "do_not_email": ["Yes" if d else "No" for d in dne],
        "last_activity_at": [datetime.fromtimestamp(start.timestamp() + c - h * 3600, UTC).strftime("%Y-%m-%d %H:%M")
                             for c, h in zip(created, last_h, strict=True)],
        "notes": [f"asked about plan {k} on call-back form #{i}" for i, k in enumerate(rng.integers(0, 9999, n))],
        "fax": [None] * n,
        "market": ["EU"] * n,
        "tags": [("Closed by sales" if rng.random() < 0.7 else "Won - paid") if s else None for s in y],
        "engagement_final": _text(np.round(y * 80 + rng.normal(10, 3, n), 1), np.zeros(n, dtype=bool)),
    }
    for k in range(max(0, n_attributes - (len(cols) - 3))):
        if k % 3 == 2:
            cols[f"utm_{k}"] = [f"c{v}" for v in rng.integers(0, 20, n)]
        else:
            cols[f"signal_{k}"] = _text(np.round(rng.normal(0, 1, n), 3), rng.random(n) < 0.1)
    return Planted(pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}), p, y)


def _text(values: np.ndarray, missing: np.ndarray) -> list[str | None]:
    return [None if m else (f"{v:g}") for v, m in zip(values.tolist(), missing.tolist(), strict=True)]


def _missing(values: list[str], missing: np.ndarray) -> list[str | None]:
    return [None if m else v for v, m in zip(values, missing.tolist(), strict=True)]


def _bad(values: list[str | None], rng: np.random.Generator, share: float, bad: str) -> list[str | None]:
    hit = rng.random(len(values)) < share
    return [bad if h else v for v, h in zip(values, hit.tolist(), strict=True)]
