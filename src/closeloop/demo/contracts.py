"""The two vendors' SLA contracts, in closeloop's contract TOML (docs/sla.md)."""

from __future__ import annotations

CONTRACTS = """\
# Pinebrook Office Systems: SLA contracts with its two vendors (see docs/sla.md, docs/demo.md).
# Rates are fractions (0.80 = 80 %); asa_s in seconds. Judged week by week.

[[contract]]
name = "Harborline (offshore, Manila)"
scope = { vendor = "harborline" }
period = "week"
judge = "point"

  [[contract.term]]
  metric = "service_level"
  direction = "at_least"
  target = 0.80
  min_volume = 200
  weight = 2.0
  penalty = 2500.0

  [[contract.term]]
  metric = "asa_s"
  direction = "at_most"
  target = 30
  min_volume = 200

  [[contract.term]]
  metric = "abandon_rate"
  direction = "at_most"
  target = 0.06
  min_volume = 200
  penalty = 1000.0

  [[contract.term]]
  metric = "close_rate"
  direction = "at_least"
  target = 0.15
  min_volume = 200
  weight = 2.0
  penalty = 2000.0

  [[contract.term]]
  metric = "csat_top2"
  direction = "at_least"
  target = 0.45
  min_volume = 100

  [[contract.term]]
  metric = "data_capture"
  direction = "at_least"
  target = 0.80
  min_volume = 50
  period = "month"

[[contract]]
name = "Andina (nearshore, Medellin)"
scope = { vendor = "andina" }
period = "week"
judge = "point"

  [[contract.term]]
  metric = "service_level"
  direction = "at_least"
  target = 0.80
  min_volume = 200
  weight = 2.0
  penalty = 2500.0

  [[contract.term]]
  metric = "asa_s"
  direction = "at_most"
  target = 30
  min_volume = 200

  [[contract.term]]
  metric = "abandon_rate"
  direction = "at_most"
  target = 0.06
  min_volume = 200
  penalty = 1000.0

  [[contract.term]]
  metric = "close_rate"
  direction = "at_least"
  target = 0.25
  min_volume = 200
  weight = 2.0
  penalty = 2000.0

  [[contract.term]]
  metric = "csat_top2"
  direction = "at_least"
  target = 0.45
  min_volume = 100

  [[contract.term]]
  metric = "data_capture"
  direction = "at_least"
  target = 0.80
  min_volume = 50
  period = "month"
"""


def contracts_toml() -> str:
    """The demo's contracts.toml text."""
    return CONTRACTS


__all__ = ["contracts_toml"]
