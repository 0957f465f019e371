"""A ``{param}`` route does not swallow a static sibling's path: an undeclared method there answers 405."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from inbox.web import openapi
from inbox.web.endpoints import route_path


def _app() -> web.Application:
    app = web.Application()
    declared = openapi.api_routes()
    every_path = [ep.path for routes in declared for ep in routes]
    for routes in declared:
        routes.register(app, every_path)
    return app


async def _status(app: web.Application, method: str, path: str) -> int | None:
    info = await app.router.resolve(make_mocked_request(method, path, app=app))
    exc = info.http_exception
    return exc.status if exc is not None else None


def test_a_parameter_segment_leaves_its_static_siblings_alone() -> None:
    paths = ["/a/{name}", "/a/history", "/a/rollback", "/b/{id}"]
    assert route_path("/a/{name}", paths) == "/a/{name:(?!(?:history|rollback)$)[^{}/]+}"
    assert route_path("/b/{id}", paths) == "/b/{id}"
    assert route_path("/a/history", paths) == "/a/history"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("PUT", "/api/v1/admin/rules/history", 405),
    ("DELETE", "/api/v1/admin/connectors/rollback", 405),
    ("PUT", "/api/v1/admin/connectors/test", 405),
    ("GET", "/api/v1/items/bulk", 405),
    ("PUT", "/api/v1/admin/rules/my-rule", None),
    ("GET", "/api/v1/items/42", None),
    ("GET", "/api/v1/admin/rules/history", None),
])
async def test_undeclared_methods_on_static_paths_answer_405(method: str, path: str, status: int | None) -> None:
    assert await _status(_app(), method, path) == status


async def test_a_whole_body_refusal_is_a_422_not_a_500() -> None:
    """A model validator's error (loc is the body itself) reads as its own message."""
    from pydantic import model_validator

    from inbox.web.endpoints import InvalidFields
    from inbox.web.models import Body

    class Pair(Body):
        a: int | None = None
        b: int | None = None

        @model_validator(mode="after")
        def one_of(self) -> Pair:
            if self.a is None and self.b is None:
                raise ValueError("a or b is needed")
            return self

    ep = next(ep for routes in openapi.api_routes() for ep in routes)
    with pytest.raises(InvalidFields) as caught:
        ep._parse(Pair, {}, "body")
    assert "a or b is needed" in str(caught.value)
