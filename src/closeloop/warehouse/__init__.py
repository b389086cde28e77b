"""The analytical store: DuckDB by default, reached through Ibis for metrics."""

from closeloop.warehouse.store import (
    Warehouse,
    compact,
    open_secured,
    open_warehouse,
    quote_ident,
    storage_type,
    worth_compacting,
)

__all__ = ["Warehouse", "compact", "open_secured", "open_warehouse", "quote_ident", "storage_type",
           "worth_compacting"]
