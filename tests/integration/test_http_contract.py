"""The HTTP contract of the intake functions, invoked with API Gateway v2 events on moto."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from shared.clock import iso
from tests.integration.conftest import FakeContext, Invoke, http_event, load_handler
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

PROBLEM = "application/problem+json"


def _program(invoke: Invoke, **overrides: Any) -> str:
    status, _, body = invoke(
        "programs", "POST", "/v1/programs", body=program_body(**overrides), roles=["admin"]
    )
    assert status == 201, body
    return str(body["program_id"])


def _code(invoke: Invoke, program_id: str) -> str:
    route = "/v1/programs/{program_id}/advocates"
    status, _, body = invoke(
        "advocates",
        "POST",
        route,
        f"/v1/programs/{program_id}/advocates",
        body=advocate_body(),
        roles=["client"],
    )
    assert status == 201, body
    return str(body["referral_code"])


def _item_count(aws: dict[str, str]) -> int:
    return boto3.client("dynamodb").scan(TableName=aws["TABLE_NAME"], Select="COUNT")["Count"]


def test_happy_path_records_and_reads_back_a_referral(invoke: Invoke, aws: dict[str, str]) -> None:
    program_id = _program(invoke)
    code = _code(invoke, program_id)
    status, _, created = invoke(
        "referrals", "POST", "/v1/referrals", body=referral_body(program_id, code), roles=["client"]
    )
    assert status == 201 and created["status"] == "pending"
    rid = created["referral_id"]
    route = "/v1/referrals/{referral_id}/events"
    status, _, accepted = invoke(
        "events",
        "POST",
        route,
        f"/v1/referrals/{rid}/events",
        body=purchase_body(),
        roles=["client"],
    )
    assert status == 202 and accepted["qualifying"] is True
    status, _, referral = invoke(
        "referrals", "GET", "/v1/referrals/{referral_id}", f"/v1/referrals/{rid}", roles=["finance"]
    )
    assert status == 200 and referral["qualified_at"] is not None
    assert rid in _queued_referrals(aws["SCORING_QUEUE_URL"])


def _queued_referrals(queue_url: str) -> set[str]:
    """Every referral id on the session's shared scoring queue (other tests queue too)."""
    sqs, found = boto3.client("sqs"), set()
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        found |= {json.loads(m["Body"])["referral_id"] for m in batch}
    return found


def test_missing_token_is_401_problem(invoke: Invoke) -> None:
    status, headers, body = invoke("programs", "GET", "/v1/programs", roles=None)
    assert status == 401 and headers["Content-Type"] == PROBLEM and body["status"] == 401


def test_wrong_role_is_403_and_admin_is_not_a_superuser(invoke: Invoke) -> None:
    status, headers, _body = invoke(
        "referrals", "POST", "/v1/referrals", body={}, roles=["admin", "finance"]
    )
    assert status == 403 and headers["Content-Type"] == PROBLEM


def test_malformed_json_is_400_and_writes_nothing(invoke: Invoke, aws: dict[str, str]) -> None:
    before = _item_count(aws)
    status, headers, _body = invoke(
        "programs", "POST", "/v1/programs", raw_body='{"name": ', roles=["admin"]
    )
    assert status == 400 and headers["Content-Type"] == PROBLEM
    assert _item_count(aws) == before


def test_json_nested_5000_deep_is_400_and_writes_nothing(
    invoke: Invoke, aws: dict[str, str]
) -> None:
    before = _item_count(aws)
    for raw in ("[" * 5000 + "]" * 5000, '{"name": ' + "[" * 5000 + "]" * 5000 + "}"):
        status, headers, body = invoke(
            "programs", "POST", "/v1/programs", raw_body=raw, roles=["admin"]
        )
        assert status == 400 and headers["Content-Type"] == PROBLEM, body
        assert body["title"] == "Malformed JSON"
    assert _item_count(aws) == before


def test_a_body_that_is_not_utf8_is_400_malformed_not_a_500(aws: dict[str, str]) -> None:
    # Given a body whose bytes are not UTF-8, which API Gateway hands over base64-encoded
    event = http_event("POST", "/v1/programs", "/v1/programs", roles=["admin"])
    event["body"] = base64.b64encode(b'{"name": "\xff"}').decode()
    event["isBase64Encoded"] = True

    # When the function handles it
    response = load_handler("programs").lambda_handler(event, FakeContext())

    # Then it is refused as malformed, like any body that is not JSON text
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == PROBLEM
    assert json.loads(response["body"])["detail"] == "the body is not UTF-8 text"


def test_not_json_is_415(invoke: Invoke) -> None:
    status, _, body = invoke(
        "programs",
        "POST",
        "/v1/programs",
        raw_body="name=x",
        roles=["admin"],
        headers={"Content-Type": "text/plain"},
    )
    assert status == 415 and body["title"] == "Unsupported media type"


def test_body_over_64_kib_is_413(invoke: Invoke) -> None:
    status, _, _ = invoke(
        "programs", "POST", "/v1/programs", body=program_body(name="x" * 70_000), roles=["admin"]
    )
    assert status == 413


def test_amount_as_json_number_is_422_naming_the_field(invoke: Invoke, aws: dict[str, str]) -> None:
    before = _item_count(aws)
    body = program_body(budget={"amount": 5000, "currency": "USD"})
    status, headers, problem = invoke(
        "programs", "POST", "/v1/programs", body=body, roles=["admin"]
    )
    assert status == 422 and headers["Content-Type"] == PROBLEM
    assert [e["field"] for e in problem["errors"]] == ["budget.amount"]
    assert _item_count(aws) == before


def test_unknown_field_and_bad_currency_are_each_named(invoke: Invoke) -> None:
    body = program_body(surprise=True)
    body["budget"] = {"amount": "10.00", "currency": "XYZ"}
    status, _, problem = invoke("programs", "POST", "/v1/programs", body=body, roles=["admin"])
    assert status == 422
    assert {e["field"] for e in problem["errors"]} == {"surprise", "budget.currency"}


def test_more_decimals_than_the_currency_allows_is_422(invoke: Invoke) -> None:
    status, _, problem = invoke(
        "programs",
        "POST",
        "/v1/programs",
        body=program_body(min_order_value="20.001"),
        roles=["admin"],
    )
    assert status == 422
    assert [e["field"] for e in problem["errors"]] == ["min_order_value"]


def test_future_occurred_at_is_422(invoke: Invoke) -> None:
    program_id = _program(invoke)
    code = _code(invoke, program_id)
    body = referral_body(program_id, code, occurred_at="2099-01-01T00:00:00Z")
    status, _, problem = invoke("referrals", "POST", "/v1/referrals", body=body, roles=["client"])
    assert status == 422 and problem["errors"][0]["field"] == "occurred_at"


def test_a_referral_dated_a_month_back_is_422_problem_naming_occurred_at(invoke: Invoke) -> None:
    # Given a program and an advocate recorded now, with no earlier date
    program_id = _program(invoke)
    code = _code(invoke, program_id)
    month_ago = iso(datetime.now(UTC) - timedelta(days=30))

    # When a referral dated 30 days back is posted
    body = referral_body(program_id, code, occurred_at=month_ago)
    status, headers, problem = invoke(
        "referrals", "POST", "/v1/referrals", body=body, roles=["client"]
    )

    # Then it is refused as a problem naming the field
    assert status == 422 and headers["Content-Type"] == PROBLEM
    assert [e["field"] for e in problem["errors"]] == ["occurred_at"]


def test_a_program_dated_back_takes_referrals_dated_since(invoke: Invoke) -> None:
    # Given a program and an advocate both dated 60 days back
    started = iso(datetime.now(UTC) - timedelta(days=60))
    program_id = _program(invoke, occurred_at=started)
    route = "/v1/programs/{program_id}/advocates"
    path = route.replace("{program_id}", program_id)
    status, _, enrolled = invoke(
        "advocates", "POST", route, path, body=advocate_body(occurred_at=started), roles=["client"]
    )
    assert status == 201, enrolled

    # When a referral dated 30 days back is posted
    month_ago = iso(datetime.now(UTC) - timedelta(days=30))
    body = referral_body(program_id, enrolled["referral_code"], occurred_at=month_ago)
    status, _, created = invoke("referrals", "POST", "/v1/referrals", body=body, roles=["client"])

    # Then it is recorded
    assert status == 201, created


def test_bad_limit_and_cursor_are_422(invoke: Invoke) -> None:
    for query, field in (
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"cursor": "zzz"}, "cursor"),
    ):
        status, _, problem = invoke(
            "programs", "GET", "/v1/programs", roles=["finance"], query=query
        )
        assert status == 422, query
        assert problem["errors"][0]["field"] == field


def test_unknown_referral_is_404(invoke: Invoke) -> None:
    status, headers, _ = invoke(
        "referrals",
        "GET",
        "/v1/referrals/{referral_id}",
        "/v1/referrals/ref_nope",
        roles=["client"],
    )
    assert status == 404 and headers["Content-Type"] == PROBLEM


def test_same_referee_twice_is_409(invoke: Invoke) -> None:
    program_id = _program(invoke)
    code = _code(invoke, program_id)
    body = referral_body(program_id, code)
    assert invoke("referrals", "POST", "/v1/referrals", body=body, roles=["client"])[0] == 201
    status, _, problem = invoke("referrals", "POST", "/v1/referrals", body=body, roles=["client"])
    assert status == 409 and problem["status"] == 409


def test_same_idempotency_key_and_body_returns_the_first_response(invoke: Invoke) -> None:
    key = {"Idempotency-Key": unique("key")}
    body = program_body()
    first = invoke("programs", "POST", "/v1/programs", body=body, roles=["admin"], headers=key)
    again = invoke("programs", "POST", "/v1/programs", body=body, roles=["admin"], headers=key)
    assert first[0] == again[0] == 201
    assert first[2] == again[2]


def test_same_idempotency_key_with_another_body_is_409(invoke: Invoke) -> None:
    key = {"Idempotency-Key": unique("key")}
    invoke("programs", "POST", "/v1/programs", body=program_body(), roles=["admin"], headers=key)
    status, _, problem = invoke(
        "programs",
        "POST",
        "/v1/programs",
        body=program_body(name="Other"),
        roles=["admin"],
        headers=key,
    )
    assert status == 409 and "different body" in problem["detail"]


def test_idempotency_key_over_255_characters_is_422(invoke: Invoke) -> None:
    status, _, problem = invoke(
        "programs",
        "POST",
        "/v1/programs",
        body=program_body(),
        roles=["admin"],
        headers={"Idempotency-Key": "k" * 256},
    )
    assert status == 422 and problem["errors"][0]["field"] == "Idempotency-Key"


def test_concurrent_identical_posts_with_one_key_create_one_record(invoke: Invoke) -> None:
    program_id = _program(invoke)
    code = _code(invoke, program_id)
    body = referral_body(program_id, code)
    key = {"Idempotency-Key": unique("key")}
    results: list[tuple[int, Any]] = []

    def post() -> None:
        status, _, payload = invoke(
            "referrals", "POST", "/v1/referrals", body=body, roles=["client"], headers=key
        )
        results.append((status, payload))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = {p["referral_id"] for s, p in results if s == 201}
    assert len(created) == 1
    assert all(s in (201, 409) for s, _ in results)


def test_openapi_needs_no_token_and_lists_every_route(invoke: Invoke) -> None:
    status, _, doc = invoke("api_docs", "GET", "/v1/openapi.json", roles=None)
    assert status == 200 and doc["openapi"].startswith("3.1")
    assert "/v1/referrals/{referral_id}/events" in doc["paths"]
