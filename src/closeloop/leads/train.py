"""From merged leads and call history to features, a trained scorer, scores and its evaluation.

The unit is the merged lead (one person, after deduplication). Features are what is known
before the call that is being planned:

* attributes: ``source`` (first touch), ``country``, ``product``;
* quality: ``completeness``, ``has_email``, ``email_free`` (a free-mail domain), ``has_company``;
* interest: ``n_records`` (how many times the person came in, across sources);
* timing: ``created_hour``, ``created_weekday`` (UTC), ``age_h`` — hours from creation to the
  first call (training) or to now (scoring): recency, since leads go cold;
* contact history: ``prior_calls`` — calls to this person before their latest submission.

Beside them, the lead's activity before the call (:mod:`closeloop.leads.activity`) and every
typed attribute of the lead (:mod:`closeloop.leads.attributes`, as
features by :mod:`closeloop.leads.features`), minus the columns the leakage guard
(:mod:`closeloop.leads.leakage`) excludes and those empty or constant in the training leads.

The label is whether any call to the person ended in a sale. Leads never called have no label:
they are scored, not learned from. A call's ``duration`` (or anything else known only after
the call) is never a feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.errors import InputError
from closeloop.leads.activity import activity_features, event_kinds
from closeloop.leads.attributes import AttributeType, KnownAt, TypedAttributes
from closeloop.leads.evaluate import ScoreReport, auc_difference, fit_logistic, score_report, tier_table
from closeloop.leads.features import Note, attribute_features, drop_uninformative
from closeloop.leads.leakage import find_leaks, times_after_the_call
from closeloop.leads.scoring import (
    COMPLEXITY,
    ScoringModel,
    assign_tiers,
    capacity_cuts,
    fit_scorer,
    source_rates,
    take,
    time_split,
)

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
    for k, ids in enumerate(lineage):
        for lead_id in str(ids).split(","):
            owner[lead_id] = k
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
    """A trained scorer, the scores of every lead, and held-out figures against the baselines."""

    model: ScoringModel
    scores: pa.Table  # lead_id, score, tier, reasons, model
    reports: list[ScoreReport]  # [model, logistic regression, source-only] on the held-out newest leads
    auc_gain: tuple[float, float, float] | None  # AUC(model) - AUC(source only), 95% interval
    notes: list[Note] = field(default_factory=list)  # features excluded or dropped, and why
    tiers: list[dict[str, object]] = field(default_factory=list)  # held-out stated vs observed per tier
    auc_gain_logistic: tuple[float, float, float] | None = None  # AUC(model) - AUC(logistic)
    split: dict[str, object] = field(default_factory=dict)  # sizes and the time cut of the evaluation

    @property
    def features(self) -> list[str]:
        """The features the production model uses."""
        return list(self.model.encoding.names)


def select_features(cols: dict[str, Any], categorical: list[str], y: np.ndarray,
                    declared_safe: frozenset[str], seed: int) -> tuple[list[str], list[Note]]:
    """Features to fit on: not empty, not constant, not leaking (decided on the given training leads)."""
    keep, notes = drop_uninformative(cols, categorical)
    leaks = find_leaks({k: cols[k] for k in keep}, categorical, y, declared_safe, np.random.default_rng(seed))
    leaked = {n.feature for n in leaks}
    return [k for k in keep if k not in leaked], notes + leaks


def train_and_score(merged: pa.Table, calls: pa.Table | None, as_of: datetime, seed: int = 0,
                    test_share: float = 0.3, threads: int = 1, attributes: TypedAttributes | None = None,
                    capacity: int | None = None, events: pa.Table | None = None) -> ScoreRun:
    """Evaluate on a time-ordered split, then train on all labelled history and score every lead.

    ``capacity``: tier A is the ``capacity`` best current leads (B the next 2x, C 3x) instead of
    fixed shares of the training scores. ``events``: ``lead_events`` rows (lead_id, at, kind,
    value), counted before each lead's first call (history) or ``as_of`` (live leads).
    """
    if merged.num_rows == 0:
        raise InputError("no leads to score: run 'closeloop leads clean' and 'leads dedupe' first")
    history = call_history(merged, calls)
    cols: dict[str, Any] = lead_features(merged, history, as_of)
    categorical = list(CATEGORICAL)
    created_at = merged.column("created_at").to_pylist()
    extra, extra_cat, notes, safe = _attribute_columns(attributes, merged, history)
    cols.update(extra)
    categorical += extra_cat
    lineage = (merged.column("lead_ids") if "lead_ids" in merged.column_names else merged.column("lead_id")).to_pylist()
    kinds = event_kinds(events) if events is not None and events.num_rows else None
    if kinds is not None:
        cols.update(activity_features(events, lineage, [f or as_of for f in history.first_call], kinds))
    labelled = np.array([s is not None for s in history.sold])
    created = np.array([c.timestamp() for c in created_at])
    order = np.flatnonzero(labelled)[np.argsort(created[labelled], kind="stable")]
    y = np.array([bool(history.sold[i]) for i in order], dtype=int)
    fit = fit_and_evaluate(take(cols, order), y, categorical, safe, seed=seed, threads=threads,
                           test_share=test_share)
    split: dict[str, Any] = dict(fit.split)  # train/test sizes (int), then the cut's timestamps
    if split:
        split["train_until"] = created_at[order[int(split["train"]) - 1]]
        split["test_from"] = created_at[order[int(split["train"])]]
    model, used = fit.model, fit.model.encoding.names
    # Live leads: recency is their age now, not at a first call that has not happened.
    live = lead_features(merged, History(history.sold, [None] * merged.num_rows, history.prior_calls), as_of)
    live.update(extra)
    if kinds is not None:
        live.update(activity_features(events, lineage, [as_of] * merged.num_rows, kinds))
    live = {k: live[k] for k in used}
    p_all = model.predict(live)
    if capacity is not None:
        model.tier_cuts = capacity_cuts(p_all, capacity)
    scores = pa.table({
        "lead_id": merged.column("lead_id"),
        "score": pa.array(p_all, pa.float64()),
        "tier": pa.array(assign_tiers(p_all, model.tier_cuts).tolist(), pa.string()),
        "reasons": pa.array(["; ".join(r) for r in model.reasons(live)], pa.string()),
        "model": pa.array([model.kind] * merged.num_rows, pa.string()),
    })
    return ScoreRun(model, scores, fit.reports, fit.auc_gain, _unique(notes + fit.notes), fit.tiers,
                    fit.auc_gain_logistic, split)


def _attribute_columns(attributes: TypedAttributes | None, merged: pa.Table, history: History
                       ) -> tuple[dict[str, Any], list[str], list[Note], frozenset[str]]:
    """Attribute features of the merged leads, their categoricals, notes, and the names declared safe.

    A time attribute that falls after the lead's first call is left out here: it was updated
    after the call (see :func:`closeloop.leads.leakage.times_after_the_call`).
    """
    if attributes is None:
        return {}, [], [], frozenset()
    created_at = merged.column("created_at").to_pylist()
    extra, extra_cat, notes = attribute_features(attributes, merged.column("lead_id").to_pylist(), created_at)
    safe = frozenset(a.name for a in attributes.attributes
                     if a.known_at in (KnownAt.CREATION, KnownAt.EVENT) and a.declared)
    times = [a.name for a in attributes.attributes if a.type is AttributeType.TIME and a.name in extra
             and a.name not in safe]
    first_call = np.array([np.nan if f is None else f.timestamp() for f in history.first_call])
    late = times_after_the_call({n: extra[n] for n in times}, np.array([c.timestamp() for c in created_at]),
                                first_call)
    for note in late:
        del extra[note.feature]
    return extra, extra_cat, notes + late, safe


@dataclass(frozen=True)
class Fitted:
    """A production model fitted on all labelled leads, and how its recipe did on the newest ones."""

    model: ScoringModel
    reports: list[ScoreReport]
    auc_gain: tuple[float, float, float] | None
    auc_gain_logistic: tuple[float, float, float] | None
    tiers: list[dict[str, object]]
    notes: list[Note]
    split: dict[str, object]


def fit_and_evaluate(feats: dict[str, Any], y: np.ndarray, categorical: list[str],
                     safe: frozenset[str] = frozenset(), seed: int = 0, threads: int = 1,
                     test_share: float = 0.3, source: str = "source") -> Fitted:
    """Feature selection, fit and held-out evaluation on leads sorted oldest first, then the final fit.

    The evaluation repeats the whole recipe (selection included) on the oldest ``1 - test_share``
    and scores the newest, so it measures what the production model will do on tomorrow's leads.
    """
    reports: list[ScoreReport] = []
    gain = gain_lr = None
    tiers: list[dict[str, object]] = []
    split: dict[str, object] = {}
    # the final fit reuses the size the held-out run chose: one fit instead of three
    sizes: tuple[tuple[int, float], ...] = COMPLEXITY
    n = len(y)
    if n >= 100:
        train, test = time_split(n, test_share)
        if 0 < y[test].sum() < len(y[test]):
            used, _ = select_features(take(feats, train), categorical, y[train], safe, seed)
            used = _with_source(used, source)
            reports, gain, gain_lr, tiers, sizes = _held_out(take({k: feats[k] for k in used}, train), y[train],
                                                      take({k: feats[k] for k in used}, test), y[test],
                                                      categorical, seed, threads, source)
            split = {"train": int(train.stop), "test": int(n - train.stop)}
    used, notes = select_features(feats, categorical, y, safe, seed) if n else (list(feats), [])
    used = _with_source(used, source)
    model = fit_scorer({k: feats[k] for k in used}, y, [c for c in categorical if c in used], source,
                       seed=seed, threads=threads, sizes=sizes)
    return Fitted(model, reports, gain, gain_lr, tiers, notes, split)


def _with_source(used: list[str], source: str) -> list[str]:
    """The source stays in (the fallback and the baseline need it) even when constant."""
    return used if source in used else [source, *used]


def _held_out(train: dict[str, Any], y_train: np.ndarray, test: dict[str, Any], y_test: np.ndarray,
              categorical: list[str], seed: int, threads: int, source: str
              ) -> tuple[list[ScoreReport], Any, Any, list[dict[str, object]], tuple[tuple[int, float], ...]]:
    """Model, logistic regression and source-only rate, fitted on ``train`` and judged on ``test``."""
    held = fit_scorer(train, y_train, [c for c in categorical if c in train], source, seed=seed, threads=threads)
    p = held.predict(test)
    rates, base = source_rates(list(train[source]), y_train)
    b = np.array([rates.get("(missing)" if s is None else str(s), base) for s in test[source]])
    enc = held.encoding
    cat_mask = np.array([n in enc.categorical for n in enc.names])
    logistic = fit_logistic(enc.encode(train), y_train, cat_mask, seed)
    lr = logistic.predict_proba(enc.encode(test))[:, 1]
    reports = [score_report(f"model ({held.kind})", y_test, p), score_report("logistic regression", y_test, lr),
               score_report("source only", y_test, b)]
    return (reports, auc_difference(y_test, p, b), auc_difference(y_test, p, lr),
            tier_table(y_test, p, held.tiers(p)), _size(held))


def _size(model: ScoringModel) -> tuple[tuple[int, float], ...]:
    if model.kind != "gbm":
        return COMPLEXITY
    return ((int(model.params["num_leaves"]), float(model.params["learning_rate"])),)


def _unique(notes: list[Note]) -> list[Note]:
    seen: dict[str, Note] = {}
    for n in notes:
        seen.setdefault(n.feature, n)
    return list(seen.values())
