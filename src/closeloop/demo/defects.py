"""Rows the demo breaks on purpose, so ingestion has something to reject (and tests can count it).

The demo's canonical files are written as text; before writing, a seeded handful of call
rows is broken in ways real exports break (a malformed timestamp, a CSAT of 7, a care
call with a sales outcome) and a couple of transcript lines are cut short (not valid
JSON). Only calls that have no transcript are broken (abandoned and care calls), so every
transcript still has its call. Lead defects (missing or malformed phones, junk e-mails,
duplicates) are *not* here: they are valid rows, loaded and handled by the leads pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BAD_TIMESTAMP = "2026-02-30 25:61"
BAD_CSAT = "7"
BAD_OUTCOME = "sale"


@dataclass(frozen=True)
class Planted:
    """How many rows of each file were broken, and which."""

    calls: dict[str, list[str]]  # reason -> call ids
    transcripts: list[str]  # call ids whose transcript line was cut

    def counts(self) -> dict[str, int]:
        """Rejects expected per record."""
        return {"calls": sum(len(v) for v in self.calls.values()), "transcripts": len(self.transcripts)}


def _iso(columns: dict[str, pa.ChunkedArray]) -> dict[str, pa.ChunkedArray]:
    """UTC timestamps as ISO 8601 text to the millisecond (``2026-01-05T06:00:00.000Z``).

    Formatted by an in-memory DuckDB: several times faster than Arrow's time-zone-aware
    formatting on hundreds of thousands of values.
    """
    if not columns:
        return {}
    naive = pa.table({k: pc.cast(v, pa.timestamp("ms"), safe=False) for k, v in columns.items()})
    con = duckdb.connect()
    try:
        con.register("__ts", naive)
        sel = ", ".join(f"strftime(\"{k}\", '%Y-%m-%dT%H:%M:%S.%gZ') AS \"{k}\"" for k in columns)
        out = con.sql(f"SELECT {sel} FROM __ts").to_arrow_table()
    finally:
        con.close()
    return {k: out[k] for k in columns}


def as_text(table: pa.Table) -> pa.Table:
    """Every column as text, timestamps ISO 8601 in UTC to the millisecond (``...Z``)."""
    stamps = _iso({n: table[n] for n in table.column_names if pa.types.is_timestamp(table[n].type)})
    cols = {}
    for name in table.column_names:
        col = table[name]
        if name in stamps:
            col = stamps[name]
        elif pa.types.is_floating(col.type):
            col = pc.cast(pc.round(col, 2), pa.string())
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        cols[name] = col
    return pa.table(cols)


def break_calls(calls: pa.Table, rng: np.random.Generator, n_timestamp: int = 3, n_csat: int = 2,
                n_outcome: int = 1) -> tuple[pa.Table, dict[str, list[str]]]:
    """Calls as text with a few rows broken; (table, reason -> call ids)."""
    text = as_text(calls)
    outcome = calls["outcome"].to_numpy(zero_copy_only=False)
    ctype = calls["call_type"].to_numpy(zero_copy_only=False)
    abandoned = np.flatnonzero(outcome == "abandoned")
    care = np.flatnonzero((ctype == "care") & (outcome != "abandoned"))
    ts_rows = np.sort(rng.choice(abandoned, size=min(n_timestamp, len(abandoned)), replace=False))
    rest = rng.choice(care, size=min(n_csat + n_outcome, len(care)), replace=False)
    csat_rows, outcome_rows = np.sort(rest[:n_csat]), np.sort(rest[n_csat:])
    text = _set(text, "offered_at", ts_rows, BAD_TIMESTAMP)
    text = _set(text, "csat", csat_rows, BAD_CSAT)
    text = _set(text, "outcome", outcome_rows, BAD_OUTCOME)
    ids = calls["call_id"].to_numpy(zero_copy_only=False)
    return text, {"offered_at: malformed timestamp": ids[ts_rows].tolist(),
                  "csat: out of range": ids[csat_rows].tolist(),
                  "outcome: sales outcome on a care call": ids[outcome_rows].tolist()}


def _set(table: pa.Table, column: str, rows: np.ndarray, value: str) -> pa.Table:
    values = table[column].to_pylist()
    for r in rows.tolist():
        values[r] = value
    return table.set_column(table.column_names.index(column), column, pa.array(values, pa.string()))


def break_transcripts(lines: list[str], rng: np.random.Generator, n: int = 2) -> tuple[list[str], list[str]]:
    """Transcript lines with ``n`` cut short (invalid JSON); (lines, call ids of the cut ones)."""
    out = list(lines)
    rows = np.sort(rng.choice(len(out), size=min(n, len(out)), replace=False)).tolist()
    cut = []
    for r in rows:
        cut.append(out[r].split('"', 4)[3])  # {"call_id":"<id>",...
        out[r] = out[r][: len(out[r]) // 2]
    return out, cut


def plant(calls: pa.Table, transcripts: list[str], seed: int) -> tuple[pa.Table, list[str], Planted]:
    """Break the demo's files (deterministically for ``seed``)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xBAD]))
    text, call_bad = break_calls(calls, rng)
    lines, cut = break_transcripts(transcripts, rng)
    return text, lines, Planted(call_bad, cut)


__all__ = ["Planted", "as_text", "break_calls", "break_transcripts", "plant"]
