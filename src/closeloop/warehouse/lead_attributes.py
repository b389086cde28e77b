"""Lead attributes in the warehouse: the typed copy of every extra column of ``leads``.

Ingest keeps a leads file's extra columns as text (:meth:`Warehouse.add_extra_columns`).
:func:`store_attributes` types them once (:func:`closeloop.leads.attributes.type_attributes`)
and writes, replacing any earlier run:

* ``lead_attributes`` — the catalog: name, source column, type, known_at, filled, fill_rate,
  distinct, rejected, declared;
* ``lead_attribute_values`` — ``lead_id`` and one typed column per attribute (DOUBLE, BOOLEAN,
  TIMESTAMPTZ or VARCHAR), so ``closeloop sql`` can join it to ``leads``;
* rows of ``rejects`` (record ``lead_attributes``, field = the column, raw = lead id and value)
  for values that do not fit their column's type: the lead is kept, the value left empty.
"""

from __future__ import annotations

import pyarrow as pa

from closeloop.leads.attributes import AttributeRule, TypedAttributes, type_attributes
from closeloop.model import LEADS
from closeloop.warehouse.store import Warehouse

CATALOG = "lead_attributes"
VALUES = "lead_attribute_values"
REJECT_RECORD = "lead_attributes"


def type_lead_table(wh: Warehouse, rules: dict[str, AttributeRule], timezone: str) -> TypedAttributes:
    """Type the extra columns of the warehouse's ``leads`` table (nothing is written)."""
    extras = [c for c in wh.columns("leads") if c not in LEADS.names]
    cols = ", ".join(f'"{c}"' for c in ["lead_id", *extras])
    return type_attributes(wh.query(f"SELECT {cols} FROM leads ORDER BY lead_id"), set(LEADS.names), rules, timezone)


def store_attributes(wh: Warehouse, typed: TypedAttributes) -> None:
    """Replace the catalog, the typed values and this step's rejects (one transaction: all or none)."""
    from closeloop.errors import map_errors

    with map_errors("storing lead attributes"):
        wh.con.execute("BEGIN TRANSACTION")
        try:
            _store(wh, typed)
            wh.con.execute("COMMIT")
        except BaseException:
            wh.con.execute("ROLLBACK")
            raise


def _store(wh: Warehouse, typed: TypedAttributes) -> None:
    for name, table in ((CATALOG, typed.catalog()), (VALUES, typed.values)):
        wh.con.register("_cl_attr", table)
        wh.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _cl_attr')
        wh.con.unregister("_cl_attr")
    wh.con.execute("DELETE FROM rejects WHERE record = ?", [REJECT_RECORD]).fetchall()
    if typed.rejects.num_rows:
        row = wh.con.execute("SELECT max(ingest_id), arg_max(source, ingest_id) FROM ingests "
                             "WHERE record = 'leads'").fetchall()[0]
        ingest_id, source = (row[0], row[1]) if row[0] is not None else (0, "leads table")
        wh.con.register("_cl_rej", typed.rejects)
        wh.con.execute("""INSERT INTO rejects (ingest_id, record, source, line, field, reason, raw)
            SELECT ?, ?, ?, NULL, field, reason, 'lead_id=' || lead_id || '; value=' || value FROM _cl_rej""",
                       [ingest_id, REJECT_RECORD, source]).fetchall()
        wh.con.unregister("_cl_rej")


def stored_attributes(wh: Warehouse) -> pa.Table | None:
    """The stored catalog, or None before the first run."""
    if CATALOG not in {r[0] for r in wh.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}:
        return None
    return wh.query(f'SELECT * FROM "{CATALOG}" ORDER BY name')
