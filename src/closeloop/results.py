"""Results with one declared schema: what every use-case of the application layer returns.

Why: a command printed lists of dicts whose keys differed from row to row (a rate's CI was
missing where a group had no calls, significance marks only on some rows), so a CSV writer
that took its header from the first row died on the second, and a notebook user could not
rely on a column being there. Here a use-case declares its columns once — name, type and
meaning — and :class:`Result` builds an Arrow table in which every row has every column
(absent = null). The CLI's ``--format json|csv|parquet``, the report and the web app print
the same tables.

>>> r = Result.from_rows(Schema("demo", (Column("a", "int", "a count"), Column("b", "str", "a label"))),
...                      [{"a": 1}, {"a": 2, "b": "x"}])
>>> r.rows()
[{'a': 1, 'b': None}, {'a': 2, 'b': 'x'}]
>>> r.to_arrow().schema.types
[DataType(int64), DataType(string)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from closeloop.errors import InputError

#: Logical column types and the Arrow type each is stored as.
TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
}


@dataclass(frozen=True)
class Column:
    """One declared column: its name, logical type (a key of :data:`TYPES`) and meaning."""

    name: str
    type: str
    doc: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name!r}: unknown type {self.type!r}; known: {sorted(TYPES)}")

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type that stores this column."""
        return TYPES[self.type]


@dataclass(frozen=True)
class Schema:
    """The declared columns of a result, in order."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def arrow(self) -> pa.Schema:
        """The Arrow schema, each column's meaning kept in its field metadata."""
        return pa.schema([pa.field(c.name, c.arrow_type, metadata={"doc": c.doc}) for c in self.columns])

    def describe(self) -> list[dict[str, str]]:
        """One row per column: name, type and meaning (for docs and ``--help``)."""
        return [{"column": c.name, "type": c.type, "meaning": c.doc} for c in self.columns]


def _coerce(value: Any, col: Column) -> Any:
    """A Python value as the column's type stores it; NaN and infinities as null (they are not data)."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    kind = col.type
    if kind == "json":
        import json

        return value if isinstance(value, str) else json.dumps(value, default=str)
    if kind == "str":
        return str(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if kind == "timestamp" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


@dataclass
class Result:
    """A use-case's table (every declared column in every row) plus its extras.

    ``extras`` holds what is not one row per group: tests, decompositions, notes. They are
    also reachable as attributes (``result.tests``, ``result.notes``).
    """

    schema: Schema
    table: pa.Table
    extras: dict[str, Any] = field(default_factory=dict)
    title: str = ""

    @classmethod
    def from_rows(cls, schema: Schema, rows: Iterable[Mapping[str, Any]], title: str = "",
                  **extras: Any) -> Result:
        """Build from row mappings: missing keys become null, keys not declared are an error.

        Why an error: an undeclared key is a column the schema forgot — found by the tests
        that run every command, rather than silently dropped.
        """
        rows = list(rows)
        known = set(schema.names)
        for r in rows:
            extra = set(r) - known
            if extra:
                raise ValueError(f"result {schema.name!r}: undeclared column(s) {sorted(extra)}")
        arrays = [pa.array([_coerce(r.get(c.name), c) for r in rows], type=c.arrow_type) for c in schema.columns]
        return cls(schema, pa.Table.from_arrays(arrays, schema=schema.arrow()), extras, title)

    def __getattr__(self, name: str) -> Any:
        extras = self.__dict__.get("extras", {})
        if name in extras:
            return extras[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or extra {name!r}")

    def __len__(self) -> int:
        value: int = self.table.num_rows
        return value

    @property
    def columns(self) -> list[str]:
        """Column names in order."""
        return self.schema.names

    def rows(self) -> list[dict[str, Any]]:
        """The table as a list of dicts (every key in every row)."""
        value: list[dict[str, Any]] = self.table.to_pylist()
        return value

    def to_arrow(self) -> pa.Table:
        """The table as Arrow (the native form)."""
        return self.table

    def to_pandas(self) -> Any:
        """The table as a pandas DataFrame (needs pandas)."""
        try:
            return self.table.to_pandas()
        except ImportError as exc:
            raise InputError("to_pandas() needs pandas: pip install pandas") from exc

    def to_polars(self) -> Any:
        """The table as a polars DataFrame (needs polars)."""
        try:
            import polars as pl
        except ImportError as exc:
            raise InputError("to_polars() needs polars: pip install polars") from exc
        return pl.from_arrow(self.table)

    def to_parquet(self, path: str | Path) -> Path:
        """Write the table (with its column meanings) as Parquet; returns the path."""
        import pyarrow.parquet as pq

        from closeloop.outputs import write_with

        return write_with(Path(path), lambda tmp: pq.write_table(self.table, tmp))

    def to_csv(self, path: str | Path | None = None, escape_formulas: bool = False) -> str:
        """The table as CSV text (written to ``path`` when given, atomically, never over a workspace's files).

        ``escape_formulas`` prefixes cells a spreadsheet would run as formulas with ``'``
        (for files meant for people; :mod:`closeloop.outputs`).
        """
        text = csv_text(self.table, escape_formulas)
        if path is not None:
            from closeloop.outputs import write_text

            write_text(Path(path), text)
        return text


def csv_text(table: pa.Table, escape_formulas: bool = False) -> str:
    """A table as RFC 4180 CSV: the header always, null as an empty cell, dates as ISO text."""
    import csv
    import io

    from closeloop.outputs import escape_cell

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        cells = ["" if v is None else _text(v) for v in row.values()]
        writer.writerow([escape_cell(c) for c in cells] if escape_formulas else cells)
    return buf.getvalue()


def _text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def schema_of(name: str, columns: Sequence[tuple[str, str, str]]) -> Schema:
    """A schema from ``(name, type, meaning)`` triples — how use-cases declare theirs."""
    return Schema(name, tuple(Column(*c) for c in columns))


__all__ = ["TYPES", "Column", "Result", "Schema", "csv_text", "schema_of"]
