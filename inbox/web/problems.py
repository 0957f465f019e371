"""RFC 9457 problem details for every API error, and the middleware that produces them."""
from __future__ import annotations

import json
from typing import Any

import structlog
from aiohttp import web

from inbox.errors import DomainError

__all__ = ["problem", "problem_middleware"]

log = structlog.get_logger(__name__)


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return web.Response(status=status, text=json.dumps(body), content_type="application/problem+json")


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    is_api = request.path.startswith("/api/")
    try:
        return await handler(request)
    except DomainError as e:
        if is_api:
            return problem(e.status, e.title, e.detail, instance=request.path)
        raise _html_error(e.status, e.detail) from None
    except web.HTTPException as e:
        if not is_api or e.status < 400:
            raise
        title = e.reason or "Error"
        detail = e.text if e.text and not e.text.startswith(f"{e.status}:") else None
        resp = problem(e.status, title, detail, instance=request.path)
        for h in ("Allow", "WWW-Authenticate", "Retry-After"):
            if h in e.headers:
                resp.headers[h] = e.headers[h]
        return resp
    except Exception:
        log.exception("unhandled_error", path=request.path, method=request.method)
        if is_api:
            return problem(500, "Internal server error", "the error was logged", instance=request.path)
        raise


def _html_error(status: int, detail: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
           422: web.HTTPUnprocessableEntity}.get(status, web.HTTPBadRequest)
    return cls(text=detail)
