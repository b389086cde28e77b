"""SLA contracts: terms per vendor/center/queue (TOML), judged per period from the warehouse.

Pure: :func:`parse_contracts` takes TOML text; :func:`check_contracts` takes Ibis tables.
"""

from closeloop.contracts.check import FAIL, NO_DATA, NOISE, PASS, TermResult, check_contracts, judge, summarise
from closeloop.contracts.terms import DIRECTIONS, PERIODS, Contract, Term, parse_contracts

__all__ = [
    "DIRECTIONS", "FAIL", "NOISE", "NO_DATA", "PASS", "PERIODS", "Contract", "Term", "TermResult",
    "check_contracts", "judge", "parse_contracts", "summarise",
]
