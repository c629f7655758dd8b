"""The gateway's routing and payload translation, without a server."""

from __future__ import annotations

import base64

import pytest
import requests

from shared.local.gateway import Gateway, GatewayError, Router, http_response
from shared.local.pollers import failed_message_ids
from shared.local.template import Route


def route(method: str, path: str) -> Route:
    return Route(method, path, "Fn", authorized=True)


def test_literal_segments_win_over_path_parameters() -> None:
    router = Router([route("GET", "/v1/items/{item_id}"), route("GET", "/v1/items/special")])

    matched, params = router.match("GET", "/v1/items/special")

    assert matched.path == "/v1/items/special"
    assert params == {}


def test_greedy_parameter_takes_the_rest_of_the_path() -> None:
    router = Router([route("ANY", "/files/{path+}")])

    matched, params = router.match("DELETE", "/files/a/b/c.txt")

    assert params == {"path": "a/b/c.txt"}
    assert matched.method == "ANY"


def test_wrong_method_lists_the_allowed_ones() -> None:
    router = Router([route("GET", "/v1/items"), route("POST", "/v1/items")])

    with pytest.raises(GatewayError) as raised:
        router.match("PUT", "/v1/items")

    assert raised.value.status == 405
    assert raised.value.headers == {"Allow": "GET, POST"}


@pytest.mark.parametrize("method", ["TRACE", "QUERY"])
def test_a_method_http_server_does_not_know_is_refused_with_a_405_problem(method: str) -> None:
    # Given a gateway serving only GET /v1/items
    gateway = Gateway([route("GET", "/v1/items")], authorize=lambda token: {})
    port = gateway.bind(0)
    gateway.start({}, run_job=lambda job, now: None, account_id="123456789012")
    try:
        # When a client sends a method the standard library's server has no handler for
        answer = requests.request(method, f"http://127.0.0.1:{port}/v1/items", timeout=10)
    finally:
        gateway.stop()

    # Then the gateway routes it and refuses it, rather than http.server's 501 HTML page
    assert answer.status_code == 405
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Allow"] == "GET"


def test_result_without_status_code_becomes_a_json_200() -> None:
    status, headers, body = http_response({"ok": True})

    assert (status, headers, body) == (200, [("Content-Type", "application/json")], b'{"ok": true}')


def test_base64_result_body_is_decoded() -> None:
    result = {
        "statusCode": 200,
        "body": base64.b64encode(b"\x00\xff").decode(),
        "isBase64Encoded": True,
    }

    assert http_response(result)[2] == b"\x00\xff"


def test_non_string_body_is_a_handler_error() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        http_response({"statusCode": 200, "body": {"not": "a string"}})


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, {"a", "b"}),
        ({"batchItemFailures": "oops"}, {"a", "b"}),
        ("not a dict", {"a", "b"}),
    ],
)
def test_partial_batch_response_names_the_failures_and_malformed_ones_fail_the_batch(
    result: object, expected: set[str]
) -> None:
    assert failed_message_ids(result, ["a", "b"], partial=True) == expected
