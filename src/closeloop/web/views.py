"""How a page or endpoint answers: one Result as HTML, JSON, CSV or Parquet, and the template filters.

Why one function: a table's export must be exactly what the page shows, so the page and its
``?format=csv|parquet`` (and the API) render the same :class:`~closeloop.results.Result`.
Exports are audited.
"""

from __future__ import annotations

import io
import math
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response

from closeloop.cli.common import json_text
from closeloop.errors import InputError
from closeloop.results import Result, csv_text

FORMATS = ("html", "json", "csv", "parquet")
#: The error answers every API endpoint may give (declared in the OpenAPI document).
ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad input (a filter, period or parameter that cannot be read)"},
    401: {"description": "no valid session or bearer token"},
    403: {"description": "the caller's role may not do this, or the CSRF check failed"},
    404: {"description": "not found, or outside the caller's scope (the two are not told apart)"},
    503: {"description": "the store is busy: retry after the Retry-After seconds"},
}
_MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8",
          "parquet": "application/vnd.apache.parquet"}


def wanted_format(request: Request, default: str = "html") -> str:
    """``?format=`` wins, then the Accept header; HTML for pages, JSON for the API."""
    fmt = request.query_params.get("format")
    if fmt is None:
        accept = request.headers.get("accept", "")
        fmt = next((f for f, m in _MEDIA.items() if m.split(";")[0] in accept), default)
    if fmt not in FORMATS:
        raise InputError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    return fmt


def data_response(request: Request, result: Result, fmt: str, name: str) -> Response:
    """The result as a JSON, CSV or Parquet body; CSV and Parquet downloads are audited as exports."""
    if fmt == "json":
        body = json_text({"columns": result.schema.describe(), "rows": result.rows()})
        return Response(body, media_type=_MEDIA["json"])
    who = request.state.principal
    request.app.state.accounts.audit(who.actor, "export", f"{request.url.path}?{request.url.query}",
                                     _ip(request), {"format": fmt, "rows": len(result)})
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return Response(csv_text(result.to_arrow()), media_type=_MEDIA["csv"], headers=headers)
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(result.to_arrow(), buf)
    return Response(buf.getvalue(), media_type=_MEDIA["parquet"], headers=headers)


def render(request: Request, template: str, **context: Any) -> Response:
    """A page: the template with the caller, the CSRF token and the workspace zone."""
    who = request.state.principal
    ws = request.app.state.ws
    context.setdefault("title", template.removesuffix(".html"))
    return request.app.state.templates.TemplateResponse(
        request, template, {"who": who, "csrf": who.csrf if who else None, "zone": ws.display_zone(), **context})


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def link(path: str, params: dict[str, Any]) -> str:
    """A URL with the non-empty params (filters carried along the drill path)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def pct(value: Any) -> str:
    """0.1234 -> '12.3 %'; empty for null."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{100 * value:.1f} %"


def num(value: Any) -> str:
    """A count or measure for reading: separators, four significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def when(value: Any, zone: ZoneInfo | str | None = None) -> str:
    """A UTC timestamp in the workspace (or center) zone, to the second."""
    if not isinstance(value, datetime):
        return num(value)
    if zone is not None and value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)
    return value.strftime("%Y-%m-%d %H:%M:%S %Z")


def mmss(seconds: Any) -> str:
    """75.5 -> '1:15' (where a turn starts in the recording)."""
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


FILTERS = {"pct": pct, "num": num, "when": when, "mmss": mmss}
