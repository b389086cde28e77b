"""The closeloop web app: dashboards and an API over one workspace, scoped per caller.

``create_app(workspace)`` builds the FastAPI app; ``closeloop serve`` runs it. See docs/web.md.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The FastAPI app for a workspace (see :func:`closeloop.web.app.create_app`)."""
    from closeloop.web.app import create_app as build

    return build(*args, **kwargs)


__all__ = ["create_app"]
