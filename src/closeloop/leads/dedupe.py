"""Deduplication: the same person across sources and spellings, found by probabilistic linkage.

Pipeline (all set-based SQL in an in-memory DuckDB, no files; the maths in :mod:`linkage`):

1. **Blocking** — candidate pairs are records sharing a normalised phone, a normalised e-mail,
   or a name *and* company. Blocks larger than ``max_block`` (a switchboard number, a shared
   ``info@`` address) are skipped and counted, so they cannot blow up into millions of pairs.
2. **Comparison** — each pair gets an agreement level per field (exact / similar by
   Jaro–Winkler / different / missing).
3. **Training** — u from random pairs, m by EM per blocking rule, prior by fixed point
   (:func:`closeloop.leads.linkage.fit_linkage`).
4. **Scoring and clustering** — each pair's match probability; pairs at or above
   ``threshold`` are linked and connected components become clusters.
5. **Survivorship** — one merged record per cluster, with lineage back to every source row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from closeloop.errors import InputError
from closeloop.leads.clean import COMPLETENESS_WEIGHTS, ENRICHMENT, READY
from closeloop.leads.linkage import LinkageModel, fit_linkage

COMPARISONS = ("phone", "email", "name", "company", "country")
N_LEVELS = (2, 3, 4, 3, 2)
# Comparisons whose top level is exact equality of this recs column (u from value frequencies).
EXACT_COLUMNS = {0: "phone", 1: "email", 2: "name_key", 3: "company_key"}
# Exact agreement on these is weighted by how common the value is (term frequency).
TF_COLUMNS = {2: "name_key", 3: "company_key"}

# Level expressions over l.* and r.* (NULL when either side is missing -> -1).
_LEVELS = {
    "phone": "CASE WHEN l.phone IS NULL OR r.phone IS NULL THEN -1 WHEN l.phone = r.phone THEN 1 ELSE 0 END",
    "email": """CASE WHEN l.email IS NULL OR r.email IS NULL THEN -1 WHEN l.email = r.email THEN 2
        WHEN l.email_local = r.email_local THEN 1 ELSE 0 END""",
    "name": """CASE WHEN l.name_key IS NULL OR r.name_key IS NULL THEN -1 WHEN l.name_key = r.name_key THEN 3
        WHEN jaro_winkler_similarity(l.name_key, r.name_key) >= 0.92 THEN 2
        WHEN jaro_winkler_similarity(l.name_key, r.name_key) >= 0.80 OR l.name_sig = r.name_sig THEN 1 ELSE 0 END""",
    "company": """CASE WHEN l.company_key IS NULL OR r.company_key IS NULL THEN -1
        WHEN l.company_key = r.company_key THEN 2
        WHEN jaro_winkler_similarity(l.company_key, r.company_key) >= 0.9 THEN 1 ELSE 0 END""",
    "country": "CASE WHEN l.country IS NULL OR r.country IS NULL THEN -1 WHEN l.country = r.country THEN 1 ELSE 0 END",
}
# Blocking rules: name -> (key expression, comparisons it forces to agree).
BLOCKING = {
    "phone": ("phone", [0]),
    "email": ("email", [1]),
    # Same company, and the first name with the last name's initial, or the reverse: a typo or an
    # initial in one part of the name still meets its duplicate in one of the two.
    "company_first": ("company_key || '|' || split_part(name_key, ' ', 1) || '|' "
                      "|| left(split_part(name_key, ' ', -1), 1)", [3]),
    "company_last": ("company_key || '|' || left(name_key, 1) || '|' || split_part(name_key, ' ', -1)", [3]),
}


@dataclass(frozen=True)
class DedupeResult:
    """What deduplication produced, and the figures a person checks it by."""

    clusters: pa.Table  # lead_id, cluster_id, is_master, match_probability, source
    merged: pa.Table  # one row per cluster, survivorship applied, lead_ids lineage
    pairs: pa.Table  # lead_id_l, lead_id_r, match_probability, blocked_by (pairs >= min(threshold, 0.5))
    model: LinkageModel
    stats: dict[str, float]


def dedupe_leads(cleaned: pa.Table, threshold: float = 0.5, max_block: int = 50, random_pairs: int = 1_000_000,
                 seed: int = 0, threads: int | None = None, required: tuple[str, ...] = ("phone",)) -> DedupeResult:
    """Find duplicate leads in a cleaned table (output of :func:`closeloop.leads.clean.clean_leads`)."""
    if not 0 < threshold < 1:
        raise InputError(f"threshold must be between 0 and 1, got {threshold}")
    needed = {"lead_id", "created_at", "source", "phone", "email", "name_key", "company_key", "country"}
    lacking = needed - set(cleaned.column_names)
    if lacking:
        raise InputError(f"cleaned leads lack columns {sorted(lacking)}: run 'closeloop leads clean' first")
    con = duckdb.connect(":memory:")
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        return _run(con, cleaned, threshold, max_block, random_pairs, seed, required)
    finally:
        con.close()


def _row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The one row of an aggregate query (DuckDB's stubs allow None; without GROUP BY there is always a row)."""
    row = con.execute(sql).fetchone()
    assert row is not None, sql
    return row


def _run(con: duckdb.DuckDBPyConnection, cleaned: pa.Table, threshold: float, max_block: int, random_pairs: int,
         seed: int, required: tuple[str, ...]) -> DedupeResult:
    con.register("cleaned_in", cleaned)
    con.execute("""
        CREATE TABLE recs AS SELECT (row_number() OVER () - 1)::INTEGER AS rid, *,
            split_part(email, '@', 1) AS email_local,
            list_sort(string_split(name_key, ' '))[1] || list_sort(string_split(name_key, ' '))[-1] AS name_sig
        FROM cleaned_in""")
    n = _row(con, "SELECT count(*) FROM recs")[0]
    skipped = _candidate_pairs(con, max_block)
    level_sql = ", ".join(f"({_LEVELS[c]})::TINYINT AS g_{c}" for c in COMPARISONS)
    con.execute(f"""CREATE TABLE cmp AS SELECT p.*, {level_sql}
        FROM pairs p JOIN recs l ON l.rid = p.rid_l JOIN recs r ON r.rid = p.rid_r""")
    model = _train(con, n, random_pairs, seed)
    _score_pairs(con, model, n)
    edges = con.execute(f"SELECT rid_l, rid_r FROM scored WHERE match_probability >= {threshold}").fetchnumpy()
    labels = _components(n, edges["rid_l"], edges["rid_r"])
    con.register("labels", pa.table({"rid": np.arange(n, dtype=np.int32), "component": labels}))
    clusters = _clusters(con, threshold)
    merged = _merged(con, required)
    pairs_out = con.sql(f"""SELECT l.lead_id AS lead_id_l, r.lead_id AS lead_id_r, s.match_probability,
            concat_ws(',', {", ".join(f"CASE WHEN by_{b} THEN '{b}' END" for b in BLOCKING)}) AS blocked_by
        FROM scored s JOIN recs l ON l.rid = s.rid_l JOIN recs r ON r.rid = s.rid_r
        WHERE s.match_probability >= {min(threshold, 0.5)} ORDER BY s.match_probability DESC""").to_arrow_table()
    n_pairs = _row(con, "SELECT count(*) FROM cmp")[0]
    stats = {"records": n, "candidate_pairs": n_pairs, "linked_pairs": len(edges["rid_l"]),
             "clusters": merged.num_rows, "duplicates_merged": n - merged.num_rows,
             "oversized_blocks_skipped": skipped, "prior": model.prior, "threshold": threshold}
    return DedupeResult(clusters, merged, pairs_out, model, stats)


def _candidate_pairs(con: duckdb.DuckDBPyConnection, max_block: int) -> int:
    """Union of within-block pairs per rule, flagged by the rules that found them."""
    parts, skipped = [], 0
    for rule, (key, _) in BLOCKING.items():
        con.execute(f"""CREATE OR REPLACE TEMP TABLE blk_{rule} AS
            SELECT rid, {key} AS k, count(*) OVER (PARTITION BY {key}) AS size FROM recs WHERE {key} IS NOT NULL""")
        skipped += _row(con, f"SELECT count(DISTINCT k) FROM blk_{rule} WHERE size > {max_block}")[0]
        parts.append(f"""SELECT a.rid AS rid_l, b.rid AS rid_r, '{rule}' AS rule FROM blk_{rule} a
            JOIN blk_{rule} b ON a.k = b.k AND a.rid < b.rid WHERE a.size BETWEEN 2 AND {max_block}""")
    flags = ", ".join(f"bool_or(rule = '{rule}') AS by_{rule}" for rule in BLOCKING)
    con.execute(f"""CREATE TABLE pairs AS SELECT rid_l, rid_r, {flags}
        FROM ({' UNION ALL '.join(parts)}) GROUP BY rid_l, rid_r""")
    return int(skipped)


def _train(con: duckdb.DuckDBPyConnection, n: int, random_pairs: int, seed: int) -> LinkageModel:
    """u from random pairs, m by EM per blocking rule, prior by fixed point."""
    rng = np.random.default_rng(seed)
    k = int(min(random_pairs, max(n * (n - 1) // 2, 1)))
    a, b = rng.integers(0, max(n, 1), k), rng.integers(0, max(n, 1), k)
    keep = a != b
    con.register("rand_pairs", pa.table({"rid_l": a[keep].astype(np.int32), "rid_r": b[keep].astype(np.int32)}))
    level_sql = ", ".join(f"({_LEVELS[c]})::TINYINT AS g_{c}" for c in COMPARISONS)
    pat_cols = ", ".join(f"g_{c}" for c in COMPARISONS)
    rnd = _patterns(con, f"""SELECT {pat_cols}, count(*) AS n FROM (SELECT {level_sql} FROM rand_pairs p
        JOIN recs l ON l.rid = p.rid_l JOIN recs r ON r.rid = p.rid_r) GROUP BY ALL""")
    sessions = []
    for rule, (_, forced) in BLOCKING.items():
        flag = f"by_{rule}"
        pats = _patterns(con, f"SELECT {pat_cols}, count(*) AS n FROM cmp WHERE {flag} GROUP BY ALL")
        active = [i for i in range(len(COMPARISONS)) if i not in forced]
        sessions.append((pats[0], pats[1], active))
    cand = _patterns(con, f"SELECT {pat_cols}, count(*) AS n FROM cmp GROUP BY ALL")
    exact_u = {k: _share_equal(con, col, n) for k, col in EXACT_COLUMNS.items()}
    return fit_linkage(COMPARISONS, N_LEVELS, rnd[0], rnd[1], sessions, cand[0], cand[1], n * (n - 1) / 2, exact_u)


def _share_equal(con: duckdb.DuckDBPyConnection, column: str, n: int) -> float:
    """Probability that two random records (both with a value) share ``column`` exactly."""
    got = _row(con, f"""SELECT sum(c * (c - 1))::DOUBLE, sum(c)::DOUBLE FROM
        (SELECT count(*) AS c FROM recs WHERE {column} IS NOT NULL GROUP BY {column})""")
    pairs, total = (got[0] or 0.0), (got[1] or 0.0)
    return pairs / (total * (total - 1)) if total > 1 else 1.0 / max(n, 2)


def _score_pairs(con: duckdb.DuckDBPyConnection, model: LinkageModel, n: int) -> None:
    """Match weight per pair: pattern Bayes factor, plus term-frequency adjustment, plus prior."""
    pat_cols = ", ".join(f"g_{c}" for c in COMPARISONS)
    pats = _patterns(con, f"SELECT {pat_cols}, count(*) AS n FROM cmp GROUP BY ALL")[0]
    con.register("pat_bf", pa.table({**{f"g_{c}": pats[:, k].astype(np.int8) for k, c in enumerate(COMPARISONS)},
                                     "bf": model.bayes_factors(pats)}))
    tf_terms, tf_joins = [], []
    for k, col in TF_COLUMNS.items():
        comp, top = COMPARISONS[k], N_LEVELS[k] - 1
        u_top = float(model.u[k][top])
        con.execute(f"""CREATE OR REPLACE TEMP TABLE tf_{comp} AS SELECT {col} AS v,
            greatest(count(*) / sum(count(*)) OVER (), 1e-12) AS tf FROM recs WHERE {col} IS NOT NULL GROUP BY {col}""")
        tf_joins.append(f"LEFT JOIN tf_{comp} ON c.g_{comp} = {top} AND tf_{comp}.v = l.{col}")
        tf_terms.append(f"coalesce(log2({u_top} / tf_{comp}.tf), 0)")  # greatest() would skip NULLs
    prior_logit = float(np.log2(model.prior / (1 - model.prior)))
    tf_sum = " + ".join(tf_terms) or "0"
    con.execute(f"""CREATE TABLE scored AS
        SELECT c.*, 1 / (1 + pow(2, -least(greatest(w, -60), 60))) AS match_probability
        FROM (SELECT c.*, pb.bf + {tf_sum} + {prior_logit} AS w
              FROM cmp c JOIN pat_bf pb USING ({pat_cols}) JOIN recs l ON l.rid = c.rid_l {' '.join(tf_joins)}) c""")


def _patterns(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[np.ndarray, np.ndarray]:
    data = con.execute(sql).fetchnumpy()
    if not len(data["n"]):
        return np.zeros((0, len(COMPARISONS)), np.int64), np.zeros(0)
    pats = np.stack([np.asarray(data[f"g_{c}"], dtype=np.int64) for c in COMPARISONS], axis=1)
    return pats, np.asarray(data["n"], dtype=np.float64)


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of the link graph (each record its own component if unlinked)."""
    graph = coo_matrix((np.ones(len(left), np.int8), (np.asarray(left), np.asarray(right))), shape=(n, n))
    array: np.ndarray = connected_components(graph, directed=False)[1].astype(np.int64)
    return array


def _clusters(con: duckdb.DuckDBPyConnection, threshold: float) -> pa.Table:
    """Lineage: every source row with its cluster, whether it is the master, its best link."""
    con.execute(f"""CREATE TABLE members AS
        WITH best AS (
            SELECT rid, max(p) AS p FROM (SELECT rid_l AS rid, match_probability AS p FROM scored
                  WHERE match_probability >= {threshold}
                UNION ALL SELECT rid_r, match_probability FROM scored WHERE match_probability >= {threshold})
            GROUP BY rid)
        SELECT r.rid, r.lead_id, r.source, r.created_at, lb.component, best.p AS match_probability,
            first_value(r.lead_id) OVER (PARTITION BY lb.component ORDER BY r.created_at, r.lead_id) AS cluster_id
        FROM recs r JOIN labels lb USING (rid) LEFT JOIN best USING (rid)""")
    return con.sql("""SELECT lead_id, cluster_id, lead_id = cluster_id AS is_master, match_probability, source
        FROM members ORDER BY cluster_id, created_at, lead_id""").to_arrow_table()


def _pick(field: str, tiebreak: str) -> str:
    """Most frequent non-missing value in the cluster; ties broken by ``tiebreak``."""
    return f"""(SELECT cluster_id, arg_max({field}, (cnt, {tiebreak})) AS {field} FROM (
            SELECT m.cluster_id, r.{field}, count(*) AS cnt, max(r.created_at) AS newest,
                max(length(r.{field})) AS longest
            FROM multi m JOIN recs r USING (rid) WHERE r.{field} IS NOT NULL GROUP BY ALL) GROUP BY cluster_id)"""


# Survivorship: contact details by majority then newest; names by majority then longest.
SURVIVORSHIP = {"phone": "newest", "email": "newest", "name": "longest", "company": "longest", "country": "newest"}


def _merged(con: duckdb.DuckDBPyConnection, required: tuple[str, ...]) -> pa.Table:
    """Survivorship: one record per cluster (rules in docs/leads.md); singletons pass straight through."""
    con.execute("""CREATE TABLE multi AS SELECT * FROM members
        WHERE cluster_id IN (SELECT cluster_id FROM members GROUP BY cluster_id HAVING count(*) > 1)""")
    joins = " ".join(f"LEFT JOIN {_pick(f, tb)} AS t_{f} USING (cluster_id)" for f, tb in SURVIVORSHIP.items())
    picked = ", ".join(f"t_{f}.{f}" for f in SURVIVORSHIP)
    con.execute(f"""CREATE TABLE merged AS
        SELECT r.lead_id AS cluster_id, r.created_at, r.created_at AS last_seen_at, r.source, r.source AS sources,
            1::BIGINT AS n_records, r.lead_id AS lead_ids, NULL::DOUBLE AS cluster_probability, r.product,
            r.phone, r.email, r.name, r.company, r.country
        FROM recs r ANTI JOIN multi USING (rid)
        UNION ALL BY NAME
        SELECT g.*, {picked} FROM (
            SELECT mb.cluster_id, min(r.created_at) AS created_at, max(r.created_at) AS last_seen_at,
                arg_min(r.source, r.created_at) AS source,
                string_agg(DISTINCT r.source, ',' ORDER BY r.source) AS sources, count(*) AS n_records,
                array_to_string(list(r.lead_id ORDER BY r.created_at, r.lead_id), ',') AS lead_ids,
                min(mb.match_probability) AS cluster_probability,
                arg_max(r.product, r.created_at) FILTER (WHERE r.product IS NOT NULL) AS product
            FROM multi mb JOIN recs r USING (rid) GROUP BY mb.cluster_id) g {joins}""")
    completeness = " + ".join(f"{w} * (m.{f} IS NOT NULL)::INT" for f, w in COMPLETENESS_WEIGHTS.items())
    missing = " , ".join(f"CASE WHEN m.{f} IS NULL THEN '{f}' END" for f in required) or "NULL"
    return con.sql(f"""SELECT cluster_id AS lead_id, created_at, last_seen_at, source, sources, name, phone, email,
            company, product, country, n_records, cluster_probability,
            round({completeness}, 4)::DOUBLE AS completeness, nullif(concat_ws(',', {missing}), '') AS missing,
            CASE WHEN nullif(concat_ws(',', {missing}), '') IS NULL THEN '{READY}' ELSE '{ENRICHMENT}' END AS status,
            lead_ids
        FROM merged m ORDER BY created_at, lead_id""").to_arrow_table()
