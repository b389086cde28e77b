"""Seeded synthetic leads with planted duplicates and defects, for tests, benchmarks and the demo.

Each generated row carries ``true_person``: the id of the person behind it, so deduplication can
be scored (precision and recall over pairs). Duplicates are the same person arriving again from
another source, typed differently: a phone number in national instead of international format,
an e-mail in capitals, ``"SMITH, John"`` for ``"John Smith"``, a typo, a field left out. Defects
are the junk real forms collect: ``"N/A"``, ``"Select"``, ``000-000-0000``, ``test@test.com``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

FIRST = (
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Betty Anthony Margaret "
    "Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin "
    "Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon "
    "Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen "
    "Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory "
    "Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry "
    "Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria "
    "Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah Judith Jeremy Megan Christian "
    "Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa Austin Ann "
    "Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy "
    "Alice Joe Judy Bruce Sophia Gabriel Grace Logan Denise Albert Amber Willie Doris Alan Marilyn Juan "
    "Danielle Wayne Beverly Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph Brittany Eugene "
    "Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori Priya Rahul Ananya Arjun Maria Jose "
    "Ramon Cristina Miguel Sofia Carlos Lucia Javier Elena Pierre Camille Louis Chloe Hugo Lea Lukas Anna "
    "Felix Mia Jonas Lena Angelo Reyes Mariel Paolo Jasmine Rizal"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz "
    "Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson "
    "Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins "
    "Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero "
    "Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant "
    "Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez "
    "McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford "
    "Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer "
    "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels "
    "Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold "
    "Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson "
    "Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards "
    "Sharma Gupta Singh Kumar Dubois Lefevre Moreau Muller Schneider Fischer Weber Becker Dela-Cruz Bautista "
    "Villanueva Santiago Aquino Navarro Romero"
).split()
COMPANIES = (
    "Acme Globex Initech Umbrella Hooli Vehement Stark Wayne Wonka Soylent Tyrell Cyberdyne Aperture Oscorp "
    "Pied Piper Vandelay Gringotts Monarch Sterling Dunder Massive Dynamic Nakatomi Prestige Wernham Bluth "
    "Krusty Spacely Cogswell Gekko Virtucon Blue Sun Buy n Large Hanso Abstergo Rekall Omni Zorg Ajax"
).split()
SUFFIXES = ("Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Corp", "", "", "")
SOURCES = ("web_form", "trade_show", "partner", "purchased_list", "webinar", "referral", "chat")
PRODUCTS = ("basic", "plus", "premium", "enterprise")
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me")

# country -> (weight, calling code, national-number maker key)
COUNTRIES = {"US": 0.40, "GB": 0.12, "FR": 0.08, "DE": 0.08, "ES": 0.07, "MX": 0.08, "PH": 0.09, "IN": 0.08}
_US_AREAS = np.array([212, 213, 305, 312, 415, 503, 512, 602, 617, 646, 702, 713, 718, 801, 404, 206, 303])


@dataclass(frozen=True)
class PhoneSpec:
    """How a country's numbers look: calling code, national digits, a national trunk prefix."""

    code: str
    trunk: str


PHONES = {"US": PhoneSpec("1", "1"), "GB": PhoneSpec("44", "0"), "FR": PhoneSpec("33", "0"),
          "DE": PhoneSpec("49", "0"), "ES": PhoneSpec("34", ""), "MX": PhoneSpec("52", ""),
          "PH": PhoneSpec("63", "0"), "IN": PhoneSpec("91", "0")}


def _national_numbers(country: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Valid-looking national significant numbers (valid in libphonenumber's metadata)."""
    n = len(country)
    d = rng.integers(0, 10, size=(n, 9))
    tail = ["".join(map(str, row)) for row in d]
    area = _US_AREAS[rng.integers(0, len(_US_AREAS), n)]
    exch = rng.integers(200, 1000, n)
    out = []
    for i, c in enumerate(country):
        t = tail[i]
        if c == "US":
            out.append(f"{area[i]}{exch[i]}{t[:4]}")
        elif c == "GB":
            out.append(f"7{'45789'[int(t[0]) % 5]}{t[1:]}")
        elif c == "FR":
            out.append(f"6{'0124578'[int(t[8]) % 7]}{t[1:8]}")
        elif c == "DE":
            out.append(f"151{t[:8]}")
        elif c == "ES":
            out.append(f"6{t[:8]}")
        elif c == "MX":
            out.append(f"55{t[:8]}")
        elif c == "PH":
            out.append(f"917{t[:7]}")
        else:  # IN
            out.append(f"9{t}")
    return out


def format_phone(country: str, nsn: str, style: int) -> str:
    """One of several ways people write the same number (style 0 is international E.164-ish)."""
    spec = PHONES[country]
    if style == 0:
        return f"+{spec.code}{nsn}"
    if style == 1:
        return f"+{spec.code} {nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    if style == 2:
        return f"00{spec.code} {nsn}"
    if country == "US":
        a, b, c = nsn[:3], nsn[3:6], nsn[6:]
        return (f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}", nsn)[style % 4]
    national = f"{spec.trunk}{nsn}"
    return (national, " ".join(national[i:i + 2] for i in range(0, len(national), 2)), f"{national[:4]} {national[4:]}",
            national)[style % 4]


def synthetic_leads(n: int, dup_rate: float = 0.06, seed: int = 0, start: datetime | None = None,
                    days: int = 180, defects: bool = True) -> pa.Table:
    """``n`` canonical leads (plus ``true_person``), of which about ``dup_rate`` are planted duplicates."""
    rng = np.random.default_rng(seed)
    start = start or datetime(2025, 1, 1, tzinfo=UTC)
    n_dup = round(n * dup_rate)
    n_orig = n - n_dup
    countries = np.array(list(COUNTRIES))
    weights = np.array(list(COUNTRIES.values()))
    p_country = countries[rng.choice(len(countries), n_orig, p=weights / weights.sum())]
    nsn = _national_numbers(p_country, rng)
    nsn2 = _national_numbers(p_country, rng)  # a second number some people give
    first = np.array(FIRST)[rng.integers(0, len(FIRST), n_orig)]
    last = np.array(LAST)[rng.integers(0, len(LAST), n_orig)]
    # Two surnames (as in Spain and Latin America) for some people: a realistic spread of names.
    second = np.array(LAST)[rng.integers(0, len(LAST), n_orig)]
    double = rng.random(n_orig) < 0.4
    last = np.where(double, np.char.add(np.char.add(last, "-"), second), last)
    comp = np.array(COMPANIES)[rng.integers(0, len(COMPANIES), n_orig)]
    suffix_i = rng.integers(0, len(SUFFIXES), n_orig)
    email_style = rng.integers(0, 3, n_orig)
    domain = np.array(DOMAINS)[rng.integers(0, len(DOMAINS), n_orig)]
    salt = rng.integers(1, 999, n_orig)
    emails = [_email(first[i], last[i], comp[i], domain[i], email_style[i], salt[i]) for i in range(n_orig)]
    # Originals, then duplicates pointing to a random original.
    person = np.concatenate([np.arange(n_orig), rng.integers(0, n_orig, n_dup)])
    is_dup = np.concatenate([np.zeros(n_orig, bool), np.ones(n_dup, bool)])
    order = rng.permutation(n)
    person, is_dup = person[order], is_dup[order]
    t0 = rng.uniform(0, days * 86400, n_orig)
    created = t0[person] + np.where(is_dup, rng.uniform(60, 30 * 86400, n), 0.0)
    rows = _rows(person, is_dup, p_country, nsn, nsn2, first, last, comp, suffix_i, emails, rng, defects)
    created_at = [start + timedelta(seconds=float(s)) for s in created]
    table = pa.table({
        "lead_id": [f"L{i:07d}" for i in range(n)],
        "created_at": pa.array(created_at, pa.timestamp("us", tz="UTC")),
        "source": np.array(SOURCES)[rng.integers(0, len(SOURCES), n)].tolist(),
        **rows,
        "product": np.array(PRODUCTS)[rng.integers(0, len(PRODUCTS), n)].tolist(),
        "true_person": [f"P{p:07d}" for p in person],
    })
    return table.sort_by("created_at")


def _email(first: str, last: str, company: str, domain: str, style: int, salt: int) -> str:
    f, la = first.lower(), last.lower().replace("-", "")
    if style == 0:
        return f"{f}.{la}{salt}@{domain}"
    if style == 1:
        return f"{f[0]}{la}{salt}@{company.lower()}.com"
    return f"{f}{la}{salt}@{domain}"


def _typo(word: str, r: float) -> str:
    if len(word) < 4:
        return word
    i = 1 + int(r * (len(word) - 2))
    return word[:i] + word[i + 1] + word[i] + word[i + 2:] if i + 1 < len(word) else word[:-1]


def _rows(person: np.ndarray, is_dup: np.ndarray, country: np.ndarray, nsn: list[str], nsn2: list[str],
          first: np.ndarray,
          last: np.ndarray, comp: np.ndarray, suffix_i: np.ndarray, emails: list[str], rng: np.random.Generator,
          defects: bool) -> dict[str, list[str | None]]:
    """Render each row's contact fields: duplicates vary, and defects are sprinkled on all rows."""
    n = len(person)
    u = rng.random((n, 8))
    style = rng.integers(0, 7, n)
    names: list[str | None] = []
    phones: list[str | None] = []
    mails: list[str | None] = []
    companies: list[str | None] = []
    ctry: list[str | None] = []
    for i in range(n):
        p = person[i]
        c = str(country[p])
        fi, la = str(first[p]), str(last[p])
        phone: str | None = format_phone(c, nsn[p], int(style[i]) if is_dup[i] else int(style[i]) % 3)
        mail: str | None = emails[p]
        name = f"{fi} {la}"
        company: str | None = f"{comp[p]} {SUFFIXES[suffix_i[p]]}".strip()
        cc: str | None = c
        if is_dup[i]:
            r = u[i]
            if r[0] < 0.08:
                phone = None
            elif r[0] < 0.12:
                phone = format_phone(c, nsn2[p], 0)
            if r[1] < 0.15:
                mail = None
            elif r[1] < 0.25:
                mail = f"{fi.lower()}.{la.lower()}@work-{comp[p].lower()}.com"
            elif r[1] < 0.6:
                mail = emails[p].upper() if r[2] < 0.5 else f" {emails[p].capitalize()} "
            if r[3] < 0.2:
                name = f"{la.upper()}, {fi}"
            elif r[3] < 0.35:
                name = name.lower()
            elif r[3] < 0.5:
                name = f"{fi} {_typo(la, r[4])}"
            elif r[3] < 0.55:
                name = f"{fi[0]}. {la}"
            if r[5] < 0.3:
                company = comp[p].upper()
            if r[6] < 0.15:
                cc = None
        if defects:
            d = u[i, 7]
            if d < 0.02:
                phone = ("N/A", "Select", "000-000-0000", "12345", "call me", "")[int(d * 300) % 6]
            elif d < 0.04:
                mail = ("test@test.com", "N/A", "john@", "john.gmail.com", "none", "Select")[int(d * 300) % 6]
            elif d < 0.05:
                name = ("test", "N/A", "Select", "-", "asdf", "")[int(d * 600) % 6]
            elif d < 0.06:
                company = ("N/A", "none", "Select", "-")[int(d * 400) % 4]
            elif d < 0.10:
                cc = None
        names.append(name)
        phones.append(phone)
        mails.append(mail)
        companies.append(company)
        ctry.append(cc)
    return {"name": names, "phone": phones, "email": mails, "company": companies, "country": ctry}


# Planted effects on the chance of a sale (log-odds), so a scorer has something real to find.
SOURCE_EFFECT = {"referral": 1.0, "webinar": 0.5, "trade_show": 0.3, "chat": 0.2, "web_form": 0.0,
                 "partner": -0.2, "purchased_list": -1.0}
PRODUCT_EFFECT = {"enterprise": 0.6, "premium": 0.3, "plus": 0.0, "basic": -0.4}


def synthetic_calls(merged: pa.Table, as_of: datetime, seed: int = 0, called_share: float = 0.85,
                    center_id: str = "C1", queue: str = "outbound_sales") -> pa.Table:
    """Outbound sales calls to merged leads, with sales driven by the planted effects above.

    Leads are called once to three times; a lead called sooner after it came in sells more often
    (speed-to-lead), as do complete, multi-touch, corporate-e-mail leads from good sources.
    """
    rng = np.random.default_rng(seed)
    rows: dict[str, list[object]] = {k: [] for k in ("call_id", "center_id", "queue", "direction", "call_type",
                                                     "offered_at", "answered_at", "ended_at", "agent_id", "lead_id",
                                                     "hold_s", "wrap_s", "outcome", "order_value")}
    leads = merged.to_pylist()
    u = rng.random((len(leads), 6))
    for i, lead in enumerate(leads):
        created = lead["created_at"]
        if u[i, 0] > called_share or created > as_of - timedelta(days=1):
            continue
        delay_h = float(rng.exponential(6.0))
        email = lead.get("email") or ""
        logit = (-2.0 + SOURCE_EFFECT.get(lead["source"], 0.0) + PRODUCT_EFFECT.get(lead.get("product") or "", 0.0)
                 + 3.0 * (float(lead.get("completeness") or 0) - 0.8) - 0.8 * (email.split("@")[-1] in DOMAINS)
                 + 1.0 * (int(lead.get("n_records") or 1) - 1) - 0.5 * np.log1p(delay_h))
        sale = u[i, 1] < 1 / (1 + np.exp(-logit))
        n_calls = 1 + int(u[i, 2] * 3)
        record = str(lead.get("lead_ids") or lead["lead_id"]).split(",")[-1]
        at = created + timedelta(hours=delay_h)
        for k in range(n_calls):
            last = k == n_calls - 1
            outcome = "sale" if (sale and last) else ("no_sale" if last else ("no_answer", "callback")[k % 2])
            answered = outcome != "no_answer"
            talk = float(rng.uniform(60, 600)) if answered else 0.0
            rows["call_id"].append(f"{lead['lead_id']}-{k + 1}")
            rows["center_id"].append(center_id)
            rows["queue"].append(queue)
            rows["direction"].append("outbound")
            rows["call_type"].append("sales")
            rows["offered_at"].append(at)
            rows["answered_at"].append(at + timedelta(seconds=15) if answered else None)
            rows["ended_at"].append(at + timedelta(seconds=15 + talk) if answered else at + timedelta(seconds=30))
            rows["agent_id"].append(f"A{int(u[i, 3] * 20):02d}" if answered else None)
            rows["lead_id"].append(record)
            rows["hold_s"].append(0.0)
            rows["wrap_s"].append(30.0 if answered else 0.0)
            rows["outcome"].append(outcome)
            rows["order_value"].append(float(rng.uniform(100, 900)) if outcome == "sale" else None)
            at = at + timedelta(hours=float(rng.uniform(20, 80)))
    ts = pa.timestamp("us", tz="UTC")
    types = {"offered_at": ts, "answered_at": ts, "ended_at": ts, "hold_s": pa.float64(), "wrap_s": pa.float64(),
             "order_value": pa.float64()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in rows.items()})
