"""RFC 9457 problem details for every API error, and the middleware that produces them."""
from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from sqlalchemy import exc as sa_exc

from inbox.errors import DomainError
from inbox.web.models import Problem

__all__ = ["problem", "problem_middleware"]

log = structlog.get_logger(__name__)

BUSY_RETRY_AFTER = "1"  # seconds, on the 503 answered when no database connection came free


def problem(status: int, title: str, detail: str | None = None, *, instance: str | None = None,
            errors: list[dict[str, str]] | None = None) -> web.Response:
    body = Problem.model_validate({"type": "about:blank", "title": title, "status": status, "detail": detail or None,
                                   "instance": instance, "errors": errors or None})
    return web.Response(status=status, body=body.model_dump_json(exclude_none=True),
                        content_type="application/problem+json")


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    is_api = request.path.startswith("/api/")
    try:
        resp: web.StreamResponse = await handler(request)
        return resp
    except DomainError as e:
        if is_api:
            errors = getattr(e, "errors", None)  # inbox.web.endpoints.InvalidFields: each invalid field
            return problem(e.status, e.title, e.detail, instance=request.path, errors=errors)
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
    except sa_exc.TimeoutError:
        # no pooled database connection came free within db_pool_timeout: the process is past what
        # it can serve; answering at once lets the client retry, where waiting on would only
        # lengthen the queue every later request joins
        log.warning("db_pool_exhausted", path=request.path, method=request.method)
        if is_api:
            resp = problem(503, "Service unavailable", "the service is busy; try again", instance=request.path)
            resp.headers["Retry-After"] = BUSY_RETRY_AFTER
            return resp
        raise web.HTTPServiceUnavailable(text="busy: try again in a moment",
                                         headers={"Retry-After": BUSY_RETRY_AFTER}) from None
    except ConnectionError:
        # the client went away while its request was read or answered: no one to answer, not a
        # server error; aiohttp drops the connection quietly
        log.info("client_gone", path=request.path, method=request.method)
        raise
    except Exception:
        log.exception("unhandled_error", path=request.path, method=request.method)
        if is_api:
            return problem(500, "Internal server error", "the error was logged", instance=request.path)
        raise


def _html_error(status: int, detail: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
           422: web.HTTPUnprocessableEntity}.get(status, web.HTTPBadRequest)
    return cls(text=detail)
