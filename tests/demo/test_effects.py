"""Each planted effect is in the warehouse, measured with plain SQL (independent of closeloop.metrics).

The thresholds are the sizes docs/demo.md promises for the default effects, loosened for a
medium run (6 weeks, half the agents): a test fails if an effect disappears, flips or
shrinks to noise.
"""

from __future__ import annotations

import duckdb

ANSWERED_SALES = "SELECT * FROM calls WHERE call_type = 'sales' AND answered_at IS NOT NULL"


def _rate(con: duckdb.DuckDBPyConnection, sql: str) -> dict[object, tuple[int, float]]:
    """key -> (calls, sale rate) for a query returning (key, is_sale)."""
    rows = con.execute(f"SELECT k, count(*), avg(s::INT) FROM ({sql}) GROUP BY k").fetchall()
    return {k: (n, r) for k, n, r in rows}


def test_offshore_closes_well_below_in_house_by_mix_and_performance(medium_db: duckdb.DuckDBPyConnection) -> None:
    by_vendor = _rate(medium_db, f"SELECT v.vendor AS k, c.outcome = 'sale' AS s FROM ({ANSWERED_SALES}) c "
                                 "JOIN centers v USING (center_id)")
    assert by_vendor["harborline"][1] < 0.6 * by_vendor["in-house"][1]
    # mix: the offshore vendor's sales calls are mostly purchased-list leads, in-house's are not
    share = dict(medium_db.execute(f"""
        SELECT v.vendor, avg((l.source = 'purchased_list')::INT) FROM ({ANSWERED_SALES}) c
        JOIN centers v USING (center_id) JOIN leads l USING (lead_id) GROUP BY 1""").fetchall())
    assert share["harborline"] > 0.5 and share["harborline"] > 2 * share["in-house"]
    # performance: on the same kind of lead (web forms, inbound) the offshore vendor still closes less ...
    same = _rate(medium_db, f"""SELECT v.vendor AS k, c.outcome = 'sale' AS s FROM ({ANSWERED_SALES}) c
        JOIN centers v USING (center_id) JOIN leads l USING (lead_id)
        WHERE l.source = 'web_form' AND c.direction = 'inbound'""")
    assert same["harborline"][1] < same["in-house"][1] - 0.05
    # ... and its transcripts have far more confusion moments, which lose sales
    confused = _confusion(medium_db)
    conf_rate = dict(medium_db.execute(f"""
        SELECT v.vendor, avg((t.call_id IN (SELECT call_id FROM ({confused})))::INT)
        FROM (SELECT DISTINCT call_id FROM transcripts) t JOIN calls c USING (call_id) JOIN centers v USING (center_id)
        GROUP BY 1""").fetchall())
    assert conf_rate["harborline"] > 2 * conf_rate["in-house"]
    lost = _rate(medium_db, f"""SELECT c.call_id IN (SELECT call_id FROM ({confused})) AS k, c.outcome = 'sale' AS s
        FROM calls c WHERE c.call_id IN (SELECT call_id FROM transcripts)""")
    assert lost[True][1] < lost[False][1] - 0.06


def _confusion(con: duckdb.DuckDBPyConnection) -> str:
    return ("SELECT DISTINCT call_id FROM transcripts WHERE speaker = 'customer' AND (text ILIKE '%understand%' "
            "OR text ILIKE '%confused%' OR text ILIKE '%lost me%')")


def test_sales_after_a_care_call_close_less_and_recover(medium_db: duckdb.DuckDBPyConnection) -> None:
    rows = _rate(medium_db, """
        WITH a AS (SELECT call_id, agent_id, call_type, outcome, answered_at FROM calls
                   WHERE answered_at IS NOT NULL AND center_id = 'co-med'),
        o AS (SELECT *, sum((call_type = 'care')::INT) OVER w AS cares,
                     row_number() OVER w AS rn FROM a WINDOW w AS (PARTITION BY agent_id ORDER BY answered_at)),
        g AS (SELECT *, rn - max(CASE WHEN call_type = 'care' THEN rn END) OVER
                     (PARTITION BY agent_id ORDER BY answered_at ROWS UNBOUNDED PRECEDING) AS since FROM o)
        SELECT CASE WHEN since = 1 THEN 'first' WHEN since <= 3 THEN 'warming' ELSE 'warm' END AS k,
               outcome = 'sale' AS s
        FROM g WHERE call_type = 'sales'""")
    (n_first, first), (_, warming), (_, warm) = rows["first"], rows["warming"], rows["warm"]
    assert n_first >= 80
    assert first < warm - 0.08  # the first sales call after a care call closes much less ...
    assert first < warming < warm + 0.02  # ... and the agent recovers over the next calls


def test_value_statement_competitors_and_unanswered_objections_lose_sales(
    medium_db: duckdb.DuckDBPyConnection,
) -> None:
    flags = medium_db.execute("""
        SELECT c.outcome = 'sale' AS sale,
               bool_or(t.speaker = 'agent' AND (t.text ILIKE '%main benefit%' OR t.text ILIKE '%customers like you%'))
                   AS value,
               bool_or(t.text ILIKE '%Vantel%' OR t.text ILIKE '%Brightwave%' OR t.text ILIKE '%Orbis%') AS competitor,
               bool_or(t.speaker = 'customer' AND (t.text ILIKE '%expensive%' OR t.text ILIKE '%afford%'
                   OR t.text ILIKE '%pricey%')) AS objection,
               bool_or(t.speaker = 'agent' AND (t.text ILIKE 'I understand.%' OR t.text ILIKE '%fair question%'))
                   AS answered
        FROM transcripts t JOIN calls c USING (call_id) GROUP BY c.call_id, c.outcome""").fetchall()

    def rate(rows: list[tuple[bool, ...]]) -> float:
        return sum(r[0] for r in rows) / len(rows)

    with_value = [r for r in flags if r[1]]
    skipped = [r for r in flags if not r[1]]
    assert 0.1 < len(skipped) / len(flags) < 0.35
    assert rate(skipped) < rate(with_value) - 0.06
    assert rate([r for r in flags if r[2]]) < rate([r for r in flags if not r[2]]) - 0.04
    unanswered = [r for r in flags if r[3] and not r[4]]
    answered = [r for r in flags if r[3] and r[4]]
    assert len(unanswered) > 200 and len(answered) > 200
    assert rate(unanswered) < rate(answered) - 0.04


def test_cherry_pickers_close_high_on_few_leads(medium_db: duckdb.DuckDBPyConnection) -> None:
    rows = medium_db.execute("""
        SELECT agent_id, count(*) AS n, avg((outcome = 'sale')::INT) AS cr
        FROM calls WHERE queue = 'presales_us' AND answered_at IS NOT NULL GROUP BY 1""").fetchall()
    picks = [r for r in rows if r[0].startswith("US-C")]
    peers = sorted((r for r in rows if not r[0].startswith("US-C")), key=lambda r: r[2])
    median_n = sorted(r[1] for r in peers)[len(peers) // 2]
    assert picks
    for _, n, cr in picks:
        assert n < 0.6 * median_n
        assert cr > peers[-1][2]  # above every peer


def test_offshore_misses_service_level_in_some_weeks(medium_db: duckdb.DuckDBPyConnection) -> None:
    weeks = medium_db.execute("""
        SELECT v.vendor, date_trunc('week', timezone('America/Chicago', c.offered_at)) AS w, count(*) AS n,
               avg((c.answered_at IS NOT NULL AND epoch(c.answered_at) - epoch(c.offered_at) <= 20)::INT) AS sl
        FROM calls c JOIN centers v USING (center_id)
        WHERE c.direction = 'inbound'
          AND NOT (c.answered_at IS NULL AND epoch(c.ended_at) - epoch(c.offered_at) < 5)
        GROUP BY 1, 2 HAVING count(*) >= 500""").fetchall()
    offshore = [sl for vendor, _, _, sl in weeks if vendor == "harborline"]
    in_house = [sl for vendor, _, _, sl in weeks if vendor == "in-house"]
    assert len(offshore) >= 5
    assert any(sl < 0.80 for sl in offshore)
    assert all(sl >= 0.85 for sl in in_house)


def test_followed_up_within_a_day_buy_more(medium_db: duckdb.DuckDBPyConnection) -> None:
    rows = _rate(medium_db, """
        WITH s AS (SELECT * FROM calls WHERE call_type = 'sales' AND lead_id IS NOT NULL),
        first_lost AS (
            SELECT lead_id, min(ended_at) AS lost_at FROM s
            WHERE answered_at IS NOT NULL AND outcome IN ('no_sale', 'callback')
              AND lead_id NOT IN (SELECT lead_id FROM s WHERE outcome = 'sale' AND queue <> 'followup_us')
            GROUP BY 1),
        nxt AS (
            SELECT f.lead_id, f.lost_at, min(s.offered_at) AS next_at, bool_or(s.outcome = 'sale') AS bought
            FROM first_lost f LEFT JOIN s ON s.lead_id = f.lead_id AND s.offered_at > f.lost_at
            GROUP BY 1, 2)
        SELECT CASE WHEN next_at IS NULL THEN 'never'
                    WHEN epoch(next_at) - epoch(lost_at) <= 86400 THEN 'within a day' ELSE 'later' END AS k,
               coalesce(bought, false) AS s
        FROM nxt WHERE lost_at < (SELECT max(offered_at) FROM calls) - INTERVAL 12 DAY""")
    (n_soon, soon), (n_later, later), (_, never) = rows["within a day"], rows["later"], rows["never"]
    assert n_soon > 300 and n_later > 300
    assert soon > 1.5 * later > 0
    assert later > never
