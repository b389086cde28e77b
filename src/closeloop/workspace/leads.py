"""Lead use-cases: ``ws.leads.clean()``, ``dedupe()``, ``score()``, ``queue()``, ``next()``, ...

The warehouse holds the analysis (``leads_clean``, ``lead_clusters``, ``leads_merged``,
``lead_pairs``, ``lead_scores``), each step's tables replaced in one transaction; the
operational store holds the live work (queue, attempts, follow-ups, do-not-call list).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop.errors import EmptySelectionError, InputError, map_errors
from closeloop.results import Result, schema_of

if TYPE_CHECKING:
    import pyarrow as pa

    from closeloop.ops import OpsStore
    from closeloop.workspace.base import Progress
    from closeloop.workspace.core import Workspace

SUMMARY = schema_of("lead_summary", [
    ("what", "str", "what is counted"), ("value", "str", "which value of it"), ("count", "float", "how many"),
])

DEDUPE = schema_of("dedupe_summary", [
    ("what", "str", "records, candidate_pairs, linked_pairs, clusters, duplicates_merged, "
                    "oversized_blocks_skipped, prior (share of pairs that match) or threshold"),
    ("value", "float", "its value"),
])

ATTRIBUTES = schema_of("lead_attributes", [
    ("name", "str", "the attribute's name (after any rename)"), ("column", "str", "the leads file's column"),
    ("type", "str", "number, category, boolean, time or text"),
    ("known_at", "str", "creation, event or after_call (never a feature)"),
    ("filled", "int", "leads with a value"), ("fill_rate", "float", "filled / leads"),
    ("distinct", "int", "distinct values"), ("rejected", "int", "values that did not fit the type (in rejects)"),
    ("declared", "bool", "typed by [leads.attributes] in closeloop.toml rather than inferred"),
])

EVALUATION = schema_of("lead_score_evaluation", [
    ("name", "str", "the scorer evaluated (model, logistic, baseline, or a difference of AUCs)"),
    ("n", "int", "held-out leads"), ("positives", "int", "of which converted"),
    ("auc", "float", "area under the ROC curve on the held-out leads"),
    ("auc_low", "float", "lower end of its interval (Hanley-McNeil)"), ("auc_high", "float", "upper end"),
    ("brier", "float", "Brier score (mean squared error of the probabilities)"),
    ("ece", "float", "expected calibration error"),
    ("top_decile_rate", "float", "conversion of the top-scored 10%"),
    ("top_decile_low", "float", "its lower end"), ("top_decile_high", "float", "its upper end"),
    ("base_rate", "float", "conversion of all held-out leads"),
    ("lift_top_decile", "float", "top_decile_rate / base_rate"),
    ("note", "str", "why there is no evaluation (too little history)"),
])

QUEUE_ITEM = schema_of("queue_items", [
    ("item", "int", "queue item number"), ("lead_id", "str", "lead"), ("attempt", "int", "attempt number"),
    ("tier", "str", "score tier (A best)"), ("score", "float", "probability of a sale"),
    ("escalated", "bool", "moved up because it stalled"), ("due", "timestamp", "when it may be called"),
    ("claimed_by", "str", "agent or dialer holding it"), ("reasons", "str", "why it ranks where it does"),
])

OUTCOME = schema_of("lead_outcome", [
    ("item", "int", "queue item"), ("lead_id", "str", "lead"), ("attempt", "int", "attempt number"),
    ("action", "str", "what the follow-up rules decided"), ("reason", "str", "why"),
    ("next_attempt", "int", "the next attempt's number"), ("due", "timestamp", "when it is due"),
    ("followup_item", "int", "the follow-up's queue item"),
])

FOLLOWUPS = schema_of("followups", [
    ("id", "int", "follow-up decision number"), ("campaign", "str", "campaign"), ("lead_id", "str", "lead"),
    ("from_attempt", "int", "the attempt it follows"), ("attempt_no", "int", "the attempt it schedules"),
    ("action", "str", "schedule, stop or ..."), ("reason", "str", "why"), ("due_at", "timestamp", "when it is due"),
    ("created_at", "timestamp", "when it was decided"), ("item_id", "int", "the queue item it made"),
    ("item_status", "str", "that item's state: ready, claimed or done"), ("outcome", "str", "its outcome, when done"),
    ("finished_at", "timestamp", "when it was done"), ("overdue", "bool", "due, still ready"),
])


def parse_window(cadence: str | Sequence[float], window: str) -> Any:
    """Follow-up rules from delays in hours and an ``HH:MM-HH:MM`` calling window."""
    from closeloop.leads.followup import CadenceRules

    try:
        delays = tuple(float(x) for x in (cadence.split(",") if isinstance(cadence, str) else cadence))
        start, end = (time.fromisoformat(x.strip()) for x in window.split("-"))
    except ValueError as exc:
        raise InputError(f"bad cadence {cadence!r} or window {window!r} (e.g. 24,72,168 and 09:00-20:00)") from exc
    return CadenceRules(delays_h=delays, window_start=start, window_end=end)


def _show(item: dict[str, Any]) -> dict[str, Any]:
    return {"item": item["id"], "lead_id": item["lead_id"], "attempt": item["attempt_no"], "tier": item["tier"],
            "score": item["score"], "escalated": item["escalated"], "due": item["available_at"],
            "claimed_by": item["claimed_by"], "reasons": "; ".join(item["reasons"])}


class Leads:
    """The lead pipeline and work queues of one workspace (``ws.leads``)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _read(self, name: str, hint: str) -> pa.Table:
        with self.ws.warehouse() as wh:
            if name not in wh.tables():
                raise EmptySelectionError(f"no {name} table in the warehouse: {hint}")
            return wh.query(f'SELECT * FROM "{name}"')

    @contextmanager
    def _store(self) -> Iterator[OpsStore]:
        from closeloop.ops import OpsStore

        with map_errors("operational store"), OpsStore(self.ws.settings.resolved_ops_url()) as store:
            yield store

    def clean(self, require: str | Sequence[str] = "phone", default_country: str | None = None, jobs: int = 1,
              progress: Progress | None = None) -> Result:
        """Normalise the leads into ``leads_clean``: E.164 phones, checked e-mails, tidy names.

        Incomplete leads are kept with status 'enrichment' and the list of what is missing.
        """
        from closeloop.leads.clean import CleanRules, clean_leads, clean_summary

        raw = self._read("leads", "ingest a leads file first")
        if raw.num_rows == 0:
            raise EmptySelectionError("the leads table is empty: ingest a leads file first")
        if default_country is None:
            with self.ws.warehouse() as wh:
                rows = wh.con.execute("SELECT DISTINCT country FROM centers WHERE country IS NOT NULL").fetchall()
            default_country = rows[0][0] if len(rows) == 1 else None
        fields = tuple(f.strip() for f in (require.split(",") if isinstance(require, str) else require) if f.strip())
        if progress is not None:
            progress.step(f"cleaning {raw.num_rows:,} leads")
        cleaned = clean_leads(raw, CleanRules(required=fields, default_country=default_country), jobs=jobs)
        with self.ws.warehouse(write=True) as wh:
            wh.replace_table("leads_clean", cleaned)
        return Result.from_rows(SUMMARY, clean_summary(cleaned), title=f"leads_clean: {cleaned.num_rows:,} leads",
                                leads=cleaned.num_rows)

    def dedupe(self, threshold: float = 0.5, max_block: int = 50, progress: Progress | None = None) -> Result:
        """Find the same person across sources (Fellegi–Sunter) and merge them into ``leads_merged``.

        Writes ``lead_clusters``, ``lead_pairs`` and ``leads_merged`` together. Extras:
        ``weights`` (a list of rows: the trained match weights per field and level).
        """
        from closeloop.leads.dedupe import dedupe_leads

        cleaned = self._read("leads_clean", "run leads clean first")
        required = tuple(sorted({m for ms in cleaned.column("missing").drop_null().to_pylist()
                                 for m in ms.split(",")}))
        if progress is not None:
            progress.step(f"deduplicating {cleaned.num_rows:,} leads")
        result = dedupe_leads(cleaned, threshold=threshold, max_block=max_block, required=required or ("phone",))
        with self.ws.warehouse(write=True) as wh:
            wh.replace_tables({"lead_clusters": result.clusters, "leads_merged": result.merged,
                               "lead_pairs": result.pairs})
        rows = [{"what": k, "value": v} for k, v in result.stats.items()]
        return Result.from_rows(DEDUPE, rows, title="deduplication", weights=result.model.weights_table())

    def attributes(self) -> Result:
        """Type every extra column of the leads table: type, fill rate, distinct values.

        Writes ``lead_attributes`` (the catalog) and ``lead_attribute_values`` (typed, one
        column per attribute, joinable to leads by lead_id) in one transaction; values that do
        not fit their column's type go to rejects. Extras: ``rejected``, ``excluded``, ``leads``.
        """
        from closeloop.warehouse.lead_attributes import store_attributes, type_lead_table

        with self.ws.warehouse(write=True) as wh:
            typed = type_lead_table(wh, self.ws.settings.lead_attributes, self.ws.settings.default_timezone)
            store_attributes(wh, typed)
        if not typed.attributes:
            raise EmptySelectionError("the leads table has no extra columns: nothing beyond the canonical fields")
        return Result.from_rows(ATTRIBUTES, typed.catalog().to_pylist(), title=f"lead attributes "
                                f"({typed.values.num_rows:,} leads)", rejected=typed.rejects.num_rows,
                                excluded=list(typed.excluded), leads=typed.values.num_rows)

    def score(self, as_of: str | datetime | None = None, seed: int = 0, report: str | Path | None = None,
              capacity: int | None = None, threads: int = 1, progress: Progress | None = None) -> Result:
        """Train on the history, score every merged lead (``lead_scores``), evaluate on held-out leads.

        Features: the canonical fields, activity before the call (``lead_events``) and every
        typed lead attribute, minus leaking, empty and constant columns (``notes`` says which
        and why). The evaluation compares the model with a logistic regression on the same
        features and a source-only baseline on the newest 30% of leads; with too little history
        the one row says so. ``report`` writes the model card as HTML; it is also stored for
        ``closeloop report``. ``capacity``: tier A = this many best leads, B the next 2x, C 3x.
        Extras: ``model`` (kind), ``scored``, ``features``, ``notes``.
        """
        import pyarrow as pa

        from closeloop.leads.train import train_and_score
        from closeloop.outputs import write_text
        from closeloop.report.leads import CARD_TABLE, model_card_body, model_card_html, model_card_summary
        from closeloop.warehouse.lead_attributes import store_attributes, type_lead_table
        from closeloop.workspace.base import as_of as moment

        merged = self._read("leads_merged", "run leads dedupe first")
        with self.ws.warehouse(write=True) as wh:
            calls = wh.query("SELECT lead_id, offered_at, answered_at, outcome FROM calls WHERE lead_id IS NOT NULL")
            events = wh.query('SELECT lead_id, "at", kind, value FROM lead_events')
            typed = type_lead_table(wh, self.ws.settings.lead_attributes, self.ws.settings.default_timezone)
            store_attributes(wh, typed)
        if progress is not None:
            progress.step(f"scoring {merged.num_rows:,} leads")
        run = train_and_score(merged, calls, moment(as_of), seed=seed, attributes=typed if typed.attributes else None,
                              capacity=capacity, threads=threads, events=events)
        card = pa.table({"generated_at": [datetime.now(UTC)], "html": [model_card_body(run)],
                         "summary": [model_card_summary(run)]})
        with self.ws.warehouse(write=True) as wh:
            wh.replace_tables({"lead_scores": run.scores, CARD_TABLE: card})
        if report is not None:
            write_text(Path(report), model_card_html(run))
        rows = [r.row() for r in run.reports]
        for label, g in (("model - baseline (AUC)", run.auc_gain), ("model - logistic (AUC)", run.auc_gain_logistic)):
            if g:
                rows.append({"name": label, "auc": g[0], "auc_low": g[1], "auc_high": g[2]})
        if not rows:
            rows = [{"name": f"model ({run.model.kind})", "n": run.model.n_train,
                     "note": "too little held-out history to evaluate"}]
        return Result.from_rows(EVALUATION, rows, title=f"lead score ({run.model.kind}, {len(run.features)} features)",
                                model=run.model.kind, scored=run.scores.num_rows, features=list(run.features),
                                notes=list(run.notes))

    def queue(self, campaign: str, load: bool = True, include_called: bool = False, center: str | None = None,
              limit: int = 20) -> Result:
        """Fill a campaign's queue from ``lead_scores``, escalate stalled leads, show what comes next.

        Extras: ``queued``, ``already``, ``dnc`` (counts of this load), ``escalated``.
        """
        from closeloop.ops import LeadQueue

        counts = {"queued": 0, "already": 0, "dnc": 0}
        loadable = self._loadable(include_called) if load else []
        with self._store() as store:
            work = LeadQueue(store)
            if load:
                counts = work.enqueue(campaign, loadable, center_id=center,
                                      default_timezone=self.ws.settings.default_timezone)
            escalated = work.escalate_stalled()
            rows = [_show(item) for item in work.peek(campaign, limit=limit)]
        return Result.from_rows(QUEUE_ITEM, rows, title=f"next in {campaign}", escalated=escalated, **counts)

    def _loadable(self, include_called: bool) -> list[dict[str, Any]]:
        # a person counts as called when any of their source records was (lineage in lead_clusters)
        called = "" if include_called else \
            "AND m.lead_id NOT IN (SELECT k.cluster_id FROM lead_clusters k JOIN calls c ON c.lead_id = k.lead_id)"
        self._read("lead_scores", "run leads score first")
        with self.ws.warehouse() as wh:
            rows: list[dict[str, Any]]
            rows = wh.query(f"""SELECT m.lead_id, m.created_at, m.phone, m.country, s.score, s.tier, s.reasons
                FROM leads_merged m JOIN lead_scores s USING (lead_id)
                WHERE m.status = 'ready' {called}""").to_pylist()
        for r in rows:
            r["reasons"] = json.dumps([x for x in (r["reasons"] or "").split("; ") if x])
        return rows

    def next(self, campaign: str, agent_id: str, count: int = 1) -> Result:
        """Atomically take the next lead(s) of a campaign: no lead ever goes to two agents."""
        from closeloop.ops import LeadQueue

        if count < 1:
            raise InputError("count must be at least 1")
        with self._store() as store:
            items = LeadQueue(store).claim(campaign, agent_id, count=count)
        if not items:
            raise EmptySelectionError(f"no lead ready in campaign {campaign!r}")
        return Result.from_rows(QUEUE_ITEM, [_show(i) for i in items], title=f"for {agent_id}")

    def outcome(self, item: int, result: str, interested: bool = False, callback_at: str | datetime | None = None,
                call_id: str | None = None, cadence: str | Sequence[float] = "24,72,168", max_attempts: int = 4,
                window: str = "09:00-20:00") -> Result:
        """Record how a call on a claimed lead ended; the follow-up rules decide what happens next."""
        from dataclasses import replace

        from closeloop.ops import LeadQueue
        from closeloop.workspace.base import as_of as moment

        rules = replace(parse_window(cadence, window), max_attempts=max_attempts)
        with self._store() as store:
            got = LeadQueue(store, rules).record_attempt(
                item, result, interested=interested, requested_at=moment(callback_at) if callback_at else None,
                call_id=call_id)
        d = got.decision
        return Result.from_rows(OUTCOME, [{
            "item": got.item_id, "lead_id": got.lead_id, "attempt": got.attempt_no, "action": str(d.action),
            "reason": d.reason, "next_attempt": d.attempt_no, "due": d.due_at, "followup_item": got.followup_item_id,
        }], title="outcome")

    def followups(self, campaign: str, pending: bool = False) -> Result:
        """The follow-up loop of a campaign: each decision, when it is due, and whether it was made."""
        from closeloop.ops import LeadQueue

        with self._store() as store:
            rows = LeadQueue(store).followups(campaign, pending_only=pending)
        now = datetime.now(UTC)
        for r in rows:
            r["overdue"] = r["item_status"] == "ready" and r["due_at"] is not None and r["due_at"] < now
        return Result.from_rows(FOLLOWUPS, rows, title=f"follow-ups in {campaign}")

    def dnc(self, phones: Sequence[str], country: str | None = None, reason: str = "") -> int:
        """Add numbers to the do-not-call list; returns how many were new."""
        from closeloop.leads.normalize import normalize_phone

        normal = []
        for raw in phones:
            got = normalize_phone(raw, country)
            if got.e164 is None:
                raise InputError(f"{raw!r} is not a valid phone number ({got.status}); give +code or a country")
            normal.append(got.e164)
        with self._store() as store:
            return int(store.add_dnc(normal, reason=reason))
