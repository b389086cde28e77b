"""The API (``/api/v1``): every page's data as JSON (default), CSV or Parquet (``?format=`` or Accept).

Same scope rules as the pages (the same :class:`~closeloop.web.scope.ScopedData`), session or
bearer-token auth (``closeloop tokens create``). The OpenAPI description is at
``/api/openapi.json`` and readable at ``/api/docs`` (rendered here: no CDN).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from closeloop.cli.common import json_text
from closeloop.results import Result
from closeloop.web.auth import client_ip, data, require
from closeloop.web.routes.pages import Filt, overview_data, scorecard_data
from closeloop.web.scope import ScopedData
from closeloop.web.views import ANSWERS, data_response, render, wanted_format

router = APIRouter(prefix="/api", responses=ANSWERS)
Data = Annotated[ScopedData, Depends(data)]


def _answer(request: Request, result: Result, name: str) -> Response:
    return data_response(request, result, wanted_format(request, default="json"), name)


@router.get("/v1/me", tags=["account"])
def me(request: Request) -> dict[str, Any]:
    """Who is calling and what they see."""
    who = require(request)
    return {"name": who.name, "role": who.role, "via_token": who.via_token, "scope": who.scope.describe(),
            "centers": sorted(who.scope.centers) if who.scope.centers is not None else None}


@router.get("/v1/centers", tags=["data"])
def centers(request: Request, d: Data) -> Response:
    """Centers in scope: id, vendor, name, time zone."""
    return Response(json_text({"rows": d.centers()}), media_type="application/json")


@router.get("/v1/overview", tags=["data"])
def overview(request: Request, d: Data, f: Filt) -> Response:
    """Headline KPIs (one row, every rate with its interval) within scope and filters."""
    return _answer(request, overview_data(d, f)["head"], "overview")


@router.get("/v1/overview/trend", tags=["data"])
def trend(request: Request, d: Data, f: Filt) -> Response:
    """The headline KPIs per week."""
    return _answer(request, overview_data(d, f)["trend"], "trend")


@router.get("/v1/scorecard", tags=["data"])
def scorecard(request: Request, d: Data, f: Filt,
              by: Literal["vendor", "center_id", "queue", "team", "agent_id", "day"] = "vendor",
              view: Literal["ops", "leads", "care"] = "ops") -> Response:
    """One drill level (by = vendor, center_id, queue, team, agent_id or day; view = ops, leads or care)."""
    return _answer(request, scorecard_data(d, f, by, view), f"scorecard-{by}")


@router.get("/v1/calls", tags=["data"])
def calls(request: Request, d: Data, f: Filt, day: date | None = None) -> Response:
    """The calls of one local day (first 500) within scope and filters."""
    return _answer(request, d.calls(d.filters(f.drill()), day), "calls")


@router.get("/v1/calls/{call_id}", tags=["data"])
def call(request: Request, d: Data, call_id: str) -> Response:
    """One call with its transcript turns and lead (audited as a call view)."""
    got = d.call(call_id)
    who = require(request)
    request.app.state.accounts.audit(who.actor, "call_view", call_id, client_ip(request))
    return Response(json_text(got), media_type="application/json")


@router.get("/v1/sla", tags=["data"])
def sla(request: Request, d: Data, period: str | None = None, summary: bool = False) -> Response:
    """Each contract term per period (or each contract, summary=true), contracts in scope only."""
    return _answer(request, d.sla(period=period, summary=summary), "sla")


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    """The API's OpenAPI description."""
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> Response:
    """The API described for people, from the OpenAPI document."""
    spec = request.app.openapi()
    ops = [{"method": m.upper(), "path": p, "summary": o.get("summary", ""), "doc": o.get("description", ""),
            "params": [q["name"] for q in o.get("parameters", [])]}
           for p, item in spec.get("paths", {}).items() for m, o in item.items()]
    return render(request, "apidocs.html", title="API", ops=ops)
