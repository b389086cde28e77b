"""Normalising one lead's contact fields: phone to E.164, e-mail, names, companies.

Marketing forms and purchased lists carry every kind of junk: ``"Select"`` left in a drop-down,
``"N/A"`` typed to get past a required field, ``test@test.com``, numbers written in a national
format without a country. Each function here takes one raw value and returns the tidied value
(or ``None`` when the value is missing, a placeholder, or unusable) together with a short
status, so that a row is never dropped silently: the status says why a value was not kept.

The functions never raise on any input string (property-tested with hypothesis).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumber
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

# Values people type or tools leave behind when they have nothing to put in a field.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "", "-", "--", ".", "?", "0", "n/a", "na", "n.a.", "none", "null", "nil", "nan", "unknown", "unk",
        "select", "select one", "please select", "-- select --", "choose", "test", "testing", "asdf",
        "xxx", "x", "tbd", "no", "nobody", "not provided", "not available", "no name", "noname",
        "first last", "firstname lastname", "name", "company", "none given", "dummy", "sample",
    }
)
_PLACEHOLDER_EMAIL_LOCALS = frozenset({"test", "noemail", "no-email", "none", "na", "n/a", "nobody", "null",
                                       "noreply", "no-reply", "donotreply", "asdf", "example", "email",
                                       "fake", "unknown", "sample", "dummy"})
_PLACEHOLDER_EMAIL_DOMAINS = frozenset({"test.com", "example.com", "example.org", "example.net", "none.com",
                                        "noemail.com", "email.com", "domain.com", "fake.com", "test.test",
                                        "nomail.com", "mailinator.com"})

# A practical address check (RFC 5322's dot-atom subset that real mail systems accept).
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$"
)
_MAILTO = re.compile(r"^\s*mailto:", re.IGNORECASE)
_ANGLE = re.compile(r"<([^<>]*)>")
_PHONE_STRIP = re.compile(r"[\s\-.\u00a0/]")
_TRUNK_ZERO = re.compile(r"^(\+\d{1,3})\(0\)")
_PHONE_FAST = re.compile(r"^\+?\d{5,17}$")
_SAME_DIGIT = re.compile(r"^(\d)\1+$")
_SPACES = re.compile(r"\s+")
_NO_WORD = re.compile(r"[\W_]*")
_NAME_JUNK = re.compile(r"[^\w\s'\-.,&]", re.UNICODE)
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "mme", "mlle", "herr", "frau", "sr",
                     "sra", "srta"})
_LEGAL_SUFFIXES = frozenset({"inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co",
                             "company", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "plc",
                             "pty", "pvt", "oy", "ab", "as", "kk", "lp", "llp", "sl", "sau", "de", "cv"})
_LOWER_PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le",
                              "dos", "das", "y", "e", "bin", "al"})


class Status:
    """Why a value was kept or not (short codes used in ``*_status`` columns)."""

    OK = "ok"
    MISSING = "missing"
    PLACEHOLDER = "placeholder"
    INVALID = "invalid"
    NO_REGION = "no_region"


@dataclass(frozen=True)
class Phone:
    """A normalised phone number: E.164 text, its kind, and why it may be missing."""

    e164: str | None
    status: str

    @property
    def country_code(self) -> int | None:
        """The ITU country calling code, from the E.164 text."""
        if not self.e164:
            return None
        return phonenumbers.parse(self.e164).country_code


def is_placeholder(value: str | None) -> bool:
    """True when ``value`` is empty or one of the junk values forms leave behind."""
    if value is None:
        return True
    text = str(value)
    if len(text) > 40:  # every placeholder is short; long text is at worst invalid, not a placeholder
        return False
    text = text.strip().lower()
    if text in PLACEHOLDERS:
        return True
    if "  " in text and _SPACES.sub(" ", text) in PLACEHOLDERS:
        return True
    return _NO_WORD.fullmatch(text) is not None


def normalize_phone(raw: str | None, region: str | None) -> Phone:
    """Parse ``raw`` to E.164, reading national formats in ``region`` (ISO alpha-2).

    A number written with ``+`` or ``00`` carries its own country; otherwise the lead's (or the
    center's) country decides. Numbers that parse but are not valid in their country's numbering
    plan (too short, unassigned ranges, ``000-000-0000``) are ``invalid``, not kept.
    """
    if raw is None or is_placeholder(raw):
        return Phone(None, Status.MISSING if not (raw or "").strip() else Status.PLACEHOLDER)
    text = str(raw).strip()
    if len(text) > 64:
        return Phone(None, Status.INVALID)
    compact = _PHONE_STRIP.sub("", text)
    if compact.startswith("+"):
        compact = _TRUNK_ZERO.sub(r"\1", compact)  # +44(0)20... -> +4420...
    compact = compact.replace("(", "").replace(")", "")
    if compact.startswith("00") and _PHONE_FAST.match(compact):
        compact = "+" + compact[2:]
    if _SAME_DIGIT.match(compact.lstrip("+")):
        return Phone(None, Status.PLACEHOLDER)
    key = compact if _PHONE_FAST.match(compact) else text
    reg = (region or "").strip().upper() or None
    return _parse_phone(key, reg)


@lru_cache(maxsize=262144)
def _parse_phone(text: str, region: str | None) -> Phone:
    if text.startswith("+") and text[1:].isdigit():
        return _parse_international(text[1:], region)
    if region is None and not text.startswith("+"):
        return Phone(None, Status.NO_REGION)
    try:
        number = phonenumbers.parse(text, region)
    except Exception:  # NumberParseException, or odd unicode digits: never crash on input
        return Phone(None, Status.INVALID)
    return _checked(number, region)


def _parse_international(digits: str, region: str | None) -> Phone:
    """Fast path for ``+digits``: split the country code ourselves instead of a full parse.

    Country codes are prefix-free (ITU E.164), so the first 1-3 digits that name a known code
    are the code. Numbers whose national part starts with 0 (Italy) take the full parser.
    """
    for size in (1, 2, 3):
        code = int(digits[:size] or 0)
        if code in COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            break
    else:
        return Phone(None, Status.INVALID)
    if not national or national.startswith("0") or len(national) > 17:
        try:
            return _checked(phonenumbers.parse("+" + digits, None), region)
        except Exception:
            return Phone(None, Status.INVALID)
    return _checked(PhoneNumber(country_code=code, national_number=int(national)), region)


def _checked(number: PhoneNumber, region: str | None) -> Phone:
    """Validate against the numbering plan; the lead's own region is tried first (cheapest)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(number.country_code or 0, ())  # stubs allow None; 0 is no code
    valid = (region in regions and phonenumbers.is_valid_number_for_region(number, region)) or \
        phonenumbers.is_valid_number(number)
    if not valid:
        return Phone(None, Status.INVALID)
    if number.italian_leading_zero:
        return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), Status.OK)
    return Phone(f"+{number.country_code}{number.national_number}", Status.OK)


def normalize_email(raw: str | None) -> tuple[str | None, str]:
    """Tidy and check an e-mail address; returns ``(address or None, status)``.

    Accepts ``mailto:`` links and ``Name <addr>`` forms, trims stray punctuation, and lowercases
    the whole address: local parts are case-sensitive in theory but no mailbox provider treats
    them so, and lowercasing is what makes duplicates across sources match.
    """
    if raw is None or is_placeholder(raw):
        return None, Status.MISSING if not (raw or "").strip() else Status.PLACEHOLDER
    text = _MAILTO.sub("", str(raw))
    found = _ANGLE.search(text)
    if found:
        text = found.group(1)
    text = text.strip().strip(".,;:'\"()[]").replace(" ", "").lower()
    text = unicodedata.normalize("NFKC", text)
    if text.count("@") != 1 or len(text) > 254:
        return None, Status.INVALID
    local, domain = text.split("@")
    domain = domain.rstrip(".")
    text = f"{local}@{domain}"
    if not _EMAIL.match(text) or len(local) > 64:
        return None, Status.INVALID
    if local in _PLACEHOLDER_EMAIL_LOCALS or domain in _PLACEHOLDER_EMAIL_DOMAINS:
        return None, Status.PLACEHOLDER
    return text, Status.OK


def _title_word(word: str) -> str:
    """Capitalise one name word, keeping particles low and hyphen/apostrophe parts capitalised."""
    if word.lower() in _LOWER_PARTICLES:
        return word.lower()
    parts = re.split(r"([\-'])", word.lower())
    out = []
    for p in parts:
        if p.startswith("mc") and len(p) > 2:
            out.append("Mc" + p[2:].capitalize())
        else:
            out.append(p.capitalize() if p not in "-'" else p)
    return "".join(out)


@lru_cache(maxsize=262144)
def tidy_name(raw: str | None) -> str | None:
    """A person's name in display form: ``"  SMITH, john "`` -> ``"John Smith"``.

    ``Last, First`` is reordered, titles (Mr, Dr, ...) removed, case fixed when the input was all
    upper or all lower (mixed case someone typed deliberately, like ``McDonald``, is kept).
    """
    if raw is None or is_placeholder(raw):
        return None
    text = unicodedata.normalize("NFKC", str(raw))
    text = _NAME_JUNK.sub(" ", text)
    if text.count(",") == 1:
        last, first = (p.strip() for p in text.split(","))
        text = f"{first} {last}"
    text = text.replace(",", " ")
    words = [w.strip(".") for w in _SPACES.sub(" ", text).strip().split(" ")]
    words = [w for w in words if w and w.lower() not in _TITLES]
    if not words:
        return None
    name = " ".join(words)
    if is_placeholder(name) or not any(ch.isalpha() for ch in name):
        return None
    # Case is fixed word by word where it was typed all upper or all lower; deliberate mixed
    # case (McDonald, DiCaprio) is kept.
    return " ".join(_title_word(w) if (w.isupper() or w.islower()) else w for w in words)


@lru_cache(maxsize=262144)
def name_key(name: str | None) -> str | None:
    """An accent-free, lowercase, space-separated name for comparisons."""
    if not name:
        return None
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    return _SPACES.sub(" ", text).strip() or None


@lru_cache(maxsize=262144)
def tidy_company(raw: str | None) -> str | None:
    """A company name in display form: whitespace and case fixed, placeholders dropped."""
    if raw is None or is_placeholder(raw):
        return None
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", str(raw))).strip().strip(",.;")
    if not text or is_placeholder(text) or not any(ch.isalnum() for ch in text):
        return None
    if text.islower():
        text = " ".join(w.capitalize() for w in text.split(" "))
    return text


@lru_cache(maxsize=262144)
def company_key(company: str | None) -> str | None:
    """``"ACME, Inc."`` and ``"Acme"`` -> ``"acme"``: legal suffixes and punctuation removed."""
    key = name_key(company.replace(".", "") if company else company)
    if not key:
        return None
    words = [w for w in key.split(" ") if w not in _LEGAL_SUFFIXES]
    return " ".join(words) or key
