"""``closeloop leads ...``: clean, dedupe, score, attributes, queue, next, outcome, followups, dnc.

The warehouse holds the analysis (``leads_clean``, ``lead_clusters``, ``leads_merged``,
``lead_pairs``, ``lead_scores``); the operational store holds the live work (queue, attempts,
follow-ups, do-not-call list). See docs/leads.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for
from closeloop.errors import EmptySelectionError, InputError
from closeloop.leads.clean import REQUIRABLE, CleanRules, clean_leads, clean_summary
from closeloop.leads.dedupe import dedupe_leads
from closeloop.leads.followup import CadenceRules
from closeloop.leads.normalize import normalize_phone
from closeloop.leads.train import train_and_score
from closeloop.ops import LeadQueue, OpsStore
from closeloop.settings import Settings
from closeloop.warehouse import Warehouse, open_warehouse
from closeloop.warehouse.lead_attributes import store_attributes, type_lead_table

leads_app = typer.Typer(help="Lead intake, deduplication, scoring, ranked hand-offs and follow-ups.",
                        no_args_is_help=True)

CampaignOpt = Annotated[str, typer.Option("--campaign", "-c", help="Campaign (one work queue per campaign).")]


def _table(wh: Warehouse, name: str, hint: str) -> pa.Table:
    if name not in {r[0] for r in wh.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}:
        raise EmptySelectionError(f"no {name} table in the warehouse: {hint}")
    return wh.query(f'SELECT * FROM "{name}"')


def _store(settings: Settings, table: pa.Table, name: str) -> None:
    with open_warehouse(settings) as wh:
        wh.con.register("_cl_upload", table)
        wh.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _cl_upload')
        wh.con.unregister("_cl_upload")


def _default_country(wh: Warehouse) -> str | None:
    """The centers' country when they all share one: where national numbers are read."""
    rows = wh.con.execute("SELECT DISTINCT country FROM centers WHERE country IS NOT NULL").fetchall()
    return rows[0][0] if len(rows) == 1 else None


@leads_app.command()
def clean(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    require: Annotated[str, typer.Option(help=f"Fields a lead needs to be callable ({', '.join(REQUIRABLE)}).")]
    = "phone",
    default_country: Annotated[str | None, typer.Option(
        help="Country (ISO alpha-2) for numbers written without +code; default: the centers' one country.")] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes for phone parsing.")] = 1,
) -> None:
    """Normalise the warehouse's leads into leads_clean: E.164 phones, checked e-mails, tidy names.

    Incomplete leads are kept with status 'enrichment' and the list of what is missing.
    """
    settings = settings_for(workspace)
    with open_warehouse(settings, read_only=True) as wh:
        raw = _table(wh, "leads", "run 'closeloop ingest leads FILE' first")
        country = default_country or _default_country(wh)
    if raw.num_rows == 0:
        raise EmptySelectionError("the leads table is empty: run 'closeloop ingest leads FILE' first")
    rules = CleanRules(required=tuple(f.strip() for f in require.split(",") if f.strip()), default_country=country)
    cleaned = clean_leads(raw, rules, jobs=jobs)
    _store(settings, cleaned, "leads_clean")
    emit_rows(clean_summary(cleaned), fmt, title=f"leads_clean: {cleaned.num_rows:,} leads")


@leads_app.command()
def dedupe(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    threshold: Annotated[float, typer.Option(help="Link two records at this match probability or above.")] = 0.5,
    max_block: Annotated[int, typer.Option(help="Skip blocking keys shared by more records than this.")] = 50,
    weights: Annotated[bool, typer.Option(help="Show the trained m/u probabilities instead of the summary.")]
    = False,
) -> None:
    """Find the same person across sources (Fellegi–Sunter linkage) and merge them into leads_merged.

    Writes lead_clusters (lineage: every source row and its cluster), lead_pairs (scored pairs)
    and leads_merged (one record per person, by the survivorship rules).
    """
    settings = settings_for(workspace)
    with open_warehouse(settings, read_only=True) as wh:
        cleaned = _table(wh, "leads_clean", "run 'closeloop leads clean' first")
    required = tuple(sorted({m for ms in cleaned.column("missing").drop_null().to_pylist() for m in ms.split(",")}))
    result = dedupe_leads(cleaned, threshold=threshold, max_block=max_block, required=required or ("phone",))
    for name, table in (("lead_clusters", result.clusters), ("leads_merged", result.merged),
                        ("lead_pairs", result.pairs)):
        _store(settings, table, name)
    if weights:
        emit_rows(result.model.weights_table(), fmt, title="match weights: log2(m/u)")
        return
    emit_rows([{"what": k, "value": v} for k, v in result.stats.items()], fmt, title="deduplication")


@leads_app.command()
def score(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    as_of: Annotated[str | None, typer.Option(help="Score as of this ISO time (default: now).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (model and bootstrap).")] = 0,
    report: Annotated[Path | None, typer.Option(
        help="Write the model card (features used and excluded, evaluation, calibration plot) to this HTML file.")]
    = None,
    capacity: Annotated[int | None, typer.Option(
        help="Leads agents can call: tier A = this many best leads, B the next 2x, C the next 3x.")] = None,
    threads: Annotated[int, typer.Option(help="Threads for the boosted model.")] = 1,
) -> None:
    """Train on the workspace's history, score every merged lead (lead_scores), report held-out quality.

    Features: the canonical fields, activity before the call (lead_events: counts and recency)
    and every typed lead attribute (see 'leads attributes'), minus
    leaking, empty and constant columns. The held-out figures compare the model with a logistic
    regression on the same features and a source-only baseline on the newest 30% of leads.
    """
    settings = settings_for(workspace)
    when = _when(as_of)
    with open_warehouse(settings) as wh:
        merged = _table(wh, "leads_merged", "run 'closeloop leads dedupe' first")
        calls = wh.query("SELECT lead_id, offered_at, answered_at, outcome FROM calls WHERE lead_id IS NOT NULL")
        events = wh.query('SELECT lead_id, "at", kind, value FROM lead_events')
        typed = type_lead_table(wh, settings.lead_attributes, settings.default_timezone)
        store_attributes(wh, typed)
    run = train_and_score(merged, calls, when, seed=seed, attributes=typed if typed.attributes else None,
                          capacity=capacity, threads=threads, events=events)
    _store(settings, run.scores, "lead_scores")
    err = console(stderr=True)
    for note in run.notes:
        err.print(f"[yellow]{note.action}[/] {note.feature}: {note.reason}")
    from closeloop.report.leads import CARD_TABLE, model_card_body, model_card_html, model_card_summary

    _store(settings, pa.table({"generated_at": [datetime.now(UTC)], "html": [model_card_body(run)],
                               "summary": [model_card_summary(run)]}), CARD_TABLE)
    if report is not None:
        try:
            report.write_text(model_card_html(run), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the model card to {report}: {exc.strerror}") from exc
        err.print(f"model card written to {report}")
    rows = [r.row() for r in run.reports]
    for label, g in (("model - baseline (AUC)", run.auc_gain), ("model - logistic (AUC)", run.auc_gain_logistic)):
        if g:
            rows.append({"name": label, "auc": round(g[0], 4), "auc_low": round(g[1], 4), "auc_high": round(g[2], 4)})
    if not rows:
        rows = [{"name": f"model ({run.model.kind})", "n": run.model.n_train,
                 "note": "too little held-out history to evaluate"}]
    emit_rows(rows, fmt, title=f"lead score ({run.model.kind}, {len(run.features)} features), "
                               f"{run.scores.num_rows:,} leads scored")


@leads_app.command()
def attributes(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Type every extra column of the leads table and list them: type, fill rate, distinct values.

    Writes lead_attributes (the catalog) and lead_attribute_values (typed, one column per
    attribute, joinable to leads by lead_id); values that do not fit their column's type go to
    rejects. [leads.attributes.COLUMN] in closeloop.toml renames, retypes or excludes a column.
    """
    settings = settings_for(workspace)
    with open_warehouse(settings) as wh:
        typed = type_lead_table(wh, settings.lead_attributes, settings.default_timezone)
        store_attributes(wh, typed)
    if not typed.attributes:
        raise EmptySelectionError("the leads table has no extra columns: nothing beyond the canonical fields")
    if typed.rejects.num_rows:
        console(stderr=True).print(f"{typed.rejects.num_rows:,} value(s) did not fit their column's type: "
                                   "see 'closeloop rejects'")
    emit_rows(typed.catalog().to_pylist(), fmt, title=f"lead attributes ({typed.values.num_rows:,} leads)"
              + (f"; excluded by settings: {', '.join(typed.excluded)}" if typed.excluded else ""))


@leads_app.command()
def queue(
    campaign: CampaignOpt,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    load: Annotated[bool, typer.Option(help="Queue scored, callable leads not queued yet.")] = True,
    include_called: Annotated[bool, typer.Option(help="Also queue leads that already have calls.")] = False,
    center: Annotated[str | None, typer.Option(help="Center the campaign's queue belongs to.")] = None,
    limit: Annotated[int, typer.Option(help="Show this many next items.")] = 20,
) -> None:
    """Fill a campaign's work queue from lead_scores, escalate stalled leads, show what comes next."""
    settings = settings_for(workspace)
    with OpsStore(settings.resolved_ops_url()) as store:
        work = LeadQueue(store)
        if load:
            counts = work.enqueue(campaign, _loadable(settings, include_called), center_id=center,
                                  default_timezone=settings.default_timezone)
            console(stderr=True).print(f"queued {counts['queued']:,} new, {counts['already']:,} already queued, "
                                       f"{counts['dnc']:,} on the do-not-call list")
        escalated = work.escalate_stalled()
        if escalated:
            console(stderr=True).print(f"escalated {escalated:,} stalled leads")
        rows = [_show(item) for item in work.peek(campaign, limit=limit)]
    emit_rows(rows, fmt, title=f"next in {campaign}")


def _loadable(settings: Settings, include_called: bool) -> list[dict[str, Any]]:
    # a person counts as called when any of their source records was (lineage in lead_clusters)
    called = "" if include_called else \
        "AND m.lead_id NOT IN (SELECT k.cluster_id FROM lead_clusters k JOIN calls c ON c.lead_id = k.lead_id)"
    with open_warehouse(settings, read_only=True) as wh:
        _table(wh, "lead_scores", "run 'closeloop leads score' first")
        rows = wh.query(f"""SELECT m.lead_id, m.created_at, m.phone, m.country, s.score, s.tier, s.reasons
            FROM leads_merged m JOIN lead_scores s USING (lead_id)
            WHERE m.status = 'ready' {called}""").to_pylist()
    for r in rows:
        r["reasons"] = json.dumps([x for x in (r["reasons"] or "").split("; ") if x])
    return rows


def _show(item: dict[str, Any]) -> dict[str, Any]:
    return {"item": item["id"], "lead_id": item["lead_id"], "attempt": item["attempt_no"], "tier": item["tier"],
            "score": round(item["score"], 4), "escalated": item["escalated"], "due": item["available_at"],
            "claimed_by": item["claimed_by"], "reasons": "; ".join(item["reasons"])}


@leads_app.command("next")
def next_(
    campaign: CampaignOpt,
    agent: Annotated[str, typer.Option("--agent", "-a", help="Agent (or dialer) taking the leads.")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    count: Annotated[int, typer.Option(help="How many leads to take (a dialer takes batches).")] = 1,
) -> None:
    """Atomically take the next lead(s) of a campaign: no lead ever goes to two agents."""
    settings = settings_for(workspace)
    with OpsStore(settings.resolved_ops_url()) as store:
        items = LeadQueue(store).claim(campaign, agent, count=count)
    if not items:
        raise EmptySelectionError(f"no lead ready in campaign {campaign!r}")
    emit_rows([_show(i) for i in items], fmt, title=f"for {agent}")


@leads_app.command()
def outcome(
    item: Annotated[int, typer.Argument(help="Queue item number (from 'leads next').")],
    result: Annotated[str, typer.Argument(help="sale, no_sale, callback or no_answer.")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    interested: Annotated[bool, typer.Option(help="A no_sale where the prospect is still interested.")] = False,
    callback_at: Annotated[str | None, typer.Option(help="Time the prospect asked to be called (ISO).")] = None,
    call_id: Annotated[str | None, typer.Option(help="The call's id, to link the attempt to calls.")] = None,
    cadence: Annotated[str, typer.Option(help="Follow-up delays in hours after attempt 1, 2, 3...")] = "24,72,168",
    max_attempts: Annotated[int, typer.Option(help="Stop after this many attempts.")] = 4,
    window: Annotated[str, typer.Option(help="Calling window in the lead's local time, HH:MM-HH:MM.")]
    = "09:00-20:00",
) -> None:
    """Record how a call on a claimed lead ended; the follow-up rules decide what happens next."""
    rules = _rules(cadence, max_attempts, window)
    settings = settings_for(workspace)
    with OpsStore(settings.resolved_ops_url()) as store:
        got = LeadQueue(store, rules).record_attempt(item, result, interested=interested,
                                                     requested_at=_when(callback_at) if callback_at else None,
                                                     call_id=call_id)
    d = got.decision
    emit_rows([{"item": got.item_id, "lead_id": got.lead_id, "attempt": got.attempt_no, "action": str(d.action),
                "reason": d.reason, "next_attempt": d.attempt_no, "due": d.due_at,
                "followup_item": got.followup_item_id}], fmt)


@leads_app.command()
def followups(
    campaign: CampaignOpt,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    pending: Annotated[bool, typer.Option(help="Only follow-ups still to be made.")] = False,
) -> None:
    """The follow-up loop of a campaign: each decision, when it is due, and whether it was made."""
    settings = settings_for(workspace)
    with OpsStore(settings.resolved_ops_url()) as store:
        rows = LeadQueue(store).followups(campaign, pending_only=pending)
    now = datetime.now(UTC)
    for r in rows:
        r["overdue"] = r["item_status"] == "ready" and r["due_at"] is not None and r["due_at"] < now
    emit_rows(rows, fmt, title=f"follow-ups in {campaign}")


@leads_app.command()
def dnc(
    phones: Annotated[list[str], typer.Argument(help="Numbers to never call (any format).")],
    workspace: WorkspaceOpt = None,
    country: Annotated[str | None, typer.Option(help="Country for numbers written without +code.")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept with the number).")] = "",
) -> None:
    """Add numbers to the do-not-call list (queued leads with them are never followed up)."""
    settings = settings_for(workspace)
    normal = []
    for raw in phones:
        got = normalize_phone(raw, country)
        if got.e164 is None:
            raise InputError(f"{raw!r} is not a valid phone number ({got.status}); give +code or --country")
        normal.append(got.e164)
    with OpsStore(settings.resolved_ops_url()) as store:
        added = store.add_dnc(normal, reason=reason)
    console().print(f"{added} number(s) added to the do-not-call list")


def _when(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{text!r} is not an ISO time like 2025-03-04T15:00:00+00:00") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _rules(cadence: str, max_attempts: int, window: str) -> CadenceRules:
    try:
        delays = tuple(float(x) for x in cadence.split(","))
        start, end = (time.fromisoformat(x.strip()) for x in window.split("-"))
    except ValueError as exc:
        raise InputError(f"bad cadence {cadence!r} or window {window!r} (e.g. 24,72,168 and 09:00-20:00)") from exc
    return CadenceRules(delays_h=delays, max_attempts=max_attempts, window_start=start, window_end=end)


def register(app: typer.Typer) -> None:
    """Add ``closeloop leads ...``."""
    app.add_typer(leads_app, name="leads")


__all__ = ["leads_app", "register"]
