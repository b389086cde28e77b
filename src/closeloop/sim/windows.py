"""Dialing windows: an outbound campaign dials only within hours of the day (event engine).

``dial_window = "08:00-20:00"`` (the scenario's time zone; an end before the start runs
past midnight). Outside it the campaign's leads are parked where no policy sees them —
fresh leads, redials coming due, and leads still waiting when the window closes — and
they come back, in the order they were parked, when it opens again. A customer already
connected by a predictive dial is not parked.
"""

from __future__ import annotations

from collections.abc import Callable

from closeloop.routing import RouterState
from closeloop.sim.scenario import Scenario
from closeloop.sim.shifts import duty_intervals, parse_time


def window_spans(s: Scenario, text: str) -> list[tuple[float, float]]:
    """Open (from, to) seconds of a ``HH:MM-HH:MM`` window over the scenario's horizon."""
    a, b = (x.strip() for x in text.split("-", 1))
    (h0, m0), (h1, m1) = parse_time(a), parse_time(b)
    hours = ((h1 * 60 + m1) - (h0 * 60 + m0)) % (24 * 60) / 60.0 or 24.0
    return duty_intervals(s.start, s.horizon_s, s.timezone, a, hours, "mon-sun")


class Windows:
    """Which campaigns are open, and the leads parked while they are closed."""

    def __init__(self, s: Scenario, state: RouterState) -> None:
        self.st = state
        self.spans = {qi: window_spans(s, q.dial_window) for qi, q in enumerate(s.queues) if q.dial_window}
        self.open = {qi: bool(sp) and sp[0][0] <= 0.0 for qi, sp in self.spans.items()}
        self.parked: dict[int, list[int]] = {qi: [] for qi in self.spans}

    def events(self) -> list[tuple[float, int, bool]]:
        """(time, queue, opens) of every opening and closing after the start."""
        out = []
        for qi, spans in self.spans.items():
            for a, b in spans:
                if a > 0.0:
                    out.append((a, qi, True))
                out.append((b, qi, False))
        return out

    def park(self, qi: int, j: int) -> bool:
        """Park lead ``j`` if its campaign is closed (True)."""
        if qi in self.open and not self.open[qi]:
            self.parked[qi].append(j)
            return True
        return False

    def close(self, qi: int, queue: str) -> None:
        """The window closes: waiting leads (not connected customers) are parked."""
        self.open[qi] = False
        for c in list(self.st.waiting(queue)):
            if not c.connected:
                self.st.remove_contact(c)
                self.parked[qi].append(c.key)

    def reopen(self, qi: int, arrive: Callable[[int], None]) -> None:
        """The window opens: parked leads arrive again, oldest first."""
        self.open[qi] = True
        leads, self.parked[qi] = self.parked[qi], []
        for j in leads:
            arrive(j)


__all__ = ["Windows", "window_spans"]
