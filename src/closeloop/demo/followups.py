"""Effect 6: prospects who did not buy are followed up within a day, later, or never.

After the first simulation pass the follow-up desk gets a dial list: for each lead whose
first answered sales call ended ``callback`` or ``no_sale`` (and who bought nothing in
that pass), a follow-up is scheduled soon (0.5-6 h after the call; the desk dials at
its next shift, so within a day), later (1.5-10 days) or never, with shares that depend
on whether the prospect asked for a call-back. The lead's quality on the follow-up is
its own quality times ``followup_decay_per_day ** delay_days``: interest cools. The
second pass simulates the desk dialling that list, with the same routing and outcome
model, so the follow-up calls and their sales come from the simulator.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.sim.scenario import Lead

# (soon, later, never) shares for a prospect who asked to be called back / who said no.
SHARES = {"callback": (0.60, 0.30, 0.10), "no_sale": (0.25, 0.35, 0.40)}
SOON_H = (0.5, 6.0)
LATER_D = (1.5, 10.0)


def followup_leads(calls: pa.Table, start_us: int, horizon_s: float, quality: dict[str, float],
                   decay_per_day: float, rng: np.random.Generator) -> list[Lead]:
    """The follow-up desk's dial list from the first pass's calls (same lead ids, delayed quality)."""
    sales = calls.filter(pc.and_(pc.equal(calls["call_type"], "sales"), pc.is_valid(calls["answered_at"])))
    sales = sales.filter(pc.is_valid(sales["lead_id"]))
    bought = set(sales.filter(pc.equal(sales["outcome"], "sale"))["lead_id"].to_pylist())
    lost = sales.filter(pc.is_in(sales["outcome"], pa.array(["callback", "no_sale"])))
    lost = lost.sort_by([("ended_at", "ascending"), ("call_id", "ascending")])
    lead = np.asarray(lost["lead_id"].to_numpy(zero_copy_only=False), dtype=object)
    callback = np.asarray(lost["outcome"].to_numpy(zero_copy_only=False), dtype=object) == "callback"
    ended = (pc.cast(lost["ended_at"], pa.int64()).to_numpy() - start_us) / 1e6
    first = np.sort(np.unique(lead, return_index=True)[1])  # each lead's first lost call, in time order
    first = first[np.fromiter((x not in bought for x in lead[first].tolist()), dtype=bool, count=len(first))]
    u = rng.random((len(first), 2))
    soon = np.where(callback[first], SHARES["callback"][0], SHARES["no_sale"][0])
    later = soon + np.where(callback[first], SHARES["callback"][1], SHARES["no_sale"][1])
    delay = np.where(u[:, 0] < soon, 3600.0 * (SOON_H[0] + (SOON_H[1] - SOON_H[0]) * u[:, 1]),
                     86400.0 * (LATER_D[0] + (LATER_D[1] - LATER_D[0]) * u[:, 1]))
    ready = ended[first] + delay
    keep = (u[:, 0] < later) & (ready < horizon_s)
    out = [Lead(lid, r, quality.get(lid, 1.0) * decay_per_day ** (d / 86400.0), "followup")
           for lid, r, d in zip(lead[first][keep].tolist(), ready[keep].tolist(), delay[keep].tolist(), strict=True)]
    return out


__all__ = ["SHARES", "followup_leads"]
