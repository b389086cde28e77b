"""Validation rules of the canonical records, compiled to SQL over varchar columns.

Every rule is one SQL expression evaluated for all rows at once (vectorised in DuckDB),
never a Python loop per row. Per-field rules come from the field declarations in
:mod:`closeloop.model` (required, type, choices, range, pattern); cross-field rules of
calls use the model's outcome sets, so ingestion and the simulator share one rule.

The input relation has one VARCHAR column per canonical field (NULL or '' when empty)
plus ``__tz``: the IANA zone in which offset-less timestamps are read, and
``__tz_offset``/``__tz_since``: that zone's fixed offset and since when it holds, if it has
one (:func:`closeloop.ingest.zones.zone_columns`). :func:`typed_select` adds each local
time's offset from the zone's table where it has one (``__o_<name>``, from
:func:`closeloop.ingest.zones.local_offset_sql`); what neither covers goes through ICU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import available_timezones

from closeloop.model import (
    CALLS,
    CARE_OUTCOMES,
    CENTERS,
    ISO_COUNTRIES,
    SALES_OUTCOMES,
    UNANSWERED_OUTCOMES,
    Field,
    FieldType,
    RecordSchema,
)
from closeloop.warehouse import storage_type
from closeloop.warehouse.store import quote_ident as q

# The largest offset from UTC a timestamp may carry (ISO 8601 sets none; real zones span
# -12:00..+14:00, and ±18:00 is the widest any common library accepts).
MAX_OFFSET_US = 18 * 3600 * 1_000_000


@dataclass(frozen=True)
class TimeWindow:
    """The plausibility window of timestamps: a time outside it is rejected, with the window named.

    One mistyped year (9999, 0001, 2999) would otherwise be loaded and break date arithmetic
    in every analytics command downstream. Set per workspace (``[ingest] earliest``,
    ``latest_years_ahead``); the default is 1990-01-01 to two years from today.
    """

    earliest: date = date(1990, 1, 1)
    latest_years_ahead: int = 2

    @property
    def latest(self) -> date:
        """Today's date ``latest_years_ahead`` years on (29 February becomes 28 February)."""
        today = datetime.now(UTC).date()
        try:
            return today.replace(year=today.year + self.latest_years_ahead)
        except ValueError:
            return today.replace(year=today.year + self.latest_years_ahead, day=28)

    def bounds_sql(self) -> tuple[str, str]:
        """The window's ends as TIMESTAMPTZ literals (UTC midnights)."""
        return (f"TIMESTAMPTZ '{self.earliest.isoformat()} 00:00:00+00'",
                f"TIMESTAMPTZ '{self.latest.isoformat()} 00:00:00+00'")

    def describe(self) -> str:
        return f"outside the plausible window {self.earliest.isoformat()} to {self.latest.isoformat()}"




def lit(value: str) -> str:
    """Quote an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _list(values: object) -> str:
    return "[" + ", ".join(lit(str(v)) for v in values) + "]"  # type: ignore[attr-defined]


def one_of(expr: str, values: object) -> str:
    """SQL testing ``expr`` against a short list of literals.

    Written as ORed equalities: DuckDB plans a longer ``IN (...)`` list as a hash join,
    which costs twice as much per row on the few values a record's choices have.
    """
    return "(" + " OR ".join(f"{expr} = {lit(str(v))}" for v in values) + ")"  # type: ignore[attr-defined]


def raw(name: str) -> str:
    """The column holding the trimmed raw text of field ``name`` (NULL when empty).

    Computed once per row by :func:`raw_select`, then shared by conversion and checks.
    """
    return q("__r_" + name)


def raw_select(schema: RecordSchema, padded: bool = True) -> str:
    """SELECT list computing each field's trimmed raw text once: ``__r_<name>``.

    Most values hold no space at all; looking for one (a memchr) is cheaper than testing
    both ends (``ends_with`` is 6x slower) and far cheaper than trimming, which copies,
    every value of every row. When the source is known to hold no empty string and no
    value with a space at either end (``padded=False``, see
    :func:`closeloop.ingest.sources.may_have_padding`), even the search is skipped.
    """
    def one(name: str) -> str:
        c = q(name)
        if not padded:
            return c
        return f"CASE WHEN contains({c}, ' ') OR {c} = '' THEN nullif(trim({c}), '') ELSE {c} END"

    return ", ".join(f"{one(f.name)} AS {raw(f.name)}" for f in schema.fields)


def typed(f: Field) -> str:
    """Expression converting the raw text of ``f`` to its storage type (NULL if invalid)."""
    r = raw(f.name)
    if f.type is FieldType.STRING:
        return f"lower({r})" if f.choices else r
    # DuckDB's cast reads '1_000' as 1000: a digit separator no export writes on purpose.
    if f.type is FieldType.FLOAT:
        return f"CASE WHEN NOT contains({r}, '_') THEN try_cast({r} AS DOUBLE) END"
    if f.type is FieldType.INTEGER:
        return (f"CASE WHEN NOT contains({r}, '_') AND try_cast({r} AS DOUBLE) = floor(try_cast({r} AS DOUBLE)) "
                f"THEN try_cast({r} AS BIGINT) END")
    # Timestamps: with an offset they are instants; without, local time in the row's zone.
    # An offset is a trailing Z, a '+', or a '-' after the time's first ':' (the date part
    # has dashes or slashes but no colon). Three cheap string tests, 3x faster than
    # slicing the string, and far cheaper than a regular expression. Local times in a zone
    # with a fixed offset (see closeloop.ingest.zones) are shifted by it.
    has_offset = f"(ends_with({r}, 'Z') OR ends_with({r}, 'z') OR contains({r}, '+') OR {r} LIKE '%:%-%')"
    # Zones whose offset still changes use a table of their offsets (``__o_<name>``, see
    # closeloop.ingest.zones.local_offset_sql) where it is unambiguous; the rest goes to ICU.
    # An offset beyond ±18:00 (+25:00 is read by DuckDB) makes the value invalid: the wall
    # clock reading (``__l_``, the cast to TIMESTAMP ignores the offset) minus the instant.
    local, offset = q("__l_" + f.name), q("__o_" + f.name)
    instant = f"try_cast({r} AS TIMESTAMPTZ)"
    return (
        f"CASE WHEN {has_offset} THEN CASE WHEN abs(epoch_us({local}) - epoch_us({instant})) <= {MAX_OFFSET_US} "
        f"THEN {instant} END "
        f"WHEN {local} >= __tz_since THEN make_timestamptz(epoch_us({local}) - __tz_offset) "
        f"WHEN {offset} IS NOT NULL THEN make_timestamptz(epoch_us({local}) - {offset}) "
        f"ELSE timezone(__tz, {local}) END"
    )


def local_select(schema: RecordSchema) -> str:
    """SELECT items parsing each timestamp's wall-clock reading once: ``__l_<name>``.

    :func:`typed` needs it in two branches; DuckDB would parse the text twice if the
    cast were written in both.
    A date without a time of day (no ':') is no instant: it would silently become midnight
    (fields declared ``date_only`` excepted).
    """
    def one(f: Field) -> str:
        cast = f"try_cast({raw(f.name)} AS TIMESTAMP)"
        return cast if f.date_only else f"CASE WHEN contains({raw(f.name)}, ':') THEN {cast} END"

    return "".join(f", {one(f)} AS {q('__l_' + f.name)}" for f in schema.fields if f.type is FieldType.TIMESTAMP)


@dataclass(frozen=True)
class Check:
    """A rule: when ``failed`` (SQL, true = broken) holds, ``field`` gets ``reason``."""

    field: str
    failed: str
    reason: str


TIMESTAMP_REASON = ("not an ISO 8601 timestamp with a time of day "
                    "(YYYY-MM-DDTHH:MM[:SS[.ffffff]], optional Z or offset up to ±18:00)")


def field_checks(f: Field, window: TimeWindow | None = None) -> list[Check]:
    """The per-field rules implied by a field's declaration (timestamps: within ``window``)."""
    r, v = raw(f.name), f"__v_{f.name}"
    checks: list[Check] = []
    if f.required:
        checks.append(Check(f.name, f"{r} IS NULL", "required value is missing"))
    type_reason = {
        FieldType.TIMESTAMP: TIMESTAMP_REASON,
        FieldType.FLOAT: "not a number",
        FieldType.INTEGER: "not a whole number",
    }
    if f.type in type_reason:
        reason = "not an ISO 8601 date or timestamp" if f.date_only else type_reason[f.type]
        checks.append(Check(f.name, f"{r} IS NOT NULL AND {v} IS NULL", reason))
    if f.type is FieldType.TIMESTAMP:
        window = window or TimeWindow()
        lo, hi = window.bounds_sql()
        checks.append(Check(f.name, f"NOT ({v} BETWEEN {lo} AND {hi})", window.describe()))
    if f.type is FieldType.FLOAT:
        checks.append(Check(f.name, f"{v} IS NOT NULL AND NOT isfinite({v})", "not a finite number"))
    if f.choices:
        allowed = ", ".join(f.choices)
        checks.append(Check(f.name, f"{r} IS NOT NULL AND NOT {one_of(v, f.choices)}", f"not one of: {allowed}"))
    if f.minimum is not None:
        checks.append(Check(f.name, f"{v} < {f.minimum}", f"below the minimum {f.minimum:g}"))
    if f.maximum is not None:
        checks.append(Check(f.name, f"{v} > {f.maximum}", f"above the maximum {f.maximum:g}"))
    if f.pattern:
        checks.append(Check(f.name, f"{r} IS NOT NULL AND NOT regexp_full_match({r}, {lit(f.pattern)})",
                            "not in the expected format"))
    return checks


def _center_checks() -> list[Check]:
    zones = sorted(available_timezones())
    return [
        Check("country", f"__v_country IS NOT NULL AND NOT list_contains({_list(sorted(ISO_COUNTRIES))}, "
              "upper(__v_country))", "not an ISO 3166-1 alpha-2 country code"),
        Check("timezone", f"__v_timezone IS NOT NULL AND NOT list_contains({_list(zones)}, __v_timezone)",
              "not a known IANA time zone"),
    ]


def _call_checks() -> list[Check]:
    answered = "__v_answered_at IS NOT NULL"
    sale_outcome = one_of("__v_outcome", sorted(SALES_OUTCOMES))
    care_outcome = one_of("__v_outcome", sorted(CARE_OUTCOMES))
    unanswered = " OR ".join(
        f"(__v_direction = {lit(d)} AND __v_outcome <> {lit(o)})" for d, o in UNANSWERED_OUTCOMES.items()
    )
    return [
        Check("answered_at", "__v_answered_at < __v_offered_at", "answered before it was offered"),
        Check("ended_at", "__v_ended_at < __v_offered_at", "ended before it was offered"),
        Check("ended_at", "__v_ended_at < __v_answered_at", "ended before it was answered"),
        Check("agent_id", f"{answered} AND __v_agent_id IS NULL", "answered call has no agent_id"),
        Check("outcome", f"{answered} AND __v_call_type = 'sales' AND NOT {sale_outcome}",
              "answered sales call needs outcome sale, no_sale or callback"),
        Check("outcome", f"{answered} AND __v_call_type = 'care' AND NOT {care_outcome}",
              "answered care call needs outcome resolved, unresolved or escalated"),
        Check("outcome", f"NOT ({answered}) AND ({unanswered})",
              "unanswered call must be abandoned (inbound) or no_answer (outbound)"),
    ]


def cross_checks(schema: RecordSchema) -> list[Check]:
    """The rules of a record kind beyond each field's own declaration."""
    if schema is CENTERS:
        return _center_checks()
    if schema is CALLS:
        return _call_checks()
    return []


def record_checks(schema: RecordSchema, window: TimeWindow | None = None) -> list[Check]:
    """All rules of a record kind, per-field first, in field order."""
    return [c for f in schema.fields for c in field_checks(f, window)] + cross_checks(schema)


def nul_checks(schema: RecordSchema, extras: Sequence[str]) -> list[Check]:
    """A value holding a NUL byte is rejected, never stored: most tools cut text at one.

    Only applied where the source may hold one (see :class:`closeloop.ingest.load.Rows`).
    """
    cols = [(f.name, raw(f.name)) for f in schema.fields] + [(c, q(c)) for c in extras]
    return [Check(name, f"contains({col}, chr(0))", "contains a NUL byte (\\0)") for name, col in cols]


def error_expression(checks: list[Check], any_failed: str | None = None) -> str:
    """SQL giving '' for a valid row, else 'field: reason; field: reason'.

    The message is built only for rows that break a rule: most rows are valid, and
    testing booleans is far cheaper than assembling text. ``any_failed`` is a cheaper
    test true exactly when one of ``checks`` fails (see :func:`record_failed`); by
    default, the checks ORed.
    """
    parts = ", ".join(f"CASE WHEN {c.failed} THEN {lit(c.field + ': ' + c.reason)} END" for c in checks)
    any_failed = any_failed or " OR ".join(f"({c.failed})" for c in checks)
    return f"CASE WHEN {any_failed} THEN concat_ws('; ', {parts}) ELSE '' END"


_DOUBLE_MAX = "1.7976931348623157e308::DOUBLE"


def field_failed(f: Field, window: TimeWindow | None = None) -> str | None:
    """One SQL test, true exactly when one of :func:`field_checks` (f) fails; None if none can.

    Every row of every ingest runs it, so the declaration's rules are merged into as few
    comparisons as they allow: a required value's absence and its failed conversion are
    both ``v IS NULL``; a float's finiteness and range are one ``BETWEEN`` (DuckDB orders
    NaN above every number); a required choice is one ``IS NOT TRUE``. Tests check that
    it agrees with the separate checks on any value.
    """
    r, v = raw(f.name), f"__v_{f.name}"
    tests: list[str] = []
    typed_field = f.type is not FieldType.STRING
    if f.required and f.choices:
        tests.append(f"{one_of(v, f.choices)} IS NOT TRUE")
    else:
        if f.required:
            tests.append(f"{v} IS NULL")
        elif typed_field:
            tests.append(f"({r} IS NOT NULL AND {v} IS NULL)")
        if f.choices:
            tests.append(f"NOT {one_of(v, f.choices)}")
    if f.type is FieldType.FLOAT:
        lo = f"-{_DOUBLE_MAX}" if f.minimum is None else f"{float(f.minimum)!r}::DOUBLE"
        hi = _DOUBLE_MAX if f.maximum is None else f"{float(f.maximum)!r}::DOUBLE"
        tests.append(f"NOT ({v} BETWEEN {lo} AND {hi})")
    elif f.type is FieldType.TIMESTAMP:
        lo, hi = (window or TimeWindow()).bounds_sql()
        tests.append(f"NOT ({v} BETWEEN {lo} AND {hi})")
    else:
        if f.minimum is not None and f.maximum is not None:
            tests.append(f"NOT ({v} BETWEEN {f.minimum} AND {f.maximum})")
        elif f.minimum is not None:
            tests.append(f"{v} < {f.minimum}")
        elif f.maximum is not None:
            tests.append(f"{v} > {f.maximum}")
    if f.pattern:
        tests.append(f"NOT regexp_full_match({r}, {lit(f.pattern)})")
    return " OR ".join(tests) or None


def record_failed(schema: RecordSchema, window: TimeWindow | None = None) -> str:
    """One SQL test, true exactly when one of :func:`record_checks` (schema, window) fails."""
    per_field = [t for f in schema.fields if (t := field_failed(f, window))]
    return " OR ".join([f"({t})" for t in per_field] + [f"({c.failed})" for c in cross_checks(schema)]) or "false"


def offset_select(schema: RecordSchema, local_offset: Callable[[str], str] | None) -> str:
    """SELECT items giving each timestamp's offset from a zone table: ``__o_<name>`` (NULL: ask ICU).

    ``local_offset(local_sql)`` is SQL for the offset of a local time in the row's zone
    (:func:`closeloop.ingest.zones.local_offset_sql`); without it every non-fixed zone uses ICU.
    """
    def one(name: str) -> str:
        return local_offset(q("__l_" + name)) if local_offset else "CAST(NULL AS BIGINT)"

    return "".join(f", {one(f.name)} AS {q('__o_' + f.name)}" for f in schema.fields if f.type is FieldType.TIMESTAMP)


def typed_select(schema: RecordSchema, relation: str, local_offset: Callable[[str], str] | None = None) -> str:
    """SELECT adding to ``relation`` each field as ``__v_<name>`` of its storage type."""
    values = ", ".join(f"CAST({typed(f)} AS {storage_type(f.type)}) AS {q('__v_' + f.name)}" for f in schema.fields)
    locals_ = f"SELECT *{local_select(schema)} FROM ({relation})"
    return f"SELECT *, {values} FROM (SELECT *{offset_select(schema, local_offset)} FROM ({locals_}))"
