"""Path parameters reach the handlers percent-decoded, once, on every route: API Gateway
passes the raw path (`ann%40shop.example`), the product speaks of `ann@shop.example`."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.http.api import Api, Reply, Request
from shared.http.catalogue import ROUTES, RouteSpec
from tests.integration.conftest import FakeContext, http_event

ALL_ROLES = ["admin", "client", "finance"]
ROUTES_WITH_PATH_PARAMETERS = [
    pytest.param(r, id=r.key) for r in ROUTES if "{" in r.path and r.request is None
]


def _echo_api(route: RouteSpec) -> Api:
    api = Api(service="path-parameters")

    @api.route(route.method, route.path)
    def echo(request: Request[Any]) -> Reply:
        return Reply(200, request.path)

    return api


def _call(api: Api, route: RouteSpec, raw_value: str) -> tuple[int, Any]:
    names = re.findall(r"{(\w+)}", route.path)
    path = route.path
    for name in names:
        path = path.replace(f"{{{name}}}", raw_value)
    event = http_event(route.method, route.path, path, roles=ALL_ROLES)
    response = api.handler(event, FakeContext())  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("route", ROUTES_WITH_PATH_PARAMETERS)
def test_a_percent_encoded_path_parameter_reaches_the_handler_decoded(route: RouteSpec) -> None:
    # Given a route, and a value sent percent-encoded as API Gateway passes it on
    api = _echo_api(route)

    # When it is called
    status, path = _call(api, route, "ann%40shop.example")

    # Then the handler sees the value the client meant
    assert status == 200
    assert set(path.values()) == {"ann@shop.example"}


@pytest.mark.parametrize("route", ROUTES_WITH_PATH_PARAMETERS)
def test_a_path_parameter_is_decoded_once_only(route: RouteSpec) -> None:
    api = _echo_api(route)

    status, path = _call(api, route, "50%2525%20off")

    assert status == 200
    assert set(path.values()) == {"50%25 off"}
