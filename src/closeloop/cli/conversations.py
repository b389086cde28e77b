"""Conversation commands: patterns, phrases, qa sample."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from closeloop.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, console, emit_rows, settings_for
from closeloop.conversations import Playbook, default_playbook, default_playbook_text, feature_catalog, parse_playbook
from closeloop.conversations.outcomes import mean_effects, pattern_effects
from closeloop.conversations.phrases import discover_phrases
from closeloop.conversations.qa import QA_CSV_COLUMNS, qa_html, qa_rows, stratified_sample
from closeloop.errors import ConfigError, EmptySelectionError, InputError
from closeloop.warehouse import open_warehouse
from closeloop.warehouse.conversations import analysis_frame, events_for, scan
from closeloop.warehouse.store import Warehouse


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


def load_playbook(path: Path | None) -> Playbook:
    """The playbook at ``path`` (validated), or the default."""
    if path is None:
        return default_playbook()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read playbook ({exc.strerror})") from exc
    return parse_playbook(text, source=str(path))


def ensure_scan(wh: Warehouse, playbook: Playbook, semantic: bool, rescan: bool) -> None:
    """Run detection (with a progress bar) unless stored results match this playbook."""
    matcher = None
    if semantic:
        from closeloop.conversations.semantic import SemanticMatcher, load_encoder

        matcher = SemanticMatcher(load_encoder(), playbook.settings.semantic_threshold)
    with Progress(TextColumn("scanning transcripts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("scan", total=None)
        result = scan(wh, playbook, semantic=matcher, force=rescan,
                      progress=lambda done, total: bar.update(task, completed=done, total=total))
    if not result.skipped:
        console(stderr=True).print(f"scanned {result.calls:,} calls, {result.turns:,} turns: {result.events:,} moments")


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
    pb = load_playbook(playbook)
    settings = settings_for(workspace)
    with open_warehouse(settings) as wh:
        ensure_scan(wh, pb, semantic, rescan)
        frame = analysis_frame(wh, pb, call_type.value, center)
    catalog = [f for f in feature_catalog(pb) if f.calls in ("all", call_type.value)]
    groups = [(None, slice(None))] if by is None else _groups(frame.center_id)
    rows: list[dict[str, Any]] = []
    for group, sel in groups:
        feats = {k: v[sel] for k, v in frame.features.items()}
        covs = {"source": _take(frame.source, sel), "agent_id": _take(frame.agent_id, sel)}
        if by is None:
            covs["center_id"] = frame.center_id
        if csat:
            found = [e.row() for e in mean_effects(feats, frame.csat[sel], catalog)]
        else:
            found = [e.row() for e in pattern_effects(feats, frame.success[sel], catalog, covs, min_calls=min_calls)]
        rows += [({"center_id": group} if by else {}) | r for r in found]
    if fmt is OutputFormat.table:
        rows = [_short(r) for r in rows]
    what = "CSAT" if csat else ("close rate" if call_type is CallTypeOpt.sales else "resolution rate")
    emit_rows(rows, fmt, title=f"Patterns vs {what} ({call_type.value} calls: {len(frame.call_ids):,})")
    if frame.transcripts_without_call and fmt is OutputFormat.table:
        console(stderr=True).print(f"{frame.transcripts_without_call:,} transcripts have no matching call (left out)")


def _groups(values: list[str | None]) -> list[tuple[str, Any]]:
    import numpy as np

    labels = np.asarray(["" if v is None else v for v in values], dtype=object)
    return [(g, labels == g) for g in sorted(set(labels.tolist()))]


def _take(values: list[Any], sel: Any) -> list[Any]:
    if isinstance(sel, slice):
        return values[sel]
    return [v for v, keep in zip(values, sel.tolist(), strict=True) if keep]


def _pct(v: Any) -> str:
    return "" if v is None or v != v else f"{v:+.1%}" if isinstance(v, float) else str(v)


def _effect(r: dict[str, Any]) -> str:
    """``-16.9% (-21.3%, -12.6%)``; empty where no effect could be estimated (pattern never seen)."""
    est, lo, hi = (_pct(r[k]) for k in ("adj_diff", "adj_diff_low", "adj_diff_high"))
    return f"{est} ({lo}, {hi})" if lo and hi else est


def _short(r: dict[str, Any]) -> dict[str, Any]:
    """The columns a person reads first, with intervals folded into one cell."""
    if "adj_diff" not in r:
        return r
    out = {"center_id": r["center_id"]} if "center_id" in r else {}
    out |= {
        "pattern": r["label"], "calls": r["with"], "share": f"{r['prevalence']:.0%}",
        "with": f"{r['rate_with']:.1%}" if r["rate_with"] == r["rate_with"] else "",
        "without": f"{r['rate_without']:.1%}" if r["rate_without"] == r["rate_without"] else "",
        "adj. effect (95% CI)": _effect(r),
        "q": f"{r['adj_q']:.2g}" if r["adj_q"] == r["adj_q"] else "",
        "lost/1k": f"{r['cost_per_1000']:.1f}" if r["cost_per_1000"] == r["cost_per_1000"] else "",
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
) -> None:
    """The words and phrases that most separate won from lost sales calls (or one center from the rest).

    Scored by log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008,
    "Fightin' Words"): z > 1.96 means more typical of the first group than chance allows.
    """
    if speaker not in ("customer", "agent", "any"):
        raise InputError(f"--speaker must be customer, agent or any, not {speaker!r}")
    settings = settings_for(workspace)
    with open_warehouse(settings, read_only=True) as wh:
        cond = "" if speaker == "any" else f"AND t.speaker = '{speaker}'"
        rows = wh.con.execute(
            f"SELECT c.call_id, c.outcome, c.center_id, string_agg(t.text, chr(10) ORDER BY t.turn) FROM transcripts t "
            f"JOIN calls c USING (call_id) WHERE c.call_type = 'sales' AND c.outcome IN ('sale','no_sale','callback') "
            f"{cond} GROUP BY ALL ORDER BY 1"
        ).fetchall()
    if not rows:
        raise EmptySelectionError("no answered sales calls with transcripts")
    texts = [r[3] or "" for r in rows]
    if by == "outcome":
        group, names = [r[1] == "sale" for r in rows], ("won", "lost")
    else:
        group, names = [r[2] == by for r in rows], (by, "other centers")
        if not any(group):
            raise EmptySelectionError(f"no sales calls with transcripts in center {by!r}")
    first, second = discover_phrases(texts, group, top=top, min_count=min_count)
    if not first and not second:
        raise EmptySelectionError(f"no phrase said at least {min_count} times separates {names[0]} from {names[1]}")
    out = [{"typical of": names[0], **p.row()} for p in first] + [{"typical of": names[1], **p.row()} for p in second]
    emit_rows(out, fmt, title=f"Phrases that separate {names[0]} from {names[1]} ({speaker} turns)")


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
    pb = load_playbook(playbook)
    settings = settings_for(workspace)
    where, params = ["c.outcome NOT IN ('abandoned', 'no_answer')"], []
    for col, value in (("center_id", center), ("agent_id", agent), ("call_type", call_type and call_type.value)):
        if value is not None:
            where.append(f"c.{col} = ?")
            params.append(value)
    with open_warehouse(settings) as wh:
        ensure_scan(wh, pb, semantic=False, rescan=rescan)
        calls = wh.query(
            "SELECT cc.call_id, c.center_id, c.agent_id, c.outcome, c.call_type FROM conversation_calls cc "
            f"JOIN calls c USING (call_id) WHERE {' AND '.join(where)} ORDER BY 1", params,
        ).to_pylist()
        sample = stratified_sample(calls, n, seed)
        events = events_for(wh, [c["call_id"] for c in sample])
    folder = out or settings.root / "qa"
    labels = pb.labels | {f"unanswered_{k}": f"{pb.labels[k]}, not answered" for k in pb.answers}
    rows = qa_rows(sample, events, labels)
    selection = ", ".join(f"{k}={v}" for k, v in (("center", center), ("agent", agent), ("type", call_type)) if v)
    html = qa_html(sample, events, labels, seed, "center × outcome", selection or "all answered calls")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_csv(folder / "qa_sample.csv", rows)
        (folder / "qa_sample.html").write_text(html, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{folder}: cannot write the QA sample there ({exc.strerror or exc})") from exc
    flagged = sum(1 for c in sample if any(e["category"] != "script" for e in events[c["call_id"]]))
    console().print(f"{len(sample)} calls ({flagged} with flagged moments) → {folder / 'qa_sample.csv'}, "
                    f"{folder / 'qa_sample.html'}")


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(QA_CSV_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(patterns)
    app.command()(phrases)
    app.add_typer(qa_app, name="qa")
