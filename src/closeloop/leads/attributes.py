"""Lead attributes: every extra column of a leads file, typed once and kept.

Lead files carry dozens of columns beyond the canonical nine (activity counts, time on site,
lead origin, occupation, consent flags, UTM fields). The warehouse keeps them as text
(``Warehouse.add_extra_columns``); this module decides, once per column, what each one *is*:

* ``number`` — at least :data:`MIN_SHARE` of the filled values parse as a decimal number;
* ``boolean`` — the filled values are yes/no words (``true``, ``no``, ``y``, ``0``/``1`` only
  when nothing else appears);
* ``time`` — ISO 8601 dates or date-times (a time without an offset is read in the workspace's
  time zone, as ingest reads canonical times);
* ``category`` — few distinct short values (at most ``max(50, 5% of filled)`` and 40 characters
  on average);
* ``text`` — anything else (kept and queryable, not a model feature).

A value that does not fit its column's type (``"abc"`` in a number column) becomes missing and
is reported as a reject with the lead, the column and the reason, never silently dropped.

Each attribute also says **when it is known** (:class:`KnownAt`): at the lead's creation
(the default), at a later event, or after a call. Scoring only uses what is known before the
call it ranks; ``after_call`` attributes are never features. A declared mapping in the
workspace settings (:class:`AttributeRule`, ``[leads.attributes.COLUMN]``) may rename,
retype or exclude a column, or set its ``known_at``.

Pure: takes and returns Arrow tables; storing them is the warehouse's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from closeloop.errors import ConfigError
from closeloop.leads.attribute_rules import AttributeRule, AttributeType, KnownAt, parse_rules

MIN_SHARE = 0.95  # share of filled values that must parse for a column to take a type
NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
ISO_TIME = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
HAS_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
TRUE_WORDS = ("true", "yes", "y", "t", "1", "on", "checked", "opted in", "opt-in")
FALSE_WORDS = ("false", "no", "n", "f", "0", "off", "unchecked", "opted out", "opt-out")


@dataclass(frozen=True)
class Attribute:
    """One typed attribute: where it came from, what it is, how full it is."""

    name: str
    column: str
    type: AttributeType
    known_at: KnownAt
    filled: int
    distinct: int
    rejected: int
    declared: bool  # type or known_at came from the settings, not inference

    def row(self, n: int) -> dict[str, object]:
        """A catalog row (``lead_attributes``)."""
        return {"name": self.name, "column": self.column, "type": str(self.type), "known_at": str(self.known_at),
                "filled": self.filled, "fill_rate": round(self.filled / n, 4) if n else 0.0,
                "distinct": self.distinct, "rejected": self.rejected, "declared": self.declared}


@dataclass(frozen=True)
class TypedAttributes:
    """The catalog, the typed values (``lead_id`` + one column per attribute) and the rejects."""

    attributes: list[Attribute]
    values: pa.Table
    rejects: pa.Table  # lead_id, field, value, reason
    excluded: list[str] = field(default_factory=list)

    def catalog(self) -> pa.Table:
        """One row per attribute, as ``closeloop leads attributes`` lists it."""
        n = self.values.num_rows
        rows = [a.row(n) for a in self.attributes]
        return pa.Table.from_pylist(rows, schema=CATALOG_SCHEMA)

    def get(self, name: str) -> Attribute:
        """The attribute called ``name``."""
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(name)


CATALOG_SCHEMA = pa.schema([("name", pa.string()), ("column", pa.string()), ("type", pa.string()),
                            ("known_at", pa.string()), ("filled", pa.int64()), ("fill_rate", pa.float64()),
                            ("distinct", pa.int64()), ("rejected", pa.int64()), ("declared", pa.bool_())])
REJECT_SCHEMA = pa.schema([("lead_id", pa.string()), ("field", pa.string()), ("value", pa.string()),
                           ("reason", pa.string())])


def _clean(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Trimmed text, empty strings as missing."""
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def infer_type(text: pa.Array) -> AttributeType:
    """The type of a column of trimmed strings (see the module docstring for the rules)."""
    filled = text.drop_null()
    n = len(filled)
    if n == 0:
        return AttributeType.TEXT
    lower = pc.utf8_lower(filled)
    words = set(TRUE_WORDS) | set(FALSE_WORDS)
    distinct = pc.unique(lower)
    if len(distinct) <= 2 and set(distinct.to_pylist()) <= words:
        return AttributeType.BOOLEAN
    if _share(filled, NUMBER) >= MIN_SHARE:
        return AttributeType.NUMBER
    if _share(filled, ISO_TIME) >= MIN_SHARE:
        return AttributeType.TIME
    if len(distinct) <= max(50, 0.05 * n) and pc.mean(pc.utf8_length(filled)).as_py() <= 40:
        return AttributeType.CATEGORY
    return AttributeType.TEXT


def _share(filled: pa.Array, pattern: str) -> float:
    value: float = pc.sum(pc.match_substring_regex(filled, pattern)).as_py() / len(filled)
    return value


def convert(text: pa.Array, kind: AttributeType, timezone: str = "UTC") -> tuple[pa.Array, pa.Array]:
    """Typed values and a mask of filled values that did not fit (those become missing)."""
    filled = pc.is_valid(text)
    if kind is AttributeType.NUMBER:
        ok = pc.fill_null(pc.match_substring_regex(text, NUMBER), False)
        values = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.float64())
    elif kind is AttributeType.BOOLEAN:
        lower = pc.utf8_lower(text)
        yes, no = pc.is_in(lower, pa.array(TRUE_WORDS)), pc.is_in(lower, pa.array(FALSE_WORDS))
        ok = pc.or_(yes, no)
        values = pc.if_else(ok, yes, pa.scalar(None, pa.bool_()))
    elif kind is AttributeType.TIME:
        ok = pc.fill_null(pc.match_substring_regex(text, ISO_TIME), False)
        values = _times(pc.if_else(ok, text, pa.scalar(None, pa.string())), timezone)
    else:
        ok = filled
        values = text
    bad = pc.and_(filled, pc.invert(pc.fill_null(ok, False)))
    return values, bad


def _times(text: pa.Array, timezone: str) -> pa.Array:
    """ISO strings to UTC timestamps; those without an offset are read in ``timezone``."""
    utc = pa.timestamp("us", "UTC")
    offset = pc.fill_null(pc.match_substring_regex(text, HAS_OFFSET), False)
    naive_text = pc.replace_substring(pc.if_else(offset, pa.scalar(None, pa.string()), text), " ", "T")
    dated = pc.if_else(pc.match_substring_regex(naive_text, r"T"), naive_text,
                       pc.binary_join_element_wise(naive_text, "T00:00:00", ""))
    naive = pc.assume_timezone(pc.cast(dated, pa.timestamp("us")), timezone=timezone, ambiguous="earliest",
                               nonexistent="latest")
    aware = pc.cast(pc.replace_substring(pc.if_else(offset, text, pa.scalar(None, pa.string())), " ", "T"), utc)
    return pc.coalesce(pc.cast(naive, utc), aware)


def type_attributes(leads: pa.Table, canonical: set[str], rules: dict[str, AttributeRule] | None = None,
                    timezone: str = "UTC") -> TypedAttributes:
    """Type every non-canonical column of ``leads`` (which has ``lead_id``), applying the declared rules."""
    rules = rules or {}
    ids = pc.cast(leads.column("lead_id"), pa.string())
    typed: dict[str, pa.Array] = {"lead_id": ids.combine_chunks()}
    attrs, rejects, excluded = [], [], []
    for column in leads.column_names:
        if column in canonical or column == "lead_id":
            continue
        rule = rules.get(column, AttributeRule(column))
        if rule.exclude:
            excluded.append(column)
            continue
        text = _clean(leads.column(column))
        kind = rule.type or infer_type(text)
        values, bad = convert(text, kind, timezone)
        name = rule.rename or column
        if name in typed:
            raise ConfigError(f"leads.attributes: two columns would both be called {name!r}; rename one")
        typed[name] = values
        n_bad = pc.sum(bad).as_py() or 0
        if n_bad:
            rows = pa.table({"lead_id": ids, "value": text}).filter(bad)
            rejects.append(pa.table({"lead_id": rows.column("lead_id"), "field": pa.array([column] * rows.num_rows),
                                     "value": rows.column("value"),
                                     "reason": pa.array([f"not a {kind}: kept the lead, left {name} empty"]
                                                        * rows.num_rows)}))
        attrs.append(Attribute(name, column, kind, rule.known_at or KnownAt.CREATION,
                               int(pc.sum(pc.is_valid(values)).as_py() or 0),
                               len(pc.unique(values).drop_null()), int(n_bad),
                               rule.type is not None or rule.known_at is not None))
    unused = set(rules) - set(leads.column_names)
    if unused:
        raise ConfigError(f"leads.attributes names column(s) {sorted(unused)} that the leads table does not have")
    reject_table = pa.concat_tables(rejects).cast(REJECT_SCHEMA) if rejects else REJECT_SCHEMA.empty_table()
    return TypedAttributes(attrs, pa.table(typed), reject_table, excluded)


__all__ = ["Attribute", "AttributeRule", "AttributeType", "KnownAt", "TypedAttributes", "convert", "infer_type",
           "parse_rules", "type_attributes"]
