"""Points over real HTTP on the local stack: a referral earns its advocate points through
the release job and the points queue, the customer redeems some, and a refund takes them
back, leaving what was already redeemed as debt that the next earning repays; every
points entry is credited exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.local.dev_tokens import mint_token
from shared.local.stack import LocalStack
from tests.e2e.conftest import ROOT, Client, MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

POINT_VALUE = {"amount": "0.01", "currency": "USD"}


def _points_program(client_for: MakeClient) -> str:
    body = program_body(
        holding_period_days=0,
        dual_approval_over="1000.00",
        tiers=[],
        point_value=POINT_VALUE,
        rewards={
            "advocate": {"kind": "points", "points": "500"},
            "referee": {"kind": "cash", "amount": "10.00", "currency": "USD"},
        },
    )
    created = client_for("admin").post("/v1/programs", body)
    assert created.status_code == 201, created.text
    program = created.json()
    assert program["rewards"]["advocate"] == {
        "kind": "points",
        "points": 500,
        "amount": "5.00",
        "currency": "USD",
    }
    assert program["point_value"] == POINT_VALUE
    return str(program["program_id"])


def _rewarded_referral(
    client_for: MakeClient, stack: LocalStack, program_id: str, code: str
) -> tuple[str, str]:
    client = client_for("client")
    referee_context = {"ip": "198.51.100.77", "device_id": unique("phone"), "country": "US"}
    referral = client.post(
        "/v1/referrals", referral_body(program_id, code, context=referee_context)
    )
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["referral_id"]
    order_id = unique("order")
    purchase = client.post(f"/v1/referrals/{referral_id}/events", purchase_body(order_id=order_id))
    assert purchase.status_code == 202, purchase.text
    stack.drain()
    if client.get(f"/v1/referrals/{referral_id}").json()["status"] == "review":
        finance = client_for("finance", sub="e2e-approver")
        decided = finance.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
        assert decided.status_code == 200, decided.text
    stack.run_job("release", datetime.now(UTC) + timedelta(minutes=1))
    stack.drain()
    paid = client.get(f"/v1/referrals/{referral_id}").json()
    assert paid["status"] == "rewarded", paid
    return referral_id, order_id


def _points(client: Client, customer_id: str, program_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/customers/{customer_id}/points", params={"program_id": program_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_points_are_earned_redeemed_and_refunded_into_debt_each_exactly_once(
    client_for: MakeClient, stack: LocalStack
) -> None:
    client, finance = client_for("client"), client_for("finance")
    program_id = _points_program(client_for)
    advocate = advocate_body(context={"ip": "203.0.113.10", "device_id": unique("laptop")})
    enrolled = client.post(f"/v1/programs/{program_id}/advocates", advocate).json()
    customer_id = advocate["customer_id"]

    # A referral earns the advocate 500 points, paid through the points queue once
    referral_id, order_id = _rewarded_referral(
        client_for, stack, program_id, enrolled["referral_code"]
    )
    rewards = client.get(f"/v1/referrals/{referral_id}").json()["rewards"]
    assert {(r["kind"], r["status"]) for r in rewards} == {
        ("points", "confirmed"),
        ("cash", "confirmed"),
    }
    earned = _points(client, customer_id, program_id)
    assert (earned["balance"], earned["points_debt"]) == (500, 0)
    assert [(h["kind"], h["points"]) for h in earned["history"]] == [("earned", 500)]
    assert earned["history"][0]["reward_id"] == f"{referral_id}-advocate"
    # finance reads the same ledger; the advocate's view shows points among its kinds
    assert _points(finance, customer_id, program_id)["balance"] == 500
    summary = client.get(f"/v1/advocates/{enrolled['advocate_id']}").json()
    assert summary["rewards"]["paid"]["points"] == {"amount": "5.00", "currency": "USD"}

    # The customer redeems 300: once, however often the request is sent
    path = f"/v1/customers/{customer_id}/points/redemptions"
    body = {"program_id": program_id, "points": "300", "reference": unique("checkout")}
    first = client.post(path, body, headers={"Idempotency-Key": unique("key")})
    again = client.post(path, body)
    assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
    assert first.json()["balance"] == 200 and again.json() == first.json()
    short = client.post(path, {**body, "reference": unique("checkout")})
    assert short.status_code == 409, short.text
    assert [e["field"] for e in short.json()["errors"]] == ["points"]

    # A full refund claws the points back: 200 from the balance, 300 redeemed become debt
    refund = client.post(
        f"/v1/referrals/{referral_id}/refunds",
        {"order_id": order_id, "amount": "45.00", "currency": "USD"},
    )
    assert refund.status_code == 201, refund.text
    owed = _points(client, customer_id, program_id)
    assert (owed["balance"], owed["points_debt"]) == (0, 300)
    assert [h["kind"] for h in owed["history"]] == ["clawed_back", "redeemed", "earned"]
    program = client_for("admin").get(f"/v1/programs/{program_id}").json()
    assert program["budget_used"]["amount"] == "15.00"

    # The next referral's 500 points repay the debt first
    _rewarded_referral(client_for, stack, program_id, enrolled["referral_code"])
    repaid = _points(client, customer_id, program_id)
    assert (repaid["balance"], repaid["points_debt"]) == (200, 0)
    kinds = [h["kind"] for h in repaid["history"]]
    assert kinds.count("earned") == 2 and kinds.count("debt_repaid") == 1


def test_a_points_reward_without_a_point_value_is_refused_naming_it(
    client_for: MakeClient,
) -> None:
    body = program_body(rewards={"advocate": {"kind": "points", "points": "100"}})

    refused = client_for("admin").post("/v1/programs", body)

    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["point_value"]


def test_a_token_limited_to_another_program_cannot_read_or_redeem_points(
    client_for: MakeClient, stack: LocalStack
) -> None:
    program_id = _points_program(client_for)
    scoped = Client(stack.url, (), "e2e-scoped")
    scoped.headers = {
        "Authorization": "Bearer "
        + mint_token(["client"], "e2e-scoped", root=ROOT, programs=["prg_other"])
    }

    read = scoped.get("/v1/customers/c-1/points", params={"program_id": program_id})
    redeem = scoped.post(
        "/v1/customers/c-1/points/redemptions",
        {"program_id": program_id, "points": "1", "reference": unique("checkout")},
    )

    assert (read.status_code, redeem.status_code) == (404, 404)
