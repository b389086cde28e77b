"""Conversation analytics against the warehouse: scan transcripts once, keep the results.

Detection runs over the ``transcripts`` table in chunks of calls and writes two tables,
so reports, QA samples and pattern tables never re-detect:

* ``conversation_events`` — one row per moment (call_id, turn, kind, category, speaker,
  start_s, end_s, matched, evidence, method, value);
* ``conversation_calls`` — one row per call: timing metrics, script coverage and the
  yes/no features (columns ``f_<feature>``) that pattern → outcome analysis uses;
* ``conversation_features`` — each feature's name, label, category and the calls it applies to;
* ``conversation_scans`` — which playbook (digest) and method produced them, so a later
  command knows whether they are current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from closeloop.conversations import Detection, Detector, Playbook, batch_from_arrow, feature_catalog
from closeloop.conversations.detect import SemanticFn
from closeloop.errors import EmptySelectionError
from closeloop.warehouse.store import Warehouse

EVENTS = "conversation_events"
CALLS = "conversation_calls"
SCANS = "conversation_scans"
FEATURES = "conversation_features"
FEATURE_PREFIX = "f_"

_EVENTS_DDL = f"""CREATE TABLE IF NOT EXISTS {EVENTS} (
    call_id VARCHAR, turn BIGINT, kind VARCHAR, category VARCHAR, speaker VARCHAR, start_s DOUBLE, end_s DOUBLE,
    matched VARCHAR, evidence VARCHAR, method VARCHAR, value DOUBLE)"""
_SCANS_DDL = f"""CREATE TABLE IF NOT EXISTS {SCANS} (
    playbook_digest VARCHAR, playbook_source VARCHAR, method VARCHAR, calls BIGINT, turns BIGINT, events BIGINT,
    transcripts_fingerprint VARCHAR, finished_at TIMESTAMPTZ)"""


@dataclass(frozen=True)
class ScanResult:
    """What a scan did."""

    calls: int
    turns: int
    events: int
    skipped: bool


def transcripts_fingerprint(wh: Warehouse) -> str:
    """A cheap summary of the transcripts table that changes when transcripts are (re)loaded."""
    row = _one(wh, "SELECT count(*), count(DISTINCT call_id), coalesce(sum(length(text)), 0), "
                   "coalesce(sum(round(end_s * 1000)), 0) FROM transcripts")
    return ":".join(str(v) for v in row)


def is_current(wh: Warehouse, playbook: Playbook, method: str) -> bool:
    """Whether stored results came from this playbook and method over the current transcripts."""
    if SCANS not in _tables(wh):
        return False
    rows = wh.con.execute(f"SELECT playbook_digest, method, transcripts_fingerprint FROM {SCANS} "
                          "ORDER BY finished_at DESC LIMIT 1").fetchall()
    return bool(rows) and rows[0] == (playbook.digest, method, transcripts_fingerprint(wh))


def scan(
    wh: Warehouse, playbook: Playbook, semantic: SemanticFn | None = None, chunk_calls: int = 5000,
    progress: Callable[[int, int], None] | None = None, force: bool = False,
) -> ScanResult:
    """Detect over every transcript and store events and per-call results (skipped if current)."""
    method = "semantic" if semantic is not None else "lexical"
    if not force and is_current(wh, playbook, method):
        n_calls, n_turns, n_events = _one(
            wh, f"SELECT (SELECT count(*) FROM {CALLS}), (SELECT count(*) FROM transcripts), "
                f"(SELECT count(*) FROM {EVENTS})")
        return ScanResult(int(n_calls), int(n_turns), int(n_events), skipped=True)
    call_ids = [r[0] for r in wh.con.execute("SELECT DISTINCT call_id FROM transcripts ORDER BY 1").fetchall()]
    if not call_ids:
        raise EmptySelectionError("no transcripts in the warehouse: load some with 'closeloop ingest transcripts'")
    detector = Detector(playbook, semantic=semantic)
    wh.con.execute("BEGIN")
    try:
        wh.con.execute(f"DROP TABLE IF EXISTS {EVENTS}")
        wh.con.execute(f"DROP TABLE IF EXISTS {CALLS}")
        wh.con.execute(_EVENTS_DDL)
        n_turns = n_events = 0
        for lo in range(0, len(call_ids), chunk_calls):
            hi = min(lo + chunk_calls, len(call_ids)) - 1
            table = wh.query(
                "SELECT t.call_id, t.turn, t.speaker, t.start_s, t.end_s, t.text, c.call_type FROM transcripts t "
                "LEFT JOIN calls c USING (call_id) WHERE t.call_id BETWEEN ? AND ? ORDER BY t.call_id, t.turn",
                [call_ids[lo], call_ids[hi]],
            )
            types = dict(zip(table.column("call_id").to_pylist(), table.column("call_type").to_pylist(), strict=True))
            batch = batch_from_arrow(table, call_types=types)
            found = detector.run(batch)
            _write(wh, found, detector, first=lo == 0)
            n_turns += batch.n_turns
            n_events += found.n_events
            if progress is not None:
                progress(hi + 1, len(call_ids))
        catalog = pa.Table.from_pylist([f.__dict__ for f in detector.catalog])
        wh.con.register("__conv_catalog", catalog)
        wh.con.execute(f"CREATE OR REPLACE TABLE {FEATURES} AS SELECT * FROM __conv_catalog")
        wh.con.unregister("__conv_catalog")
        wh.con.execute(_SCANS_DDL)
        wh.con.execute(f"DELETE FROM {SCANS}")
        wh.con.execute(f"INSERT INTO {SCANS} VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                       [playbook.digest, playbook.source, method, len(call_ids), n_turns, n_events,
                        transcripts_fingerprint(wh)])
        wh.con.execute("COMMIT")
    except BaseException:
        wh.con.execute("ROLLBACK")
        raise
    return ScanResult(len(call_ids), n_turns, n_events, skipped=False)


def _write(wh: Warehouse, found: Detection, detector: Detector, first: bool) -> None:
    events = pa.table({k: pa.array(v, type=_EVENT_TYPES[k]) for k, v in found.events.items()})
    wh.con.register("__conv_events", events)
    wh.con.execute(f"INSERT INTO {EVENTS} SELECT * FROM __conv_events")
    wh.con.unregister("__conv_events")
    cols: dict[str, Any] = {"call_id": pa.array(found.call_ids, pa.string())}
    for name, values in found.metrics.items():
        cols[name] = pa.array(np.asarray(values, dtype=float))
    for feat in detector.catalog:
        cols[FEATURE_PREFIX + feat.name] = pa.array(np.asarray(found.features[feat.name], dtype=bool))
    wh.con.register("__conv_calls", pa.table(cols))
    if first:
        wh.con.execute(f"CREATE TABLE {CALLS} AS SELECT * FROM __conv_calls")
    else:
        wh.con.execute(f"INSERT INTO {CALLS} BY NAME SELECT * FROM __conv_calls")
    wh.con.unregister("__conv_calls")


_EVENT_TYPES = {
    "call_id": pa.string(), "turn": pa.int64(), "kind": pa.string(), "category": pa.string(), "speaker": pa.string(),
    "start_s": pa.float64(), "end_s": pa.float64(), "matched": pa.string(), "evidence": pa.string(),
    "method": pa.string(), "value": pa.float64(),
}


def _one(wh: Warehouse, sql: str) -> tuple[Any, ...]:
    """The single row of ``sql`` (fetched to the end, so the connection is free again)."""
    return tuple(wh.con.execute(sql).fetchall()[0])


def _tables(wh: Warehouse) -> set[str]:
    return {r[0] for r in wh.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


@dataclass(frozen=True)
class AnalysisFrame:
    """Per-call inputs of pattern → outcome analysis for one call type."""

    call_ids: list[str]
    features: dict[str, np.ndarray]
    success: np.ndarray
    csat: np.ndarray
    center_id: list[str | None]
    source: list[str | None]
    agent_id: list[str | None]
    transcripts_without_call: int


SUCCESS = {"sales": ("sale",), "care": ("resolved",)}


def analysis_frame(wh: Warehouse, playbook: Playbook, call_type: str = "sales",
                   center: str | None = None) -> AnalysisFrame:
    """Answered calls of ``call_type`` that have scan results, with outcome and covariates."""
    if CALLS not in _tables(wh):
        raise EmptySelectionError("no conversation results yet: run 'closeloop patterns' (it scans first)")
    names = [f.name for f in feature_catalog(playbook)]
    have = set(wh.columns(CALLS))
    feats = [n for n in names if FEATURE_PREFIX + n in have]
    sel = ", ".join(f'cc."{FEATURE_PREFIX}{n}"' for n in feats)
    where = "c.call_type = ? AND c.outcome IN ('sale','no_sale','callback','resolved','unresolved','escalated')"
    params: list[Any] = [call_type]
    if center is not None:
        where += " AND c.center_id = ?"
        params.append(center)
    table = wh.query(
        f"SELECT cc.call_id, c.outcome, c.csat, c.center_id, c.agent_id, l.source, {sel} FROM {CALLS} cc "
        f"JOIN calls c USING (call_id) LEFT JOIN leads l ON l.lead_id = c.lead_id WHERE {where} ORDER BY cc.call_id",
        params,
    )
    (orphans,) = _one(wh, f"SELECT count(*) FROM {CALLS} cc ANTI JOIN calls c USING (call_id)")
    if table.num_rows == 0:
        raise EmptySelectionError(f"no answered {call_type} calls with transcripts"
                                  + (f" in center {center}" if center else ""))
    outcome = table.column("outcome").to_pylist()
    csat = np.array([np.nan if v is None else float(v) for v in table.column("csat").to_pylist()])
    return AnalysisFrame(
        call_ids=table.column("call_id").to_pylist(),
        features={n: np.asarray(table.column(FEATURE_PREFIX + n).to_pylist(), dtype=bool) for n in feats},
        success=np.array([o in SUCCESS[call_type] for o in outcome], dtype=bool),
        csat=csat,
        center_id=table.column("center_id").to_pylist(),
        source=table.column("source").to_pylist(),
        agent_id=table.column("agent_id").to_pylist(),
        transcripts_without_call=int(orphans),
    )


def events_for(wh: Warehouse, call_ids: list[str], categories: tuple[str, ...] = ("detector", "timing", "script"),
               ) -> dict[str, list[dict[str, Any]]]:
    """Stored events of the given calls, grouped by call, in time order."""
    if not call_ids or EVENTS not in _tables(wh):
        return {c: [] for c in call_ids}
    wh.con.register("__ids", pa.table({"call_id": call_ids}))
    try:
        rows = wh.query(
            f"SELECT e.* FROM {EVENTS} e JOIN __ids USING (call_id) WHERE e.category IN "
            f"({', '.join('?' for _ in categories)}) ORDER BY e.call_id, e.start_s, e.turn", list(categories),
        ).to_pylist()
    finally:
        wh.con.unregister("__ids")
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in call_ids}
    for r in rows:
        out[r["call_id"]].append(r)
    return out
