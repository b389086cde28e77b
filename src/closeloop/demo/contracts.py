"""The operation's contracts, in closeloop's contract TOML (docs/sla.md): SLA terms and prices.

Prices are realistic for 2026 and chosen so that the cheapest hour is not the cheapest sale:
the offshore vendor bills the lowest hourly rate but closes the fewest sales, the in-house
center costs the most per hour. A reseller partner paid by commission only is priced but
has no calls yet: the candidate ``closeloop explain outsource --compare`` weighs.
"""

from __future__ import annotations

CONTRACTS = """\
# Pinebrook Office Systems: SLA contracts and prices of its centers, vendors and partner
# (see docs/sla.md, docs/demo.md). Rates are fractions (0.80 = 80 %); asa_s in seconds.
# Judged week by week; money in USD.

[[contract]]
name = "In-house (Chicago)"
scope = { vendor = "in-house" }
period = "month"

  [contract.price]
  currency = "USD"
  loaded_cost_per_agent_hour = 38.0   # wage, benefits, seat, supervision and IT per paid hour
  occupancy = 0.80                    # handle time / paid agent time

[[contract]]
name = "Harborline (offshore, Manila)"
scope = { vendor = "harborline" }
period = "week"
judge = "point"
start = 2025-06-02                    # an established vendor

  [contract.price]
  currency = "USD"
  per_productive_hour = 11.50         # billed logged-in agent hours
  occupancy = 0.85
  monthly_fixed = 4000.0              # account management, reporting, QA

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
  metric = "data_capture"             # sales with the customer's name, phone and e-mail: marketing pays for it
  direction = "at_least"
  target = 0.80
  min_volume = 50
  period = "month"
  penalty_per_point = 150.0           # per point short of 80 %
  bonus = 1000.0                      # per month at or above it

[[contract]]
name = "Andina (nearshore, Medellin)"
scope = { vendor = "andina" }
period = "week"
judge = "point"
start = 2026-01-05                    # new this quarter: its first 90 days are ramp-up

  [contract.price]
  currency = "USD"
  per_handled_minute = 0.42           # talk + hold + wrap minutes
  monthly_fixed = 2500.0

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
  metric = "data_capture"             # sales with the customer's name, phone and e-mail: marketing pays for it
  direction = "at_least"
  target = 0.80
  min_volume = 50
  period = "month"
  penalty_per_point = 150.0           # per point short of 80 %
  bonus = 1000.0                      # per month at or above it

[[contract]]
name = "Cobalt Office Partners (reseller)"
scope = { vendor = "cobalt" }
period = "month"

  [contract.price]
  currency = "USD"
  commission = 0.12                   # of the order value of each sale; calls are free
"""


def contracts_toml() -> str:
    """The demo's contracts.toml text."""
    return CONTRACTS


__all__ = ["contracts_toml"]
