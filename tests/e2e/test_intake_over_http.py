"""A client records a referral end to end over real HTTP on the local stack."""

from __future__ import annotations

import json

from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

PROBLEM = "application/problem+json"


def _setup(client_for: MakeClient) -> tuple[str, str]:
    admin, client = client_for("admin"), client_for("client")
    created = admin.post("/v1/programs", program_body())
    assert created.status_code == 201, created.text
    program_id = created.json()["program_id"]
    enrolled = client.post(f"/v1/programs/{program_id}/advocates", advocate_body())
    assert enrolled.status_code == 201, enrolled.text
    return program_id, enrolled.json()["referral_code"]


def test_client_records_a_referral_and_a_purchase_and_reads_it_back(client_for: MakeClient) -> None:
    program_id, code = _setup(client_for)
    client = client_for("client")
    created = client.post("/v1/referrals", referral_body(program_id, code))
    assert created.status_code == 201 and created.json()["status"] == "pending"
    referral_id = created.json()["referral_id"]
    event = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert event.status_code == 202, event.text
    read = client.get(f"/v1/referrals/{referral_id}")
    assert read.status_code == 200
    assert read.json()["referral_id"] == referral_id
    assert read.json()["qualified_at"] is not None


def test_enrolling_again_returns_the_same_code_with_200(client_for: MakeClient) -> None:
    program_id, _ = _setup(client_for)
    client = client_for("client")
    body = advocate_body()
    first = client.post(f"/v1/programs/{program_id}/advocates", body)
    again = client.post(f"/v1/programs/{program_id}/advocates", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


def test_every_error_class_is_problem_json(client_for: MakeClient) -> None:
    program_id, code = _setup(client_for)
    client, nobody = client_for("client"), client_for()
    cases = [
        (nobody.get(f"/v1/referrals/{unique('ref')}"), 401),
        (client.get("/v1/programs"), 403),
        (client.get(f"/v1/referrals/{unique('ref')}"), 404),
        (
            client.post(
                "/v1/referrals", data="{oops", headers={"Content-Type": "application/json"}
            ),
            400,
        ),
        (client.post("/v1/referrals", data="x=1", headers={"Content-Type": "text/plain"}), 415),
        (client.post("/v1/referrals", {**referral_body(program_id, code), "extra": 1}), 422),
        (
            client.post(
                "/v1/referrals",
                data=json.dumps({"pad": "x" * 70_000}),
                headers={"Content-Type": "application/json"},
            ),
            413,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        assert response.headers["Content-Type"].startswith(PROBLEM)
        assert response.json()["status"] == status


def test_same_referee_twice_is_409(client_for: MakeClient) -> None:
    program_id, code = _setup(client_for)
    client = client_for("client")
    body = referral_body(program_id, code)
    assert client.post("/v1/referrals", body).status_code == 201
    again = client.post("/v1/referrals", body)
    assert again.status_code == 409 and again.headers["Content-Type"].startswith(PROBLEM)


def test_openapi_is_public(client_for: MakeClient) -> None:
    response = client_for().get("/v1/openapi.json")
    assert response.status_code == 200 and "paths" in response.json()
