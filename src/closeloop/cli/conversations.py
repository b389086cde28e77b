"""Conversation commands: patterns, phrases, qa sample."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from closeloop.cli.common import (
    FormatOpt,
    OutOpt,
    OutputFormat,
    TerminalProgress,
    WorkspaceOpt,
    check_output,
    console,
    emit,
    workspace_for,
)
from closeloop.conversations import default_playbook_text


class CallTypeOpt(StrEnum):
    """Which calls to analyse."""

    sales = "sales"
    care = "care"


class ByOpt(StrEnum):
    """Split the pattern table by this column."""

    center_id = "center_id"


PlaybookOpt = Annotated[
    Path | None,
    typer.Option("--playbook", "-p", help="Playbook TOML (default: the one closeloop ships; see --print-playbook)."),
]
SemanticOpt = Annotated[
    bool,
    typer.Option("--semantic", help="Also match by meaning with the packaged MiniLM model (needs the semantic extra)."),
]
RescanOpt = Annotated[bool, typer.Option("--rescan", help="Detect again even if stored results are current.")]


def patterns(
    workspace: WorkspaceOpt = None,
    call_type: Annotated[CallTypeOpt, typer.Option("--call-type", help="sales or care.")] = CallTypeOpt.sales,
    by: Annotated[ByOpt | None, typer.Option("--by", help="One table per value of this column.")] = None,
    center: Annotated[str | None, typer.Option("--center", help="Only this center's calls.")] = None,
    csat: Annotated[bool, typer.Option("--csat", help="Care: CSAT with vs without each pattern instead.")] = False,
    min_calls: Annotated[int, typer.Option(help="Patterns on fewer calls are listed last, never significant.")] = 30,
    playbook: PlaybookOpt = None,
    semantic: SemanticOpt = False,
    rescan: RescanOpt = False,
    print_playbook: Annotated[bool, typer.Option("--print-playbook", help="Print the default playbook, exit.")] = False,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """What in the calls predicts lost sales (or unresolved care calls), ranked by how much it costs.

    For every detector and script step: the success rate of calls with and without it
    (Wilson 95% CIs), the difference (Newcombe CI), the effect adjusted for center, lead
    source and agent (logistic regression; average marginal effect with CI), and the
    sales lost per 1,000 calls. Transcripts are scanned first if needed (results are kept
    in the warehouse tables conversation_events and conversation_calls).
    """
    if print_playbook:
        typer.echo(default_playbook_text(), nl=False)
        return
    check_output(fmt, out)
    with TerminalProgress() as progress:
        result = workspace_for(workspace).patterns(
            call_type=call_type.value, by_center=by is not None, center=center, csat=csat, min_calls=min_calls,
            playbook=playbook, semantic=semantic, rescan=rescan, progress=progress)
    what = "CSAT" if csat else ("close rate" if call_type is CallTypeOpt.sales else "resolution rate")
    title = f"Patterns vs {what} ({call_type.value} calls: {result.calls:,})"
    rows = result.rows()
    if by is None:
        rows = [{k: v for k, v in r.items() if k != "center_id"} for r in rows]
    emit(result, fmt, out, people=[_short(r) for r in rows] if fmt is OutputFormat.table else None, title=title)
    if result.transcripts_without_call and fmt is OutputFormat.table:
        console(stderr=True).print(f"{result.transcripts_without_call:,} transcripts have no matching call (left out)")


def _pct(v: Any) -> str:
    return "" if v is None or v != v else f"{v:+.1%}" if isinstance(v, float) else str(v)


def _effect(r: dict[str, Any]) -> str:
    """``-16.9% (-21.3%, -12.6%)``; empty where no effect could be estimated (pattern never seen)."""
    est, lo, hi = (_pct(r[k]) for k in ("adj_diff", "adj_diff_low", "adj_diff_high"))
    return f"{est} ({lo}, {hi})" if lo and hi else est


def _num(v: Any, spec: str) -> str:
    """A number formatted for people; empty when there is none (null or NaN)."""
    return "" if v is None or v != v else format(v, spec)


def _short(r: dict[str, Any]) -> dict[str, Any]:
    """The columns a person reads first, with intervals folded into one cell."""
    if "adj_diff" not in r:
        return r
    out = {"center_id": r["center_id"]} if "center_id" in r else {}
    out |= {
        "pattern": r["label"], "calls": r["with"], "share": _num(r["prevalence"], ".0%"),
        "with": _num(r["rate_with"], ".1%"), "without": _num(r["rate_without"], ".1%"),
        "adj. effect (95% CI)": _effect(r), "q": _num(r["adj_q"], ".2g"), "lost/1k": _num(r["cost_per_1000"], ".1f"),
        "sig": "*" if r["significant"] else ("n/a" if r["note"] else ""),
    }
    return out


def phrases(
    workspace: WorkspaceOpt = None,
    by: Annotated[str, typer.Option("--by", help="'outcome' (won vs lost) or a center_id (vs the rest).")] = "outcome",
    speaker: Annotated[str, typer.Option(help="customer, agent or any.")] = "customer",
    top: Annotated[int, typer.Option(min=1, help="Phrases per side.")] = 15,
    min_count: Annotated[int, typer.Option(min=1, help="Ignore phrases said fewer times.")] = 5,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """The words and phrases that most separate won from lost sales calls (or one center from the rest).

    Scored by log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008,
    "Fightin' Words"): z > 1.96 means more typical of the first group than chance allows.
    """
    emit(workspace_for(workspace).phrases(by=by, speaker=speaker, top=top, min_count=min_count), fmt, out)


qa_app = typer.Typer(help="QA review: stratified, reproducible call samples with their flagged moments.",
                     no_args_is_help=True)


@qa_app.command("sample")
def qa_sample(
    workspace: WorkspaceOpt = None,
    n: Annotated[int, typer.Option("--n", help="How many calls.")] = 20,
    center: Annotated[str | None, typer.Option(help="Only this center.")] = None,
    agent: Annotated[str | None, typer.Option(help="Only this agent.")] = None,
    call_type: Annotated[CallTypeOpt | None, typer.Option("--call-type", help="Only sales or care calls.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and data give the same sample.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Folder for qa_sample.csv/.html (default: WORKSPACE/qa).")] = None,
    playbook: PlaybookOpt = None,
    rescan: RescanOpt = False,
) -> None:
    """Draw calls for human review, stratified by center and outcome, each with its flagged moments.

    Writes qa_sample.csv (one row per moment: time offset, kind, speaker, evidence) and
    qa_sample.html (a page a reviewer can read beside the recordings).
    """
    with TerminalProgress() as progress:
        got = workspace_for(workspace).qa_sample(n=n, center=center, agent=agent,
                                                 call_type=call_type.value if call_type else None, seed=seed,
                                                 out=out, playbook=playbook, rescan=rescan, progress=progress)
    console().print(f"{len(got.calls)} calls ({got.flagged} with flagged moments) → {got.csv_path}, {got.html_path}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(patterns)
    app.command()(phrases)
    app.add_typer(qa_app, name="qa")
