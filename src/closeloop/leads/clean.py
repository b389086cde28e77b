"""Clean intake: a table of raw leads in, a table of normalised, scored-for-completeness leads out.

Every row that comes in goes out: a lead that lacks what the campaign requires (by default a
callable phone number) gets ``status = "enrichment"`` and the list of what is missing, never
dropped. The ``*_status`` columns say why a value was not kept (missing, placeholder, invalid,
no_region), which is what a marketing team needs to fix its forms.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import phonenumbers
import pyarrow as pa

from closeloop.errors import InputError
from closeloop.leads.normalize import (
    Status,
    company_key,
    is_placeholder,
    name_key,
    normalize_email,
    normalize_phone,
    tidy_company,
    tidy_name,
)
from closeloop.model import ISO_COUNTRIES

# How much each field adds to the completeness score (sums to 1). A callable phone matters most
# for an inside-sales center; e-mail second; the rest help qualify and route.
COMPLETENESS_WEIGHTS: dict[str, float] = {
    "phone": 0.35, "email": 0.25, "name": 0.20, "company": 0.10, "product": 0.05, "country": 0.05,
}
REQUIRABLE = tuple(COMPLETENESS_WEIGHTS)

READY, ENRICHMENT = "ready", "enrichment"

CLEAN_COLUMNS = [
    "lead_id", "created_at", "source", "name", "phone", "email", "company", "product", "country",
    "name_key", "company_key", "phone_status", "email_status", "completeness", "missing", "status",
]


@dataclass(frozen=True)
class CleanRules:
    """What a campaign needs from a lead, and where national numbers are read."""

    required: tuple[str, ...] = ("phone",)
    default_country: str | None = None
    extra_placeholders: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        unknown = [f for f in self.required if f not in REQUIRABLE]
        if unknown:
            raise InputError(f"cannot require {unknown}: requirable fields are {', '.join(REQUIRABLE)}")
        if self.default_country and self.default_country.upper() not in ISO_COUNTRIES:
            raise InputError(f"default country {self.default_country!r} is not an ISO 3166-1 alpha-2 code")


def _country(raw: str | None) -> str | None:
    if raw is None or is_placeholder(raw):
        return None
    code = str(raw).strip().upper()
    return code if code in ISO_COUNTRIES else None


def _text(values: list[object], extra: frozenset[str]) -> list[str | None]:
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        t = str(v)
        out.append(None if extra and t.strip().lower() in extra else t)
    return out


def clean_columns(cols: dict[str, list[object]], rules: CleanRules) -> dict[str, list[object]]:
    """Normalise columns of raw lead values (lists of equal length) into :data:`CLEAN_COLUMNS` lists.

    Column-wise rather than row-wise: each field is a tight loop over one list, which is what
    makes a million leads affordable in pure Python.
    """
    n = len(cols["lead_id"])
    extra = rules.extra_placeholders

    def get(name: str) -> list[str | None]:
        return _text(cols[name], extra) if name in cols else [None] * n

    country = [_country(c) for c in get("country")]
    default = rules.default_country.upper() if rules.default_country else None
    phones = [normalize_phone(p, c or default) for p, c in zip(get("phone"), country, strict=True)]
    for i, ph in enumerate(phones):
        if country[i] is None and ph.e164:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(ph.e164))
            country[i] = region if region in ISO_COUNTRIES else None
    emails = [normalize_email(e) for e in get("email")]
    names = [tidy_name(x) for x in get("name")]
    companies = [tidy_company(x) for x in get("company")]
    products = [None if x is None or is_placeholder(x) else x.strip() for x in get("product")]
    out: dict[str, list[Any]] = {  # columns of different element types
        "lead_id": cols["lead_id"], "created_at": cols["created_at"], "source": cols["source"],
        "name": names, "phone": [p.e164 for p in phones], "email": [e[0] for e in emails],
        "company": companies, "product": products, "country": country,
        "name_key": [name_key(x) for x in names], "company_key": [company_key(x) for x in companies],
        "phone_status": [p.status for p in phones], "email_status": [e[1] for e in emails],
    }
    weights = COMPLETENESS_WEIGHTS
    completeness, missing, status = [], [], []
    for i in range(n):
        present = {"phone": phones[i].e164, "email": emails[i][0], "name": names[i], "company": companies[i],
                   "product": products[i], "country": country[i]}
        completeness.append(round(sum(w for f, w in weights.items() if present[f]), 4))
        lacking = [f for f in rules.required if not present[f]]
        missing.append(",".join(lacking) or None)
        status.append(ENRICHMENT if lacking else READY)
    out.update(completeness=completeness, missing=missing, status=status)
    return out


def clean_leads(table: pa.Table, rules: CleanRules | None = None, jobs: int = 1) -> pa.Table:
    """Clean a table of canonical leads (extra columns are carried through unchanged).

    ``jobs > 1`` spreads the rows over that many worker processes: phone parsing is pure
    Python and dominates the cost.
    """
    rules = rules or CleanRules()
    for col in ("lead_id", "created_at", "source"):
        if col not in table.column_names:
            raise InputError(f"leads table lacks required column {col!r}")
    wanted = [c for c in ("lead_id", "created_at", "source", "name", "phone", "email", "company", "product",
                          "country") if c in table.column_names]
    n = table.num_rows
    if jobs > 1 and n > 50_000:
        size = -(-n // jobs)
        slices = [{c: table.column(c).slice(s, size).to_pylist() for c in wanted} for s in range(0, n, size)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            parts = list(pool.map(partial(clean_columns, rules=rules), slices))
        out = {c: [v for part in parts for v in part[c]] for c in CLEAN_COLUMNS}
    else:
        out = clean_columns({c: table.column(c).to_pylist() for c in wanted}, rules)
    cleaned = pa.table(out, schema=clean_schema(table.schema.field("created_at").type))
    for c in table.column_names:
        if c not in CLEAN_COLUMNS:
            cleaned = cleaned.append_column(c, table.column(c))
    return cleaned


def clean_schema(created_type: pa.DataType) -> pa.Schema:
    """Arrow schema of :func:`clean_leads` output (before carried-through extras)."""
    types = {"created_at": created_type, "completeness": pa.float64()}
    return pa.schema([pa.field(c, types.get(c, pa.string())) for c in CLEAN_COLUMNS])


def clean_summary(cleaned: pa.Table) -> list[dict[str, object]]:
    """Counts a person reads after cleaning: per field, how many values were kept and why not."""
    n = cleaned.num_rows
    rows: list[dict[str, object]] = [
        {"what": "leads", "value": "all", "count": n},
        *({"what": "status", "value": v, "count": c} for v, c in _counts(cleaned, "status")),
        *({"what": "phone", "value": v, "count": c} for v, c in _counts(cleaned, "phone_status")),
        *({"what": "email", "value": v, "count": c} for v, c in _counts(cleaned, "email_status")),
    ]
    if n:
        mean = sum(cleaned.column("completeness").to_pylist()) / n
        rows.append({"what": "completeness", "value": "mean", "count": round(mean, 3)})
    return rows


def _counts(table: pa.Table, column: str) -> list[tuple[str, int]]:
    counts = table.column(column).value_counts().to_pylist()
    return sorted(((d["values"] or Status.MISSING, d["counts"]) for d in counts), key=lambda t: -t[1])
