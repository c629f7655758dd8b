"""Finance's corrections over real HTTP on the local stack: a refused gift card reissued to
another address pays once and settles the referral; a reversal then claws it all back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.local.stack import LocalStack
from shared.payouts.sandbox import REJECTED_RECIPIENT_DOMAIN
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique


def _rewarding_with_a_refused_gift_card(
    client_for: MakeClient, stack: LocalStack
) -> tuple[str, str]:
    """A released referral whose advocate's address the sandbox refuses."""
    admin, client = client_for("admin"), client_for("client")
    created = admin.post(
        "/v1/programs", program_body(holding_period_days=0, dual_approval_over="1000.00")
    )
    assert created.status_code == 201, created.text
    program_id = created.json()["program_id"]
    advocate = unique("adv")
    enrolled = client.post(
        f"/v1/programs/{program_id}/advocates",
        advocate_body(
            advocate,
            email=f"{advocate}@{REJECTED_RECIPIENT_DOMAIN}",
            context={"ip": "203.0.113.11", "device_id": unique("laptop"), "country": "US"},
        ),
    )
    assert enrolled.status_code == 201, enrolled.text
    referral = client.post(
        "/v1/referrals",
        referral_body(
            program_id,
            enrolled.json()["referral_code"],
            context={"ip": "198.51.100.78", "device_id": unique("phone"), "country": "US"},
        ),
    )
    referral_id = referral.json()["referral_id"]
    purchase = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert purchase.status_code == 202, purchase.text
    stack.drain()
    if client.get(f"/v1/referrals/{referral_id}").json()["status"] == "review":
        finance = client_for("finance", sub="e2e-approver")
        decided = finance.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
        assert decided.status_code == 200, decided.text
    stack.run_job("release", datetime.now(UTC) + timedelta(minutes=1))
    stack.drain()
    return program_id, referral_id


def test_a_refused_reward_reissued_pays_once_and_a_reversal_claws_it_back(
    client_for: MakeClient, stack: LocalStack
) -> None:
    program_id, referral_id = _rewarding_with_a_refused_gift_card(client_for, stack)
    finance, client = client_for("finance", sub="fiona"), client_for("client")
    stuck = client.get(f"/v1/referrals/{referral_id}").json()
    assert stuck["status"] == "rewarding"
    gift = next(r for r in stuck["rewards"] if r["kind"] == "gift_card")
    assert gift["status"] == "failed"

    # Finance reissues it to an address the provider accepts; a client may not.
    path = f"/v1/rewards/{gift['reward_id']}/reissue"
    body = {"note": "advocate gave a new address", "recipient_email": "ok@example.com"}
    assert client.post(path, body).status_code == 403
    reissued = finance.post(path, body, headers={"Idempotency-Key": unique("reissue")})
    assert reissued.status_code == 200, reissued.text
    assert reissued.json()["attempt"] == 1 and reissued.json()["status"] == "queued"
    assert finance.post(path, body).status_code == 409
    stack.drain()

    paid = client.get(f"/v1/referrals/{referral_id}").json()
    assert paid["status"] == "rewarded"
    assert {r["status"] for r in paid["rewards"]} == {"confirmed"}
    report = stack.run_job("reconcile", datetime.now(UTC) + timedelta(hours=1))
    assert report["mismatches"] == [], report

    # Finance then reverses the referral: both paid rewards are clawed back, once.
    reverse = f"/v1/referrals/{referral_id}/reverse"
    reversed_ = finance.post(reverse, {"note": "advocate and referee are one person"})
    assert reversed_.status_code == 200, reversed_.text
    assert {r["status"] for r in reversed_.json()["rewards"]} == {"clawed_back"}
    assert {r["clawback"]["reason"] for r in reversed_.json()["rewards"]} == {"reversed_by_finance"}
    again = finance.post(reverse, {"note": "again"})
    assert again.status_code == 409
    assert again.headers["Content-Type"].startswith("application/problem+json")
    program = client_for("admin").get(f"/v1/programs/{program_id}").json()
    assert program["budget_used"]["amount"] == "20.00"
