"""Recurring commissions over real HTTP on the local stack: a 10% commission over three
purchases, one delivered twice, and a partial refund of one of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

TEN_PERCENT = {"advocate": {"kind": "cash", "percent_of_order": "10", "currency": "USD"}}


def _program(client_for: MakeClient) -> str:
    body = program_body(
        holding_period_days=0,
        dual_approval_over="1000.00",
        tiers=[],
        rewards=TEN_PERCENT,
        recurring_months=3,
    )
    created = client_for("admin").post("/v1/programs", body)
    assert created.status_code == 201, created.text
    assert created.json()["rewards"]["advocate"]["percent_of_order"] == "10"
    assert created.json()["recurring_months"] == 3
    return str(created.json()["program_id"])


def _rewarded(client_for: MakeClient, stack: LocalStack, program_id: str, order_id: str) -> str:
    """A referral qualified by a 45.00 order, scored (approved if asked), released, paid."""
    client = client_for("client")
    context = {"ip": "203.0.113.41", "device_id": unique("laptop"), "country": "US"}
    enrolled = client.post(f"/v1/programs/{program_id}/advocates", advocate_body(context=context))
    assert enrolled.status_code == 201, enrolled.text
    code = enrolled.json()["referral_code"]
    context = {"ip": f"198.51.100.{len(unique('n')) % 200}", "device_id": unique("phone")}
    referral = client.post("/v1/referrals", referral_body(program_id, code, context=context))
    assert referral.status_code == 201, referral.text
    referral_id = str(referral.json()["referral_id"])
    purchase = purchase_body(order_id=order_id, amount="45.00")
    assert client.post(f"/v1/referrals/{referral_id}/events", purchase).status_code == 202
    stack.drain()
    if client.get(f"/v1/referrals/{referral_id}").json()["status"] == "review":
        finance = client_for("finance", sub="e2e-approver")
        decided = finance.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
        assert decided.status_code == 200, decided.text
    stack.run_job("release", datetime.now(UTC) + timedelta(minutes=1))
    stack.drain()
    assert client.get(f"/v1/referrals/{referral_id}").json()["status"] == "rewarded"
    return referral_id


def test_a_recurring_commission_pays_each_purchase_once_and_a_partial_refund_claws_back_its_share(
    client_for: MakeClient, stack: LocalStack
) -> None:
    # Given a 10% commission recurring for 3 months, and a referral its 45.00 order rewarded
    program_id = _program(client_for)
    first, second, third = unique("ord"), unique("ord"), unique("ord")
    referral_id = _rewarded(client_for, stack, program_id, first)
    client, finance = client_for("client"), client_for("finance")

    # When the referee buys twice more (the second purchase delivered twice), the release
    # job runs twice and every payout is delivered
    events = f"/v1/referrals/{referral_id}/events"
    later = purchase_body(order_id=second, amount="80.00")
    assert client.post(events, later).status_code == 202
    assert client.post(events, later).status_code in (200, 202)
    assert client.post(events, purchase_body(order_id=third, amount="30.00")).status_code == 202
    now = datetime.now(UTC) + timedelta(minutes=2)
    stack.run_job("release", now)
    stack.run_job("release", now + timedelta(minutes=1))
    stack.drain()

    # Then three entries, each paid once, and the referral stays rewarded
    entries = finance.get("/v1/rewards", params={"referral_id": referral_id}).json()["items"]
    by_id = {e["reward_id"]: e for e in entries}
    expected = {
        f"{referral_id}-advocate": "4.50",
        f"{referral_id}-advocate-order-{second}": "8.00",
        f"{referral_id}-advocate-order-{third}": "3.00",
    }
    assert {k: v["amount"] for k, v in by_id.items()} == expected
    assert {e["status"] for e in entries} == {"confirmed"}
    assert len({e["provider_reference"] for e in entries}) == 3
    assert client.get(f"/v1/referrals/{referral_id}").json()["status"] == "rewarded"
    program = client_for("admin").get(f"/v1/programs/{program_id}").json()
    assert program["budget_used"]["amount"] == "15.50"

    # When a quarter of the second order is refunded
    refund = {"order_id": second, "amount": "20.00", "currency": "USD", "refund_id": unique("rf")}
    refunded = client.post(f"/v1/referrals/{referral_id}/refunds", refund)
    assert refunded.status_code in (200, 201), refunded.text

    # Then a quarter of its commission is clawed back, and nothing else changes
    entries = finance.get("/v1/rewards", params={"referral_id": referral_id}).json()["items"]
    by_id = {e["reward_id"]: e for e in entries}
    clawed = by_id[f"{referral_id}-advocate-order-{second}"]
    assert (clawed["status"], clawed["amount"], clawed["clawback"]["amount"]) == (
        "clawed_back",
        "8.00",
        "2.00",
    )
    assert by_id[f"{referral_id}-advocate-order-{third}"]["status"] == "confirmed"
    assert by_id[f"{referral_id}-advocate"]["status"] == "confirmed"
    assert client.get(f"/v1/referrals/{referral_id}").json()["status"] == "rewarded"
    report = stack.run_job("reconcile", now + timedelta(hours=1))
    assert report["mismatches"] == [], report
