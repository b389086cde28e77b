"""The Gap page: is a difference the groups' calls (mix) or their results on the same calls (performance)?

The client compares vendors or centers; a vendor compares its own centers (never another
vendor: that would show the other vendor's rate). Below it, mode switching: the close rate of
sales calls after a care call versus after a sales call. Both come from the Workspace
(``explain_gap``, ``explain_modes``) through the scoped data layer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from closeloop.errors import CloseloopError
from closeloop.web.auth import data
from closeloop.web.scope import OutOfScope, ScopedData
from closeloop.web.views import data_response, render, wanted_format

router = APIRouter(include_in_schema=False)
#: Dimensions a gap may be adjusted for (mix): what differs between two groups' calls.
ADJUSTABLE = ("source", "queue", "direction", "call_type", "hour", "weekday")


@router.get("/gap")
def gap(request: Request, d: Annotated[ScopedData, Depends(data)], dimension: str = "center_id",
        a: str | None = None, b: str | None = None,
        adjust_for: Annotated[list[str] | None, Query()] = None) -> Response:
    """The gap between two groups split into mix and performance, and mode switching."""
    adjust = [x for x in (adjust_for or ["queue"]) if x in ADJUSTABLE] or ["queue"]
    options = [c["vendor"] for c in d.centers()] if dimension == "vendor" else [c["center_id"] for c in d.centers()]
    options = sorted(set(options))
    result, message = None, None
    if a and b:
        try:
            result = d.gap(dimension, a, b, adjust)
        except OutOfScope:
            raise
        except CloseloopError as exc:
            message = str(exc)
    fmt = wanted_format(request)
    if result is not None and fmt != "html":
        return data_response(request, result, fmt, "gap")
    try:
        modes = d.modes()
    except CloseloopError as exc:
        modes, message = None, message or str(exc)
    return render(request, "gap.html", title="Gap: mix or performance", result=result, modes=modes,
                  dimension=dimension, a=a, b=b, options=options, adjust=adjust, adjustable=ADJUSTABLE,
                  message=message, client=d.scope.is_client)
