"""Storing the per-call facts: the DDL and the transaction, kept out of the metric core.

:mod:`closeloop.metrics.facts` defines *what* a call's facts are (one Ibis expression) and
when stored ones are current; this adapter writes them: ``call_facts`` and its meta row in
one transaction, so a crash mid-build leaves the previous facts (or none) — never half.
"""

from __future__ import annotations

from typing import Any

import ibis

from closeloop.errors import map_errors
from closeloop.metrics.facts import FACTS_TABLE, META_TABLE, fact_expr, meta_row
from closeloop.metrics.frame import Conventions, Tables


def build_facts(backend: Any, conv: Conventions) -> None:
    """(Re)build ``call_facts`` and its meta row from the warehouse as it is now (one transaction).

    ``backend`` is the Ibis DuckDB backend of a warehouse opened for writing.
    """
    tables = Tables.from_backend(backend, facts=False)
    sql = ibis.to_sql(fact_expr(tables, conv), dialect="duckdb")
    con = backend.con
    meta = meta_row(backend, conv, orphans=False)
    with map_errors("building call facts"):
        con.execute("SET preserve_insertion_order = false")  # lets the writer run in parallel, in less memory
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(f'CREATE OR REPLACE TABLE "{FACTS_TABLE}" AS {sql}')
            orphans = con.execute(f'SELECT count(lead_orphan) > 0 FROM "{FACTS_TABLE}"').fetchall()[0][0]
            con.execute(f'CREATE OR REPLACE TABLE "{META_TABLE}" (version INTEGER, state VARCHAR, '
                        'signature VARCHAR, orphans BOOLEAN, built_at TIMESTAMPTZ)')
            con.execute(f'INSERT INTO "{META_TABLE}" VALUES (?, ?, ?, ?, now())',
                        [meta["version"], meta["state"], meta["signature"], orphans])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.execute("RESET preserve_insertion_order")


__all__ = ["build_facts"]
