"""The analytical store: DuckDB by default, reached through Ibis for metrics."""

from closeloop.warehouse.store import Warehouse, open_warehouse, storage_type

__all__ = ["Warehouse", "open_warehouse", "storage_type"]
