"""Charity donations and monthly caps over real HTTP on the local stack: a one-for-one
program donating per referred purchase, paid once however often its message arrives, and
a monthly allowance that defers a reward to the next month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.rewards import RewardMessage
from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

ONE_FOR_ONE = {
    "advocate": {
        "kind": "charity_donation",
        "amount": "5.00",
        "currency": "USD",
        "charity": "one-for-one-shoes",
    }
}


def _program(client_for: MakeClient, **terms: Any) -> str:
    body = program_body(holding_period_days=0, dual_approval_over="1000.00", tiers=[], **terms)
    created = client_for("admin").post("/v1/programs", body)
    assert created.status_code == 201, created.text
    return str(created.json()["program_id"])


def _advocate(client_for: MakeClient, program_id: str) -> str:
    context = {"ip": "203.0.113.40", "device_id": unique("laptop"), "country": "US"}
    enrolled = client_for("client").post(
        f"/v1/programs/{program_id}/advocates", advocate_body(context=context)
    )
    assert enrolled.status_code == 201, enrolled.text
    return str(enrolled.json()["referral_code"])


def _holding(client_for: MakeClient, stack: LocalStack, program_id: str, code: str) -> str:
    """A referred purchase, scored (and approved, if the scorer asked for a person)."""
    client = client_for("client")
    context = {"ip": f"198.51.100.{len(unique('n')) % 200}", "device_id": unique("phone")}
    referral = client.post("/v1/referrals", referral_body(program_id, code, context=context))
    assert referral.status_code == 201, referral.text
    referral_id = str(referral.json()["referral_id"])
    purchase = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert purchase.status_code == 202, purchase.text
    stack.drain()
    if client.get(f"/v1/referrals/{referral_id}").json()["status"] == "review":
        finance = client_for("finance", sub="e2e-approver")
        decided = finance.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
        assert decided.status_code == 200, decided.text
    assert client.get(f"/v1/referrals/{referral_id}").json()["status"] == "holding"
    return referral_id


def _first_of_next_month(at: datetime) -> datetime:
    return (at.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )


def test_a_one_for_one_program_donates_once_per_referred_purchase(
    client_for: MakeClient, stack: LocalStack
) -> None:
    # Given a program donating $5 to a charity for every referred purchase
    program_id = _program(client_for, rewards=ONE_FOR_ONE)
    shown = client_for("admin").get(f"/v1/programs/{program_id}").json()
    assert shown["rewards"]["advocate"]["charity"] == "one-for-one-shoes"
    code = _advocate(client_for, program_id)
    referral_ids = [_holding(client_for, stack, program_id, code) for _ in range(2)]

    # When the release job runs, the donations are paid, and every message comes again
    now = datetime.now(UTC) + timedelta(minutes=1)
    released = stack.run_job("release", now)
    assert released["released"] >= 2
    assert not set(referral_ids) & set(stack.run_job("release", now)["held"])
    stack.drain()
    queue_url = stack.physical_id("CharityQueue")
    finance = client_for("finance")
    for referral_id in referral_ids:
        (entry,) = finance.get("/v1/rewards", params={"referral_id": referral_id}).json()["items"]
        body = RewardMessage(reward_id=entry["reward_id"], referral_id=referral_id).body()
        stack.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)
    stack.drain()

    # Then each referral is rewarded by one confirmed donation, paid once
    references = set()
    for referral_id in referral_ids:
        referral = client_for("client").get(f"/v1/referrals/{referral_id}").json()
        assert referral["status"] == "rewarded"
        (entry,) = finance.get("/v1/rewards", params={"referral_id": referral_id}).json()["items"]
        assert (entry["kind"], entry["charity"], entry["amount"]) == (
            "charity_donation",
            "one-for-one-shoes",
            "5.00",
        )
        assert entry["status"] == "confirmed" and entry["provider"] == "sandbox_charity"
        references.add(entry["provider_reference"])
    assert len(references) == 2
    program = client_for("admin").get(f"/v1/programs/{program_id}").json()
    assert program["budget_used"]["amount"] == "10.00"
    report = stack.run_job("reconcile", now + timedelta(hours=1))
    assert report["mismatches"] == [], report


def test_a_monthly_allowance_defers_a_reward_to_the_next_month(
    client_for: MakeClient, stack: LocalStack
) -> None:
    # Given an advocate allowed $10 of rewards a month, with two referred purchases due
    caps = {"per_advocate_per_month": {"amount": "10.00", "currency": "USD"}, "over_cap": "defer"}
    program_id = _program(client_for, caps=caps)
    code = _advocate(client_for, program_id)
    first = _holding(client_for, stack, program_id, code)
    second = _holding(client_for, stack, program_id, code)

    # When the release job runs this month
    now = datetime.now(UTC) + timedelta(minutes=1)
    this_month = stack.run_job("release", now)
    stack.drain()

    # Then one referral is paid and the other waits, held for the monthly cap
    held = {r for r in (first, second) if r in this_month["held"]}
    assert len(held) == 1
    (waiting,) = held
    assert this_month["held"][waiting] == "monthly_cap_reached"
    client, finance = client_for("client"), client_for("finance")
    assert client.get(f"/v1/referrals/{waiting}").json()["status"] == "holding"
    audit = finance.get("/v1/audit", params={"referral_id": waiting}).json()["items"]
    notes = [e for e in audit if e["action"] == "referral.release_held"]
    assert notes[-1]["after"]["hold_reason"] == "monthly_cap_reached"
    assert notes[-1]["details"]["caps"] == ["per_advocate_per_month"]

    # When the release job runs again this month, and then on the first of the next
    assert waiting in stack.run_job("release", now + timedelta(minutes=5))["held"]
    next_month = stack.run_job("release", _first_of_next_month(now))
    stack.drain()

    # Then the deferred referral goes out in the next month and is paid
    assert next_month["held"].get(waiting) is None
    assert client.get(f"/v1/referrals/{waiting}").json()["status"] == "rewarded"
    rewards = finance.get("/v1/rewards", params={"referral_id": waiting}).json()["items"]
    assert {r["status"] for r in rewards} == {"confirmed"}


def test_caps_in_another_currency_than_the_programs_are_refused_naming_the_field(
    client_for: MakeClient,
) -> None:
    admin = client_for("admin")
    caps = {"program_per_month": {"amount": "100.00", "currency": "EUR"}, "over_cap": "refuse"}

    created = admin.post("/v1/programs", program_body(caps=caps))
    program_id = _program(client_for)
    patched = admin.patch(f"/v1/programs/{program_id}", {"caps": {**caps, "over_cap": "never"}})

    assert created.status_code == 422
    assert created.headers["Content-Type"].startswith("application/problem+json")
    assert [e["field"] for e in created.json()["errors"]] == ["caps.program_per_month.currency"]
    assert patched.status_code == 422
    assert [e["field"] for e in patched.json()["errors"]] == ["caps.over_cap"]


def test_a_donation_without_its_charity_is_refused_naming_the_field(
    client_for: MakeClient,
) -> None:
    rewards = {"advocate": {"kind": "charity_donation", "amount": "5.00", "currency": "USD"}}

    created = client_for("admin").post("/v1/programs", program_body(rewards=rewards))

    assert created.status_code == 422
    assert [e["field"] for e in created.json()["errors"]] == ["rewards.advocate.charity"]
