"""Ingest transcripts: JSON Lines (one call per line) or a transcript format adapter.

A transcript is loaded whole or rejected whole: one bad turn (unknown speaker, negative
or overlapping times) rejects the call's transcript, with the turn named in the reason.
A transcript whose call is not in the warehouse is rejected too: it could never be
analysed against an outcome.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from closeloop.ingest import load
from closeloop.ingest.formats import AdapterOutput, PreReject
from closeloop.ingest.load import IngestResult, Progress
from closeloop.ingest.rules import error_expression, lit, raw_select, record_checks, typed_select
from closeloop.ingest.sources import open_lines
from closeloop.ingest.zones import zone_columns
from closeloop.model import TRANSCRIPT_TURNS
from closeloop.warehouse import Warehouse
from closeloop.warehouse.store import quote_ident as q

TURNS = "__turns"

# Per-line problems found before the turns are looked at, in order of precedence.
_LINE_CHECKS = [
    ("NOT json_valid(__raw)", "line: not valid JSON"),
    ("json_type(__raw) <> 'OBJECT'", "line: not a JSON object"),
    ("nullif(trim(__raw ->> 'call_id'), '') IS NULL", "call_id: required value is missing"),
    ("coalesce(json_type(__raw, '$.turns'), '') <> 'ARRAY'", "turns: missing or not a list"),
    ("json_array_length(__raw, '$.turns') = 0", "turns: transcript has no turns"),
]


def _lines_to_turns_sql(lines_sql: str) -> str:
    """SQL with one row per turn of every well-formed line, plus one row per bad line."""
    line_err = "CASE " + " ".join(f"WHEN {cond} THEN {lit(msg)}" for cond, msg in _LINE_CHECKS) + " ELSE '' END"
    return f"""
        WITH l AS (SELECT __line, __raw, {line_err} AS __line_err FROM ({lines_sql})),
        t AS (
            SELECT __line, __raw, __line_err,
                   unnest(CASE WHEN __line_err = '' THEN json_extract(__raw, '$.turns[*]') END) AS j,
                   unnest(CASE WHEN __line_err = '' THEN range(CAST(json_array_length(__raw, '$.turns') AS BIGINT))
                          END) AS __ordinal
            FROM l
        )
        SELECT __line, __raw, __line_err, __ordinal, __raw ->> 'call_id' AS call_id,
               CAST(__ordinal AS VARCHAR) AS turn, j ->> 'speaker' AS speaker,
               coalesce(j ->> 'start', j ->> 'start_s') AS start_s, coalesce(j ->> 'end', j ->> 'end_s') AS end_s,
               j ->> 'text' AS text
        FROM t WHERE __line_err = ''
        UNION ALL
        SELECT __line, __raw, __line_err, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM l WHERE __line_err <> ''
    """


def _stage_turns(wh: Warehouse, turns_sql: str) -> None:
    """Type every turn and find the first problem of each transcript (line)."""
    schema = TRANSCRIPT_TURNS
    checks = [c for c in record_checks(schema) if c.field != "turn"]
    turn_err = error_expression(checks)
    zone = zone_columns(wh.con, ["UTC"], "'UTC'")
    raw = f"SELECT __line, __raw, __line_err, __ordinal, 'UTC' AS __tz, {zone}, {raw_select(schema)} FROM ({turns_sql})"
    wh.con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {TURNS} AS
        WITH typed AS (
            {typed_select(schema, raw)}
        ),
        checked AS (
            SELECT *,
                CASE WHEN __line_err <> '' THEN __line_err
                     WHEN {turn_err} <> '' THEN 'turn ' || __ordinal || ': ' || {turn_err}
                     WHEN __v_end_s < __v_start_s THEN 'turn ' || __ordinal || ': end_s: ends before it starts'
                     WHEN __v_start_s < max(__v_end_s) OVER (
                         PARTITION BY __line, __v_speaker ORDER BY __v_start_s, __ordinal
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                     THEN 'turn ' || __ordinal || ': start_s: overlaps an earlier turn of the same speaker'
                     ELSE '' END AS __turn_err
            FROM typed
        )
        SELECT *, coalesce(arg_min(__turn_err, CASE WHEN __turn_err <> '' THEN coalesce(__ordinal, -1) END)
                           OVER (PARTITION BY __line), '') AS __err
        FROM checked""")
    wh.con.execute(f"""
        UPDATE {TURNS} SET __err = 'call_id: no call ' || __v_call_id || ' in the warehouse (ingest its calls first)'
        WHERE __err = '' AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.call_id = {TURNS}.__v_call_id)""")


def _reject_repeated_calls(wh: Warehouse) -> None:
    """Two lines with the same call_id: the later line wins, the earlier is rejected."""
    wh.con.execute(f"""
        UPDATE {TURNS} SET __err = 'call_id: transcript repeated in this file; line ' || k.kept || ' kept'
        FROM (SELECT __v_call_id AS c, max(__line) AS kept FROM {TURNS} WHERE __err = '' GROUP BY 1) AS k
        WHERE {TURNS}.__err = '' AND {TURNS}.__v_call_id = k.c AND {TURNS}.__line <> k.kept""")


def _load_turns(wh: Warehouse, source_name: str, fmt: str, pre: list[PreReject]) -> IngestResult:
    con = wh.con
    incoming = f"SELECT DISTINCT __v_call_id FROM {TURNS} WHERE __err = ''"
    replaced = con.execute(
        f"SELECT count(DISTINCT call_id) FROM transcripts WHERE call_id IN ({incoming})"
    ).fetchone()[0]  # type: ignore[index]
    con.execute(f"DELETE FROM transcripts WHERE call_id IN ({incoming})")
    cols = ", ".join(q(f.name) for f in TRANSCRIPT_TURNS.fields)
    con.execute(f"""
        INSERT INTO transcripts ({cols})
        SELECT __v_call_id, row_number() OVER (PARTITION BY __line ORDER BY __v_start_s, __ordinal) - 1,
               __v_speaker, __v_start_s, __v_end_s, __v_text
        FROM {TURNS} WHERE __err = ''""")
    ingest_id = load.next_ingest_id(con)
    load.forget_earlier_rejects(con, "transcripts", source_name)
    con.execute(f"""
        INSERT INTO rejects
        SELECT {ingest_id}, 'transcripts', {lit(source_name)}, __line,
               split_part(regexp_replace(__err, '^turn [0-9]+: ', ''), ':', 1), __err, any_value(__raw)
        FROM {TURNS} WHERE __err <> '' GROUP BY __line, __err""")
    load.write_pre_rejects(con, ingest_id, "transcripts", source_name, pre)
    loaded, rejected = con.execute(
        f"SELECT count(DISTINCT __line) FILTER (WHERE __err = ''), count(DISTINCT __line) FILTER (WHERE __err <> '') "
        f"FROM {TURNS}"
    ).fetchone()  # type: ignore[misc]
    res = IngestResult("transcripts", source_name, fmt, int(loaded) + int(rejected) + len(pre), int(loaded),
                       int(rejected) + len(pre), int(replaced or 0), ingest_id=ingest_id)
    res.top_reasons = load.top_reasons(con, ingest_id)
    load.log_ingest(con, res)
    con.execute(f"DROP TABLE IF EXISTS {TURNS}")
    return res


def ingest_transcript_lines(
    wh: Warehouse, path: Path, progress: Progress = load._noop
) -> IngestResult:
    """Ingest a canonical transcripts JSON Lines file."""
    progress("reading")
    lines_sql = open_lines(wh.con, path)

    def work() -> IngestResult:
        progress("validating")
        _stage_turns(wh, _lines_to_turns_sql(lines_sql))
        _reject_repeated_calls(wh)
        progress("loading")
        res = _load_turns(wh, str(path), "jsonl", [])
        progress("committing")
        return res

    return load.in_transaction(wh, work, str(path))


def ingest_transcript_adapter(
    wh: Warehouse, out: AdapterOutput, source_name: str, fmt: str, progress: Progress = load._noop
) -> IngestResult:
    """Ingest turns a transcript format adapter produced (one ``__line`` per transcript)."""
    table = out.table
    needed = {"__line", "__raw", "call_id", "speaker", "start_s", "end_s", "text"}
    missing = needed - set(table.column_names)
    if missing:
        raise ValueError(f"adapter {fmt} returned no column(s) {sorted(missing)}")
    if "__ordinal" not in table.column_names:
        table = table.append_column("__ordinal", pa.array(range(table.num_rows), pa.int64()))
    wh.con.register("__adapter_turns", table)
    turns_sql = (
        "SELECT __line, __raw, '' AS __line_err, __ordinal, CAST(call_id AS VARCHAR) AS call_id, "
        "CAST(__ordinal AS VARCHAR) AS turn, CAST(speaker AS VARCHAR) AS speaker, CAST(start_s AS VARCHAR) AS start_s, "
        "CAST(end_s AS VARCHAR) AS end_s, CAST(text AS VARCHAR) AS text FROM __adapter_turns"
    )

    def work() -> IngestResult:
        progress("validating")
        _stage_turns(wh, turns_sql)
        _reject_repeated_calls(wh)
        progress("loading")
        res = _load_turns(wh, source_name, fmt, out.rejects)
        progress("committing")
        return res

    try:
        return load.in_transaction(wh, work)
    finally:
        wh.con.unregister("__adapter_turns")
