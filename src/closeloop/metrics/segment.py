"""A segment of calls written as a SQL condition, parsed and checked before it touches a query.

``closeloop explain outsource --segment "call_type = 'sales' AND queue = 'soho'"`` takes
user SQL. It is never pasted into a query: :func:`parse_segment` parses it with sqlglot
(the SQL parser Ibis itself uses), accepts only a boolean expression made of comparisons
(``= <> != < <= > >=``), ``IN (...)``, ``BETWEEN``, ``IS [NOT] NULL``, ``LIKE``, ``AND``,
``OR``, ``NOT`` and parentheses over *known call columns* and literal values, and
:meth:`Segment.to_ibis` rebuilds that tree as an Ibis expression. A function call, a
subquery, an unknown column or a second statement is refused with a message naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from closeloop.errors import InputError

_COMPARE = {"EQ": "__eq__", "NEQ": "__ne__", "LT": "__lt__", "LTE": "__le__", "GT": "__gt__", "GTE": "__ge__"}


@dataclass(frozen=True)
class Segment:
    """A checked condition over call columns: its text, parsed tree and the columns it uses."""

    text: str
    tree: Any
    columns: frozenset[str]

    def to_ibis(self, frame: Any) -> Any:
        """The condition as an Ibis boolean over ``frame`` (which must have :attr:`columns`).

        InputError when a value cannot be compared with its column (``hour = 'noon'``).
        """
        from ibis.common.exceptions import IbisError

        try:
            return _build(self.tree, frame)
        except (IbisError, TypeError, ValueError) as exc:
            raise InputError(f"--segment {self.text!r}: {exc}") from None


def parse_segment(text: str, columns: Sequence[str]) -> Segment:
    """Parse ``text`` as a condition over ``columns``; InputError saying what is not allowed."""
    import sqlglot
    from sqlglot.errors import ParseError, SqlglotError

    if not text or not text.strip():
        raise InputError("--segment is empty: give a condition, e.g. \"call_type = 'sales' AND queue = 'soho'\"")
    try:
        trees = sqlglot.parse(text, dialect="duckdb")
    except ParseError as exc:
        raise InputError(f"--segment {text!r} is not a SQL condition: {exc.errors[0]['description']}") from None
    except SqlglotError as exc:  # e.g. an unterminated string
        raise InputError(f"--segment {text!r} is not a SQL condition: {str(exc).splitlines()[0]}") from None
    if len(trees) != 1 or trees[0] is None:
        raise InputError(f"--segment {text!r}: give one condition, not several statements")
    tree = trees[0]
    used = _check(tree, frozenset(columns), text)
    if not _is_condition(tree):
        raise InputError(f"--segment {text!r} is a value, not a condition: compare it, e.g. queue = 'soho'")
    return Segment(text, tree, frozenset(used))


def _check(node: Any, known: frozenset[str], text: str) -> set[str]:
    """Walk the tree; InputError on any node outside the allowed grammar. Returns columns used."""
    from sqlglot import exp

    allowed = (exp.And, exp.Or, exp.Not, exp.Paren, exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.In,
               exp.Between, exp.Is, exp.Like, exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean,
               exp.Neg)
    used: set[str] = set()
    for sub in node.walk():
        if not isinstance(sub, allowed):
            raise InputError(f"--segment {text!r}: {sub.sql(dialect='duckdb')!r} is not allowed; use comparisons, "
                             "IN, BETWEEN, IS NULL, LIKE, AND, OR, NOT over call columns")
        if isinstance(sub, exp.Column):
            if sub.table:
                raise InputError(f"--segment {text!r}: write plain column names, not {sub.sql()!r}")
            if sub.name not in known:
                names = ", ".join(sorted(known))
                raise InputError(f"--segment {text!r}: unknown column {sub.name!r}; columns: {names}")
            used.add(sub.name)
        if isinstance(sub, exp.In) and sub.args.get("query") is not None:
            raise InputError(f"--segment {text!r}: IN takes a list of values, not a subquery")
        if isinstance(sub, exp.Is) and not isinstance(sub.expression, exp.Null):
            raise InputError(f"--segment {text!r}: IS takes only NULL (IS NULL, IS NOT NULL)")
        if isinstance(sub, exp.Neg) and not isinstance(sub.this, exp.Literal):
            raise InputError(f"--segment {text!r}: only numbers may be negated")
    return used


def _is_condition(node: Any) -> bool:
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _is_condition(node.this)
    return isinstance(node, exp.And | exp.Or | exp.Not | exp.In | exp.Between | exp.Is | exp.Like | exp.Boolean) or (
        type(node).__name__ in _COMPARE
    )


def _build(node: Any, frame: Any) -> Any:
    """The Ibis expression for one checked node."""
    import ibis
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _build(node.this, frame)
    if isinstance(node, exp.And):
        return _build(node.this, frame) & _build(node.expression, frame)
    if isinstance(node, exp.Or):
        return _build(node.this, frame) | _build(node.expression, frame)
    if isinstance(node, exp.Not):
        return ~_build(node.this, frame)
    if isinstance(node, exp.Column):
        return frame[node.name]
    if isinstance(node, exp.Literal | exp.Neg):
        return ibis.literal(_value(node))
    if isinstance(node, exp.Boolean):
        return ibis.literal(bool(node.this))
    if isinstance(node, exp.Null):
        return ibis.null()
    if isinstance(node, exp.In):
        return _build(node.this, frame).isin([_value(v) for v in node.expressions])
    if isinstance(node, exp.Between):
        return _build(node.this, frame).between(_value(node.args["low"]), _value(node.args["high"]))
    if isinstance(node, exp.Is):
        return _build(node.this, frame).isnull()
    if isinstance(node, exp.Like):
        return _build(node.this, frame).cast("string").like(_value(node.expression))
    name = type(node).__name__
    left, right = _build(node.this, frame), _build(node.expression, frame)
    return getattr(left, _COMPARE[name])(right)


def _value(node: Any) -> Any:
    """A literal's Python value; InputError for a column where a value must be."""
    from sqlglot import exp

    if isinstance(node, exp.Neg):
        return -_value(node.this)
    if not isinstance(node, exp.Literal):
        raise InputError(f"expected a value, got {node.sql()!r}")
    if node.is_string:
        return node.this
    number = float(node.this)
    return int(number) if number.is_integer() and "." not in node.this and "e" not in node.this.lower() else number


__all__ = ["Segment", "parse_segment"]
