"""The finance review console: a static page and its assets, no data and no token inside.

The page asks the user for a bearer token and calls the API itself, so the route needs no
authorizer; a strict content security policy keeps the page to its own scripts and API.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.logging import make_logger

logger = make_logger("console")
app = APIGatewayHttpResolver()

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
}
_ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(js|css)$")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=8)
def _file(name: str) -> str:
    return resources.files("shared.console").joinpath(name).read_text(encoding="utf-8")


def _serve(name: str) -> Response:
    extension = name.rsplit(".", 1)[1]
    return Response(
        status_code=200, content_type=CONTENT_TYPES[extension], body=_file(name), headers=HEADERS
    )


def _not_found() -> Response:
    return Response(
        status_code=404,
        content_type="application/problem+json",
        body='{"type": "about:blank", "title": "Not found", "status": 404, '
        '"detail": "no such console file"}',
    )


@app.get("/console")
def page() -> Response:
    return _serve("index.html")


@app.get("/console/<asset>")
def asset(asset: str) -> Response:
    if not _ASSET.match(asset) or not resources.files("shared.console").joinpath(asset).is_file():
        return _not_found()
    return _serve(asset)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
