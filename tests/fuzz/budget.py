"""How hard the fuzz suite tries: a short budget in CI, a long one with ``make fuzz``.

``CLOSELOOP_FUZZ=long`` (what ``make fuzz`` sets) multiplies the examples by 40 and
lets hypothesis run without its per-test time limits. The CI budget keeps the whole of
``tests/fuzz`` under three minutes on a 2-core machine.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG = os.environ.get("CLOSELOOP_FUZZ", "").lower() == "long"


def budget(examples: int) -> settings:
    """Hypothesis settings for a fuzz test worth ``examples`` examples in CI."""
    return settings(
        max_examples=examples * (40 if LONG else 1),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.function_scoped_fixture],
        derandomize=not LONG,  # CI runs the same examples each time; the long run explores
        database=None,
    )
