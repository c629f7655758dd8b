"""Rewards over real HTTP on the local stack: release job, fulfilment queues and sandbox
providers, a refund that claws back, and reconciliation that finds the ledger clean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique


def _holding(client_for: MakeClient, stack: LocalStack) -> tuple[str, str, str]:
    admin, client = client_for("admin"), client_for("client")
    created = admin.post(
        "/v1/programs", program_body(holding_period_days=0, dual_approval_over="1000.00")
    )
    assert created.status_code == 201, created.text
    program_id = created.json()["program_id"]
    advocate_context = {"ip": "203.0.113.10", "device_id": unique("laptop"), "country": "US"}
    enrolled = client.post(
        f"/v1/programs/{program_id}/advocates", advocate_body(context=advocate_context)
    )
    code = enrolled.json()["referral_code"]
    referee_context = {"ip": "198.51.100.77", "device_id": unique("phone"), "country": "US"}
    referral = client.post(
        "/v1/referrals", referral_body(program_id, code, context=referee_context)
    )
    referral_id = referral.json()["referral_id"]
    order_id = unique("order")
    purchase = client.post(f"/v1/referrals/{referral_id}/events", purchase_body(order_id=order_id))
    assert purchase.status_code == 202, purchase.text
    stack.drain()
    status = client.get(f"/v1/referrals/{referral_id}").json()["status"]
    if status == "review":  # the scorer wanted a person to look: approve it
        finance = client_for("finance", sub="e2e-approver")
        decided = finance.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
        assert decided.status_code == 200, decided.text
        status = client.get(f"/v1/referrals/{referral_id}").json()["status"]
    assert status == "holding", status
    return program_id, referral_id, order_id


def test_a_released_referral_is_paid_once_clawed_back_on_refund_and_reconciles(
    client_for: MakeClient, stack: LocalStack
) -> None:
    program_id, referral_id, order_id = _holding(client_for, stack)
    client, finance = client_for("client"), client_for("finance")

    # The release job queues both rewards; the fulfilment functions pay them.
    released = stack.run_job("release", datetime.now(UTC) + timedelta(minutes=1))
    assert released["released"] >= 1
    stack.drain()
    paid = client.get(f"/v1/referrals/{referral_id}").json()
    assert paid["status"] == "rewarded"
    assert {(r["kind"], r["status"]) for r in paid["rewards"]} == {
        ("gift_card", "confirmed"),
        ("cash", "confirmed"),
    }
    assert all(r["provider_reference"] for r in paid["rewards"])

    # A full refund after payout claws both back.
    refund = client.post(
        f"/v1/referrals/{referral_id}/refunds",
        {"order_id": order_id, "amount": "45.00", "currency": "USD"},
    )
    assert refund.status_code == 201, refund.text
    ledger = finance.get("/v1/rewards", params={"referral_id": referral_id}).json()["items"]
    assert {r["status"] for r in ledger} == {"clawed_back"}
    assert all(r["clawback"]["amount"] == r["amount"] for r in ledger)

    # The budget stays spent (the money left), and reconciliation finds nothing amiss.
    program = client_for("admin").get(f"/v1/programs/{program_id}").json()
    assert program["budget_used"]["amount"] == "20.00"
    report = stack.run_job("reconcile", datetime.now(UTC) + timedelta(hours=1))
    assert report["mismatches"] == [], report
