"""Conversation use-cases of the :class:`~closeloop.workspace.Workspace`: patterns, phrases, QA samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop.errors import ConfigError, EmptySelectionError, InputError
from closeloop.results import Result, schema_of

if TYPE_CHECKING:
    from closeloop.conversations import Playbook
    from closeloop.warehouse import Warehouse
    from closeloop.workspace.core import Progress

PATTERNS = schema_of("patterns", [
    ("center_id", "str", "the center (only when split by center)"),
    ("feature", "str", "detector or script step"), ("label", "str", "what it means, in words"),
    ("category", "str", "detector category (objection, confusion, script...)"),
    ("calls", "int", "calls analysed"), ("with", "int", "calls where it occurred"),
    ("prevalence", "float", "with / calls"),
    ("rate_with", "float", "success rate of calls with it"), ("rate_with_low", "float", "lower end (Wilson)"),
    ("rate_with_high", "float", "upper end"),
    ("rate_without", "float", "success rate of calls without it"), ("rate_without_low", "float", "lower end"),
    ("rate_without_high", "float", "upper end"),
    ("diff", "float", "rate_with - rate_without"), ("diff_low", "float", "lower end (Newcombe)"),
    ("diff_high", "float", "upper end"), ("p", "float", "p-value of the difference"),
    ("q", "float", "Benjamini-Hochberg q-value"), ("odds_ratio", "float", "odds ratio"),
    ("or_low", "float", "odds ratio: lower end"), ("or_high", "float", "odds ratio: upper end"),
    ("adj_diff", "float", "effect adjusted for center, source and agent (average marginal effect)"),
    ("adj_diff_low", "float", "adjusted effect: lower end"), ("adj_diff_high", "float", "upper end"),
    ("adj_p", "float", "p-value of the adjusted effect"), ("adj_q", "float", "its q-value"),
    ("cost_per_1000", "float", "sales (or resolutions) lost per 1,000 calls"),
    ("significant", "bool", "adjusted effect beyond noise (q < 0.05)"),
    ("note", "str", "why no effect was estimated (too few calls...)"),
])

CSAT_PATTERNS = schema_of("csat_patterns", [
    ("center_id", "str", "the center (only when split by center)"),
    ("feature", "str", "detector or script step"), ("label", "str", "what it means"),
    ("with", "int", "calls with it and a CSAT"), ("without", "int", "calls without it and a CSAT"),
    ("mean_with", "float", "mean CSAT with it"), ("mean_without", "float", "mean CSAT without"),
    ("diff", "float", "mean_with - mean_without"), ("diff_low", "float", "lower end (Welch)"),
    ("diff_high", "float", "upper end"), ("p", "float", "p-value"),
])

PHRASES = schema_of("phrases", [
    ("typical_of", "str", "the group the phrase is typical of"), ("phrase", "str", "the phrase"),
    ("count_a", "int", "times said in the first group"), ("count_b", "int", "times said in the second"),
    ("log_odds", "float", "log-odds ratio with an informative Dirichlet prior"),
    ("z", "float", "its z-score (|z| > 1.96: beyond chance)"),
])


@dataclass(frozen=True)
class QASample:
    """A drawn QA sample: the calls, where its files were written, how many have flagged moments."""

    calls: list[dict[str, Any]]
    csv_path: Path
    html_path: Path
    flagged: int


def load_playbook(path: str | Path | None) -> Playbook:
    """The playbook at ``path`` (validated), or the one closeloop ships."""
    from closeloop.conversations import default_playbook, parse_playbook

    if path is None:
        return default_playbook()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read playbook ({exc.strerror or exc})") from exc
    return parse_playbook(text, source=str(path))


class Conversations:
    """Patterns, phrases and QA samples (mixed into Workspace)."""

    def scan(self, playbook: str | Path | None = None, semantic: bool = False, rescan: bool = False,
             progress: Progress | None = None) -> Any:
        """Run the playbook's detectors over the transcripts unless stored results match it."""
        with self.warehouse(write=True) as wh:
            return self._scan(wh, load_playbook(playbook), semantic, rescan, progress)

    def _scan(self, wh: Warehouse, pb: Playbook, semantic: bool, rescan: bool, progress: Progress | None) -> Any:
        from closeloop.warehouse.conversations import scan

        matcher = None
        if semantic:
            from closeloop.conversations.semantic import SemanticMatcher, load_encoder

            matcher = SemanticMatcher(load_encoder(), pb.settings.semantic_threshold)
        if progress is not None:
            progress.step("scanning transcripts")

        def tick(done: int, total: int) -> None:
            if progress is not None:
                progress.update(done, total)

        return scan(wh, pb, semantic=matcher, force=rescan, progress=tick)

    def patterns(self, call_type: str = "sales", by_center: bool = False, center: str | None = None,
                 csat: bool = False, min_calls: int = 30, playbook: str | Path | None = None,
                 semantic: bool = False, rescan: bool = False, progress: Progress | None = None) -> Result:
        """What in the calls predicts lost sales (or unresolved care calls), with adjusted effects.

        ``csat=True`` compares CSAT with vs without each pattern instead. Extras: ``calls``
        (how many were analysed), ``transcripts_without_call``.
        """
        import numpy as np

        from closeloop.conversations import feature_catalog
        from closeloop.conversations.outcomes import mean_effects, pattern_effects
        from closeloop.warehouse.conversations import analysis_frame

        if call_type not in ("sales", "care"):
            raise InputError(f"call_type {call_type!r}: sales or care")
        pb = load_playbook(playbook)
        with self.warehouse(write=True) as wh:
            self._scan(wh, pb, semantic, rescan, progress)
            frame = analysis_frame(wh, pb, call_type, center)
        catalog = [f for f in feature_catalog(pb) if f.calls in ("all", call_type)]
        labels = np.asarray(["" if v is None else v for v in frame.center_id], dtype=object)
        groups = [(None, slice(None))] if not by_center else [(g, labels == g) for g in sorted(set(labels.tolist()))]
        rows: list[dict[str, Any]] = []
        for group, sel in groups:
            feats = {k: v[sel] for k, v in frame.features.items()}
            covs = {"source": _take(frame.source, sel), "agent_id": _take(frame.agent_id, sel)}
            if not by_center:
                covs["center_id"] = frame.center_id
            if csat:
                found = [e.row() for e in mean_effects(feats, frame.csat[sel], catalog)]
            else:
                found = [e.row() for e in pattern_effects(feats, frame.success[sel], catalog, covs,
                                                          min_calls=min_calls)]
            rows += [{"center_id": group} | r for r in found]
        return Result.from_rows(CSAT_PATTERNS if csat else PATTERNS, rows, calls=len(frame.call_ids),
                                transcripts_without_call=frame.transcripts_without_call,
                                title=f"patterns ({call_type} calls: {len(frame.call_ids):,})")

    def phrases(self, by: str = "outcome", speaker: str = "customer", top: int = 15, min_count: int = 5) -> Result:
        """Words and phrases that most separate won from lost sales calls (or one center from the rest)."""
        from closeloop.conversations.phrases import discover_phrases

        if speaker not in ("customer", "agent", "any"):
            raise InputError(f"speaker must be customer, agent or any, not {speaker!r}")
        cond = "" if speaker == "any" else "AND t.speaker = ?"
        with self.warehouse() as wh:
            rows = wh.query(
                "SELECT c.call_id, c.outcome, c.center_id, string_agg(t.text, chr(10) ORDER BY t.turn) AS text "
                "FROM transcripts t JOIN calls c USING (call_id) WHERE c.call_type = 'sales' "
                f"AND c.outcome IN ('sale','no_sale','callback') {cond} GROUP BY ALL ORDER BY 1",
                [speaker] if cond else None,
            ).to_pylist()
        if not rows:
            raise EmptySelectionError("no answered sales calls with transcripts")
        texts = [r["text"] or "" for r in rows]
        if by == "outcome":
            group, labels = [r["outcome"] == "sale" for r in rows], ("won", "lost")
        else:
            group, labels = [r["center_id"] == by for r in rows], (by, "other centers")
            if not any(group):
                raise EmptySelectionError(f"no sales calls with transcripts in center {by!r}")
        first, second = discover_phrases(texts, group, top=top, min_count=min_count)
        if not first and not second:
            raise EmptySelectionError(
                f"no phrase said at least {min_count} times separates {labels[0]} from {labels[1]}")
        out = [{"typical_of": labels[0], **p.row()} for p in first] + \
              [{"typical_of": labels[1], **p.row()} for p in second]
        return Result.from_rows(PHRASES, out, title=f"phrases that separate {labels[0]} from {labels[1]}")

    def qa_sample(self, n: int = 20, center: str | None = None, agent: str | None = None,
                  call_type: str | None = None, seed: int = 0, out: str | Path | None = None,
                  playbook: str | Path | None = None, rescan: bool = False,
                  progress: Progress | None = None) -> QASample:
        """Draw calls for review, stratified by center and outcome, each with its flagged moments.

        Writes qa_sample.csv (one row per moment) and qa_sample.html into ``out``
        (default: WORKSPACE/qa).
        """
        from closeloop.conversations.qa import qa_html, qa_rows, stratified_sample
        from closeloop.warehouse.conversations import events_for

        pb = load_playbook(playbook)
        where, params = ["c.outcome NOT IN ('abandoned', 'no_answer')"], []
        for col, value in (("center_id", center), ("agent_id", agent), ("call_type", call_type)):
            if value is not None:
                where.append(f"c.{col} = ?")
                params.append(value)
        with self.warehouse(write=True) as wh:
            self._scan(wh, pb, False, rescan, progress)
            calls = wh.query(
                "SELECT cc.call_id, c.center_id, c.agent_id, c.outcome, c.call_type FROM conversation_calls cc "
                f"JOIN calls c USING (call_id) WHERE {' AND '.join(where)} ORDER BY 1", params,
            ).to_pylist()
            sample = stratified_sample(calls, n, seed)
            events = events_for(wh, [c["call_id"] for c in sample])
        folder = Path(out) if out is not None else self.root / "qa"
        labels = pb.labels | {f"unanswered_{k}": f"{pb.labels[k]}, not answered" for k in pb.answers}
        rows = qa_rows(sample, events, labels)
        chosen = ", ".join(f"{k}={v}" for k, v in (("center", center), ("agent", agent), ("type", call_type)) if v)
        html = qa_html(sample, events, labels, seed, "center × outcome", chosen or "all answered calls")
        _write_qa(folder, rows, html)
        flagged = sum(1 for c in sample if any(e["category"] != "script" for e in events[c["call_id"]]))
        return QASample(sample, folder / "qa_sample.csv", folder / "qa_sample.html", flagged)


def _write_qa(folder: Path, rows: list[dict[str, Any]], html: str) -> None:
    import csv

    from closeloop.conversations.qa import QA_CSV_COLUMNS
    from closeloop.outputs import write_text, write_with

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{folder}: cannot write the QA sample there ({exc.strerror or exc})") from exc

    def write_csv(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(QA_CSV_COLUMNS))
            writer.writeheader()
            writer.writerows(rows)

    write_with(folder / "qa_sample.csv", write_csv)
    write_text(folder / "qa_sample.html", html)


def _take(values: list[Any], sel: Any) -> list[Any]:
    if isinstance(sel, slice):
        return values[sel]
    return [v for v, keep in zip(values, sel.tolist(), strict=True) if keep]
