"""The Patterns page: what in the calls predicts lost sales (or unresolved care), within scope.

It calls ``Workspace.patterns`` through the scoped data layer: the client sees every center
or one, a vendor's manager or a supervisor one of their centers at a time, an agent nothing
(404). The first request after new transcripts scans them (once; stored in the warehouse).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from closeloop.web.auth import data
from closeloop.web.scope import ScopedData
from closeloop.web.views import data_response, render, wanted_format

router = APIRouter(include_in_schema=False)


@router.get("/patterns")
def patterns(request: Request, d: Annotated[ScopedData, Depends(data)], center_id: str | None = None,
             call_type: Literal["sales", "care"] = "sales") -> Response:
    """Each detector and script step: how often, success with vs without it, adjusted effect."""
    got = d.patterns(center_id or None, call_type)
    fmt = wanted_format(request)
    if fmt != "html":
        return data_response(request, got, fmt, "patterns")
    centers = [c["center_id"] for c in d.centers()]
    return render(request, "patterns.html", title="Patterns", result=got, rows=got.rows(), centers=centers,
                  center=center_id or (None if d.scope.is_client else min(centers)), call_type=call_type,
                  client=d.scope.is_client)
