"""The demo's knobs: how big the simulated quarter is and how strong each planted effect is.

Every planted effect is a parameter here, with a default large enough to be found in a
quarter of data and small enough to be realistic (docs/demo.md lists them with the SQL
that measures each). Effects are on the log-odds of a sale unless said otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from closeloop.errors import InputError


@dataclass(frozen=True)
class Scale:
    """Size of the operation: days simulated, a multiplier on agents and traffic, transcripts kept."""

    name: str
    days: int
    size: float
    transcripts: int  # answered sales calls that get a transcript (a seeded sample); 0 = all


SCALES = {
    "small": Scale("small", 14, 0.2, 0),
    "medium": Scale("medium", 42, 0.5, 8000),
    "full": Scale("full", 91, 1.0, 20000),
}


@dataclass(frozen=True)
class Effects:
    """Planted effect sizes (see docs/demo.md, "Planted effects")."""

    # 1. offshore gap: performance part (conversation events, per-center prevalence) ...
    confusion: float = -1.0
    repeat_request: float = -0.3
    value_skipped: float = -0.8
    competitor: float = -0.6
    objection_unanswered: float = -0.6
    confusion_rate: float = 0.08
    confusion_rate_offshore: float = 0.30
    repeat_rate: float = 0.06
    repeat_rate_offshore: float = 0.18
    value_skipped_rate: float = 0.15
    value_skipped_rate_offshore: float = 0.35
    competitor_rate: float = 0.15
    objection_rate: float = 0.30
    unanswered_rate: float = 0.35  # of objections
    unanswered_rate_offshore: float = 0.55
    # ... and mix part: lead quality by source (odds multiplier on a sale)
    source_quality: dict[str, float] = field(default_factory=lambda: {
        "web_form": 1.2, "trade_show": 1.0, "partner_referral": 1.7, "purchased_list": 0.45,
    })
    # ... and lead attributes a scorer can learn beyond the source (odds multipliers):
    # the product asked about, and interest cooling with the lead's age when first called.
    product_quality: dict[str, float] = field(default_factory=lambda: {
        "laser printer": 1.0, "office router": 1.3, "desk phone system": 0.6, "network storage": 1.8,
        "managed print plan": 0.45,
    })
    age_decay_per_week: float = 0.7
    # 2. blending: log-odds lost on the first sales call after a care call, share left per further sales call
    switch_penalty: float = 0.9
    switch_decay: float = 0.55
    # 4. cherry-pickers: odds multiplier, and their shift length (hours) vs peers' 8.5
    cherry_pick_factor: float = 2.6
    cherry_pick_hours: float = 3.0
    cherry_pickers: int = 3
    # 5. offshore care staffing: share of the agents it would need (below 1: understaffed peaks)
    offshore_care_staffing: float = 0.87
    # 6. follow-ups: lead quality multiplier per day of delay before the follow-up call
    followup_decay_per_day: float = 0.78


@dataclass(frozen=True)
class DemoParams:
    """Everything that decides the demo's data: seed, scale, start and planted effects."""

    seed: int = 7
    scale: Scale = SCALES["full"]
    start: datetime = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # Monday 00:00 in Chicago
    effects: Effects = field(default_factory=Effects)

    @classmethod
    def for_scale(cls, scale: str, seed: int = 7, **effects: float) -> DemoParams:
        """Parameters for a named scale (``small``, ``medium``, ``full``) with optional effect overrides."""
        if scale not in SCALES:
            raise InputError(f"unknown demo scale {scale!r}; use one of {', '.join(SCALES)}")
        unknown = set(effects) - set(Effects.__dataclass_fields__)
        if unknown:
            raise InputError(f"unknown demo effect(s) {sorted(unknown)}; known: {sorted(Effects.__dataclass_fields__)}")
        return cls(seed=seed, scale=SCALES[scale], effects=replace(Effects(), **effects))  # type: ignore[arg-type]  # names checked above; mypy cannot type **dict into a dataclass


__all__ = ["SCALES", "DemoParams", "Effects", "Scale"]
