"""``closeloop leads ...``: clean, dedupe, score, attributes, queue, next, outcome, followups, dnc.

Each command calls one method of ``Workspace.leads`` (:mod:`closeloop.workspace.leads`),
which says what the warehouse and the operational store hold. See docs/leads.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from closeloop.cli.common import (
    FormatOpt,
    OutOpt,
    OutputFormat,
    TerminalProgress,
    WorkspaceOpt,
    console,
    emit,
    emit_rows,
    workspace_for,
)
from closeloop.leads.clean import REQUIRABLE

leads_app = typer.Typer(help="Lead intake, deduplication, scoring, ranked hand-offs and follow-ups.",
                        no_args_is_help=True)

CampaignOpt = Annotated[str, typer.Option("--campaign", "-c", help="Campaign (one work queue per campaign).")]


@leads_app.command()
def clean(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    require: Annotated[str, typer.Option(help=f"Fields a lead needs to be callable ({', '.join(REQUIRABLE)}).")]
    = "phone",
    default_country: Annotated[str | None, typer.Option(
        help="Country (ISO alpha-2) for numbers written without +code; default: the centers' one country.")] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes for phone parsing.")] = 1,
) -> None:
    """Normalise the warehouse's leads into leads_clean: E.164 phones, checked e-mails, tidy names.

    Incomplete leads are kept with status 'enrichment' and the list of what is missing.
    """
    with TerminalProgress() as progress:
        result = workspace_for(workspace).leads.clean(require, default_country, jobs, progress=progress)
    emit(result, fmt, out)


@leads_app.command()
def dedupe(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    threshold: Annotated[float, typer.Option(help="Link two records at this match probability or above.")] = 0.5,
    max_block: Annotated[int, typer.Option(help="Skip blocking keys shared by more records than this.")] = 50,
    weights: Annotated[bool, typer.Option(help="Show the trained m/u probabilities instead of the summary.")]
    = False,
) -> None:
    """Find the same person across sources (Fellegi–Sunter linkage) and merge them into leads_merged.

    Writes lead_clusters (lineage: every source row and its cluster), lead_pairs (scored pairs)
    and leads_merged (one record per person, by the survivorship rules), in one transaction.
    """
    with TerminalProgress() as progress:
        result = workspace_for(workspace).leads.dedupe(threshold, max_block, progress=progress)
    if weights:
        emit_rows(result.weights, fmt, title="match weights: log2(m/u)")
        return
    emit(result, fmt, out)


@leads_app.command()
def score(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
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
    with TerminalProgress() as progress:
        result = workspace_for(workspace).leads.score(as_of, seed, report, capacity, threads, progress=progress)
    err = console(stderr=True)
    for note in result.notes:
        err.print(f"[yellow]{note.action}[/] {note.feature}: {note.reason}")
    if report is not None:
        err.print(f"model card written to {report}")
    emit(result, fmt, out, title=f"{result.title}, {result.scored:,} leads scored")


@leads_app.command()
def attributes(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """Type every extra column of the leads table and list them: type, fill rate, distinct values.

    Writes lead_attributes (the catalog) and lead_attribute_values (typed, one column per
    attribute, joinable to leads by lead_id); values that do not fit their column's type go to
    rejects. [leads.attributes.COLUMN] in closeloop.toml renames, retypes or excludes a column.
    """
    result = workspace_for(workspace).leads.attributes()
    if result.rejected:
        console(stderr=True).print(f"{result.rejected:,} value(s) did not fit their column's type: "
                                   "see 'closeloop rejects'")
    excluded = f"; excluded by settings: {', '.join(result.excluded)}" if result.excluded else ""
    emit(result, fmt, out, title=result.title + excluded)


@leads_app.command()
def queue(
    campaign: CampaignOpt,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    load: Annotated[bool, typer.Option(help="Queue scored, callable leads not queued yet.")] = True,
    include_called: Annotated[bool, typer.Option(help="Also queue leads that already have calls.")] = False,
    center: Annotated[str | None, typer.Option(help="Center the campaign's queue belongs to.")] = None,
    limit: Annotated[int, typer.Option(help="Show this many next items.")] = 20,
) -> None:
    """Fill a campaign's work queue from lead_scores, escalate stalled leads, show what comes next."""
    result = workspace_for(workspace).leads.queue(campaign, load, include_called, center, limit)
    err = console(stderr=True)
    if load:
        err.print(f"queued {result.queued:,} new, {result.already:,} already queued, "
                  f"{result.dnc:,} on the do-not-call list")
    if result.escalated:
        err.print(f"escalated {result.escalated:,} stalled leads")
    emit(result, fmt, out)


@leads_app.command("next")
def next_(
    campaign: CampaignOpt,
    agent: Annotated[str, typer.Option("--agent", "-a", help="Agent (or dialer) taking the leads.")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    count: Annotated[int, typer.Option(help="How many leads to take (a dialer takes batches).")] = 1,
) -> None:
    """Atomically take the next lead(s) of a campaign: no lead ever goes to two agents."""
    emit(workspace_for(workspace).leads.next(campaign, agent, count), fmt, out)


@leads_app.command()
def outcome(
    item: Annotated[int, typer.Argument(help="Queue item number (from 'leads next').")],
    result: Annotated[str, typer.Argument(help="sale, no_sale, callback or no_answer.")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    interested: Annotated[bool, typer.Option(help="A no_sale where the prospect is still interested.")] = False,
    callback_at: Annotated[str | None, typer.Option(help="Time the prospect asked to be called (ISO).")] = None,
    call_id: Annotated[str | None, typer.Option(help="The call's id, to link the attempt to calls.")] = None,
    cadence: Annotated[str, typer.Option(help="Follow-up delays in hours after attempt 1, 2, 3...")] = "24,72,168",
    max_attempts: Annotated[int, typer.Option(help="Stop after this many attempts.")] = 4,
    window: Annotated[str, typer.Option(help="Calling window in the lead's local time, HH:MM-HH:MM.")]
    = "09:00-20:00",
) -> None:
    """Record how a call on a claimed lead ended; the follow-up rules decide what happens next."""
    emit(workspace_for(workspace).leads.outcome(item, result, interested, callback_at, call_id, cadence,
                                                max_attempts, window), fmt, out)


@leads_app.command()
def followups(
    campaign: CampaignOpt,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    pending: Annotated[bool, typer.Option(help="Only follow-ups still to be made.")] = False,
) -> None:
    """The follow-up loop of a campaign: each decision, when it is due, and whether it was made."""
    emit(workspace_for(workspace).leads.followups(campaign, pending), fmt, out)


@leads_app.command()
def dnc(
    phones: Annotated[list[str], typer.Argument(help="Numbers to never call (any format).")],
    workspace: WorkspaceOpt = None,
    country: Annotated[str | None, typer.Option(help="Country for numbers written without +code.")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept with the number).")] = "",
) -> None:
    """Add numbers to the do-not-call list (queued leads with them are never followed up)."""
    added = workspace_for(workspace).leads.dnc(phones, country, reason)
    console().print(f"{added} number(s) added to the do-not-call list")


def register(app: typer.Typer) -> None:
    """Add ``closeloop leads ...``."""
    app.add_typer(leads_app, name="leads")


__all__ = ["leads_app", "register"]
