"""From merged leads and call history to features, a trained scorer, scores and its evaluation.

The unit is the merged lead (one person, after deduplication). Features are what is known
before the call that is being planned:

* attributes: ``source`` (first touch), ``country``, ``product``;
* quality: ``completeness``, ``has_email``, ``email_free`` (a free-mail domain), ``has_company``;
* interest: ``n_records`` (how many times the person came in, across sources);
* timing: ``created_hour``, ``created_weekday`` (UTC), ``age_h`` — hours from creation to the
  first call (training) or to now (scoring): recency, since leads go cold;
* contact history: ``prior_calls`` — calls to this person before their latest submission.

The label is whether any call to the person ended in a sale. Leads never called have no label:
they are scored, not learned from. A call's ``duration`` (or anything else known only after
the call) is never a feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.errors import InputError
from closeloop.leads.evaluate import ScoreReport, auc_difference, score_report
from closeloop.leads.scoring import ScoringModel, fit_scorer, source_rates, take, time_split

FREE_MAIL = frozenset({"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com",
                       "proton.me", "protonmail.com", "gmx.de", "live.com", "msn.com", "yahoo.fr", "orange.fr",
                       "wanadoo.fr", "web.de", "mail.ru", "qq.com", "163.com", "rediffmail.com"})
CATEGORICAL = ["source", "country", "product"]
NUMERIC = ["completeness", "has_email", "email_free", "has_company", "n_records", "created_hour",
           "created_weekday", "age_h", "prior_calls"]


@dataclass(frozen=True)
class History:
    """Per merged lead: label (None = never called), first call time, calls before latest submission."""

    sold: list[bool | None]
    first_call: list[datetime | None]
    prior_calls: list[int]


def call_history(merged: pa.Table, calls: pa.Table | None) -> History:
    """Attach each call to its merged lead through the lineage (``lead_ids``)."""
    n = merged.num_rows
    if calls is None or calls.num_rows == 0:
        return History([None] * n, [None] * n, [0] * n)
    owner: dict[str, int] = {}
    lineage = merged.column("lead_ids").to_pylist() if "lead_ids" in merged.column_names \
        else merged.column("lead_id").to_pylist()
    for i, ids in enumerate(lineage):
        for lead_id in str(ids).split(","):
            owner[lead_id] = i
    last_seen = (merged.column("last_seen_at") if "last_seen_at" in merged.column_names
                 else merged.column("created_at")).to_pylist()
    sold: list[bool | None] = [None] * n
    first: list[datetime | None] = [None] * n
    prior = [0] * n
    calls = calls.filter(pc.is_valid(calls.column("lead_id")))
    for lead_id, at, outcome in zip(calls.column("lead_id").to_pylist(), calls.column("offered_at").to_pylist(),
                                    calls.column("outcome").to_pylist(), strict=True):
        i = owner.get(lead_id)
        if i is None:
            continue
        if at < last_seen[i]:
            prior[i] += 1
            continue
        sold[i] = bool(sold[i]) or outcome == "sale"
        if first[i] is None or at < first[i]:
            first[i] = at
    return History(sold, first, prior)


def lead_features(merged: pa.Table, history: History, as_of: datetime | None = None) -> dict[str, list[object]]:
    """Feature columns for each merged lead (``as_of`` sets ``age_h`` for leads not yet called)."""
    created = merged.column("created_at").to_pylist()
    emails = merged.column("email").to_pylist()
    n_records = merged.column("n_records").to_pylist() if "n_records" in merged.column_names else [1] * len(created)
    ages: list[float | None] = []
    for i, c in enumerate(created):
        ref = history.first_call[i] or as_of
        ages.append(None if ref is None else max((ref - c).total_seconds() / 3600.0, 0.0))
    return {
        "source": merged.column("source").to_pylist(),
        "country": merged.column("country").to_pylist(),
        "product": merged.column("product").to_pylist(),
        "completeness": merged.column("completeness").to_pylist(),
        "has_email": [float(e is not None) for e in emails],
        "email_free": [None if e is None else float(e.split("@")[-1] in FREE_MAIL) for e in emails],
        "has_company": [float(v is not None) for v in merged.column("company").to_pylist()],
        "n_records": [float(v or 1) for v in n_records],
        "created_hour": [float(c.hour) for c in created],
        "created_weekday": [float(c.weekday()) for c in created],
        "age_h": ages,
        "prior_calls": [float(v) for v in history.prior_calls],
    }


@dataclass(frozen=True)
class ScoreRun:
    """A trained scorer, the scores of every lead, and held-out figures against the baseline."""

    model: ScoringModel
    scores: pa.Table  # lead_id, score, tier, reasons
    reports: list[ScoreReport]  # [model, source-only baseline] on the held-out newest leads
    auc_gain: tuple[float, float, float] | None  # AUC(model) - AUC(baseline), 95% interval


def train_and_score(merged: pa.Table, calls: pa.Table | None, as_of: datetime, seed: int = 0,
                    test_share: float = 0.3, threads: int = 1) -> ScoreRun:
    """Evaluate on a time-ordered split, then train on all labelled history and score every lead."""
    if merged.num_rows == 0:
        raise InputError("no leads to score: run 'closeloop leads clean' and 'leads dedupe' first")
    history = call_history(merged, calls)
    cols = lead_features(merged, history, as_of)
    labelled = np.array([s is not None for s in history.sold])
    created = np.array([c.timestamp() for c in merged.column("created_at").to_pylist()])
    order = np.flatnonzero(labelled)[np.argsort(created[labelled], kind="stable")]
    y = np.array([bool(history.sold[i]) for i in order], dtype=int)
    feats = take(cols, order)
    reports: list[ScoreReport] = []
    gain = None
    train, test = time_split(len(y), test_share)
    if len(y) >= 100 and 0 < y[test].sum() < len(y[test].tolist()):
        held = fit_scorer(take(feats, train), y[train], CATEGORICAL, "source", seed=seed, threads=threads)
        p = held.predict(take(feats, test))
        rates, base = source_rates(list(feats["source"][train]), y[train])
        b = np.array([rates.get("(missing)" if s is None else str(s), base) for s in feats["source"][test]])
        reports = [score_report(f"model ({held.kind})", y[test], p), score_report("source only", y[test], b)]
        gain = auc_difference(y[test], p, b, np.random.default_rng(seed))
    model = fit_scorer(feats, y, CATEGORICAL, "source", seed=seed, threads=threads)
    # Live leads: recency is their age now, not at a first call that has not happened.
    live = lead_features(merged, History(history.sold, [None] * merged.num_rows, history.prior_calls), as_of)
    p_all = model.predict(live)
    scores = pa.table({
        "lead_id": merged.column("lead_id"),
        "score": pa.array(p_all, pa.float64()),
        "tier": pa.array(model.tiers(p_all).tolist(), pa.string()),
        "reasons": pa.array(["; ".join(r) for r in model.reasons(live)], pa.string()),
        "model": pa.array([model.kind] * merged.num_rows, pa.string()),
    })
    return ScoreRun(model, scores, reports, gain)
