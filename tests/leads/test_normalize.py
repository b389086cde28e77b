"""Normalisation of real-world phone numbers, e-mails, names and companies."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.leads.normalize import (
    Status,
    company_key,
    is_placeholder,
    normalize_email,
    normalize_phone,
    tidy_company,
    tidy_name,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(212) 555-0100", "US", "+12125550100"),
        ("212.555.0100", "US", "+12125550100"),
        ("1-212-555-0100", "US", "+12125550100"),
        ("+1 (212) 555-0100", None, "+12125550100"),
        ("001 212 555 0100", "GB", "+12125550100"),  # international prefix written as 00
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),  # the British (0) convention
        ("07911 123456", "GB", "+447911123456"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "US", "+33612345678"),  # own country code beats the region
        ("0917 123 4567", "PH", "+639171234567"),
        ("+91 98765 43210", None, "+919876543210"),
        ("02 1234 5678", "IT", "+390212345678"),  # Italian leading zero kept
        ("+39 02 1234 5678", None, "+390212345678"),
        ("212-555-0100 ext. 12", "US", "+12125550100"),
        ("+1\u00a0212\u00a0555\u00a00100", None, "+12125550100"),  # non-breaking spaces
    ],
)
def test_phone_to_e164(raw: str, region: str | None, expected: str) -> None:
    got = normalize_phone(raw, region)
    assert got.status == Status.OK
    assert got.e164 == expected


@pytest.mark.parametrize(
    ("raw", "region", "status"),
    [
        (None, "US", Status.MISSING),
        ("", "US", Status.MISSING),
        ("N/A", "US", Status.PLACEHOLDER),
        ("Select", "US", Status.PLACEHOLDER),
        ("000-000-0000", "US", Status.PLACEHOLDER),
        ("9999999999", "US", Status.PLACEHOLDER),
        ("12345", "US", Status.INVALID),
        ("call me", "US", Status.INVALID),
        ("(212) 555-0100", None, Status.NO_REGION),  # national format and no country to read it in
        ("+1 212 555 01", None, Status.INVALID),  # too short
        ("06 12 34 56 78", "US", Status.INVALID),  # a French number read as American
    ],
)
def test_phone_not_kept(raw: str | None, region: str | None, status: str) -> None:
    got = normalize_phone(raw, region)
    assert got.e164 is None
    assert got.status == status


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("John.Smith@Example.co.uk", "john.smith@example.co.uk"),
        ("  jane@acme.com. ", "jane@acme.com"),
        ("mailto:Jane@Acme.com", "jane@acme.com"),
        ("Jane Doe <jane.doe@acme.com>", "jane.doe@acme.com"),
        ("o'brien+leads@acme.ie", "o'brien+leads@acme.ie"),
        ("JOSE@EMPRESA.MX", "jose@empresa.mx"),
    ],
)
def test_email_kept(raw: str, expected: str) -> None:
    assert normalize_email(raw) == (expected, Status.OK)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("john@", Status.INVALID),
        ("john.gmail.com", Status.INVALID),
        ("a@b@c.com", Status.INVALID),
        ("john..smith@acme.com", Status.INVALID),
        ("john@acme", Status.INVALID),  # no top-level domain
        ("test@test.com", Status.PLACEHOLDER),
        ("noemail@acme.com", Status.PLACEHOLDER),
        ("N/A", Status.PLACEHOLDER),
        (None, Status.MISSING),
    ],
)
def test_email_not_kept(raw: str | None, status: str) -> None:
    assert normalize_email(raw) == (None, status)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  SMITH, john ", "John Smith"),
        ("mary o'neil-jones", "Mary O'Neil-Jones"),
        ("Dr. Ana de la Cruz", "Ana de la Cruz"),
        ("JEAN-LUC PICARD", "Jean-Luc Picard"),
        ("McDonald Ronald", "McDonald Ronald"),  # deliberate mixed case kept
        ("Select", None),
        ("N/A", None),
        ("test", None),
        ("---", None),
    ],
)
def test_tidy_name(raw: str, expected: str | None) -> None:
    assert tidy_name(raw) == expected


def test_company_key_ignores_legal_form_and_case() -> None:
    assert company_key(tidy_company("ACME, Inc.")) == company_key(tidy_company("acme")) == "acme"
    assert company_key(tidy_company("Dunder S.A.")) == company_key("Dunder") == "dunder"
    assert tidy_company("N/A") is None


def test_placeholders() -> None:
    assert is_placeholder("  Please   Select ")
    assert is_placeholder("-- select --")
    assert not is_placeholder("Selectica Inc")


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.none(), st.text(max_size=40), st.from_regex(r"\+?[0-9 ()./-]{0,25}", fullmatch=True)),
       region=st.sampled_from([None, "US", "GB", "FR", "IT", "PH", "ZZ", "us"]))
def test_phone_never_crashes(raw: str | None, region: str | None) -> None:
    got = normalize_phone(raw, region)
    assert (got.e164 is None) == (got.status != Status.OK)
    if got.e164:
        assert got.e164.startswith("+") and got.e164[1:].isdigit()
        assert normalize_phone(got.e164, None).e164 == got.e164  # idempotent


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.none(), st.text(max_size=60), st.emails()))
def test_email_never_crashes(raw: str | None) -> None:
    address, status = normalize_email(raw)
    if address is not None:
        assert status == Status.OK and address == address.lower() and address.count("@") == 1
        assert normalize_email(address) == (address, Status.OK)  # idempotent


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.none(), st.text(max_size=40)))
def test_names_never_crash(raw: str | None) -> None:
    name = tidy_name(raw)
    assert name is None or (name == name.strip() and name)
    tidy_company(raw)
