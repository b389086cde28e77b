"""Judge contracts against the warehouse: each term per period -> pass, fail or not-enough-data.

The value is the metric over the contract's calls in the period, computed by the same
scorecard code as everything else, with its Wilson CI for rates. ``judge = "point"``
decides on the value (as most contracts are written); ``judge = "ci"`` fails a term only
when the whole CI misses the target and passes it only when the whole CI meets it —
anything else is ``within-noise`` (not a failure, but worth watching).

Money: a failed term costs the party its breach (``penalty`` plus ``penalty_per_point`` per
point short), a passed one earns its ``bonus``; terms not judged move no money.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from closeloop.contracts.terms import Contract, Term
from closeloop.errors import EmptySelectionError
from closeloop.metrics import Conventions, ScorecardRequest, Selection, Tables, scorecard

PASS, FAIL, NO_DATA, NOISE = "pass", "fail", "not-enough-data", "within-noise"


@dataclass(frozen=True)
class TermResult:
    """One term judged for one period."""

    contract: str
    period: date
    metric: str
    value: float | None
    ci: tuple[float | None, float | None] | None
    n: int
    target: float
    direction: str
    status: str
    margin: float | None
    weight: float
    penalty: float
    #: Money the verdict moves: the bonus earned (+) or the breach's cost (-); 0 when not judged.
    money: float = 0.0

    def row(self) -> dict[str, Any]:
        """As a flat dict for output."""
        return {
            "contract": self.contract, "period": self.period, "metric": self.metric, "value": self.value,
            "ci": list(self.ci) if self.ci else None, "n": self.n, "target": self.target,
            "direction": self.direction, "status": self.status, "margin": self.margin,
            "weight": self.weight, "penalty": -self.money if self.money < 0 else 0.0,
            "bonus": self.money if self.money > 0 else 0.0,
        }


def check_contracts(
    tables: Tables, conv: Conventions, contracts: list[Contract], start: date | None = None, end: date | None = None,
) -> list[TermResult]:
    """Every term of every contract for every period between ``start`` and ``end``."""
    results: list[TermResult] = []
    for contract in contracts:
        for period in sorted({t.period for t in contract.terms}):
            terms = [t for t in contract.terms if t.period == period]
            req = ScorecardRequest(
                selection=Selection(filters=contract.filters, start=start, end=end), grain=period,
                metrics=tuple(dict.fromkeys(t.metric for t in terms)),
                contracts=(contract,) if contract.price else (),
            )
            try:
                rows = scorecard(tables, conv, req).rows
            except EmptySelectionError:
                rows = []
            for row in rows:
                results += [judge(contract, term, row) for term in terms]
    return sorted(results, key=lambda r: (r.contract, r.period, r.metric))


def judge(contract: Contract, term: Term, row: dict[str, Any]) -> TermResult:
    """The verdict on one term for one scorecard row (one period of the contract's calls)."""
    value = row.get(term.metric)
    n = int(row.get(f"{term.metric}_n", value) or 0)  # a count is its own volume
    ci = row.get(f"{term.metric}_ci")
    if value is None or n < max(term.min_volume, 1):
        status = NO_DATA
    elif contract.judge == "ci" and ci and None not in ci:
        lo, hi = ci
        if term.meets(lo) and term.meets(hi):
            status = PASS
        elif not term.meets(lo) and not term.meets(hi):
            status = FAIL
        else:
            status = NOISE
    else:
        status = PASS if term.meets(value) else FAIL
    money = term.money(status == PASS, value) if status in (PASS, FAIL) else 0.0
    return TermResult(
        contract=contract.name, period=row["period"], metric=term.metric, value=value,
        ci=tuple(ci) if ci else None, n=n, target=term.target, direction=term.direction, status=status,
        margin=term.margin(value) if value is not None else None, weight=term.weight, penalty=term.penalty,
        money=money,
    )


def summarise(results: list[TermResult]) -> list[dict[str, Any]]:
    """Per contract and period: terms passed/failed, weighted score of judged terms, penalties and bonuses."""
    groups: dict[tuple[str, date], list[TermResult]] = {}
    for r in results:
        groups.setdefault((r.contract, r.period), []).append(r)
    out = []
    for (name, period), rs in sorted(groups.items()):
        judged = [r for r in rs if r.status in (PASS, FAIL)]
        weight = sum(r.weight for r in judged)
        out.append({
            "contract": name, "period": period, "terms": len(rs),
            "passed": sum(r.status == PASS for r in rs), "failed": sum(r.status == FAIL for r in rs),
            "not_judged": sum(r.status in (NO_DATA, NOISE) for r in rs),
            "score": sum(r.weight for r in judged if r.status == PASS) / weight if weight else None,
            "penalty": sum(-r.money for r in rs if r.money < 0),
            "bonus": sum(r.money for r in rs if r.money > 0),
        })
    return out
