"""Finance over real HTTP on the local stack: a referral scoring sent to review is decided,
or left to the review-timeout job, with the audit trail to show for it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.cli import main
from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique


def _in_review(client_for: MakeClient, stack: LocalStack, **program: object) -> tuple[str, str]:
    admin, client = client_for("admin"), client_for("client")
    created = admin.post("/v1/programs", program_body(auto_reject=False, **program))
    assert created.status_code == 201, created.text
    program_id = created.json()["program_id"]
    context = {"ip": "203.0.113.61", "device_id": unique("phone"), "country": "US"}
    # The advocate's own device, IP and mailbox (a gmail plus-tag alias): scoring would
    # reject it, and this program sends would-be rejections to finance instead.
    advocate = unique("adv")
    enrolled = client.post(
        f"/v1/programs/{program_id}/advocates",
        advocate_body(advocate, email=f"{advocate}@gmail.com", context=context),
    )
    code = enrolled.json()["referral_code"]
    referee = {"customer_id": unique("ref"), "email": f"{advocate}+deal@gmail.com"}
    referral = client.post(
        "/v1/referrals", referral_body(program_id, code, context=context, referee=referee)
    )
    referral_id = referral.json()["referral_id"]
    assert client.post(f"/v1/referrals/{referral_id}/events", purchase_body()).status_code == 202
    stack.drain()
    assert client.get(f"/v1/referrals/{referral_id}").json()["status"] == "review"
    return program_id, referral_id


def test_a_flagged_referral_is_listed_detailed_and_decided(
    client_for: MakeClient, stack: LocalStack
) -> None:
    program_id, referral_id = _in_review(client_for, stack, dual_approval_over="15.00")
    alice = client_for("finance", sub="alice")
    bob = client_for("finance", sub="bob")

    listed = alice.get("/v1/reviews", params={"status": "open", "program_id": program_id})
    detail = alice.get(f"/v1/reviews/{referral_id}")
    first = alice.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
    twice = alice.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
    second = bob.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
    audit = alice.get("/v1/audit", params={"referral_id": referral_id})

    assert [i["referral_id"] for i in listed.json()["items"]] == [referral_id]
    assert detail.status_code == 200 and detail.json()["approvals_needed"] == 2
    assert first.status_code == 202 and first.json()["status"] == "review"
    assert twice.status_code == 409
    assert second.status_code == 200 and second.json()["status"] == "holding"
    actions = [e["action"] for e in audit.json()["items"]]
    assert actions[-2:] == ["review.approval_recorded", "review.approved"]


def test_the_timeout_job_rejects_a_review_nobody_decided(
    client_for: MakeClient, stack: LocalStack
) -> None:
    _, referral_id = _in_review(
        client_for, stack, review_timeout_days=3, review_timeout_action="reject"
    )
    finance = client_for("finance")

    report = stack.run_job("expire-reviews", datetime.now(UTC) + timedelta(days=4))

    assert report["expired"] >= 1
    assert finance.get(f"/v1/referrals/{referral_id}").json()["status"] == "rejected"
    audit = finance.get("/v1/audit", params={"referral_id": referral_id}).json()["items"]
    assert audit[-1]["action"] == "review.timeout_rejected"
    assert audit[-1]["actor"] == "system:expire-reviews"


def test_labels_export_writes_the_reviewers_decisions_from_the_local_stack(
    client_for: MakeClient, stack: LocalStack, tmp_path: Path
) -> None:
    _, referral_id = _in_review(client_for, stack)
    finance = client_for("finance", sub="carol")
    rejected = finance.post(
        f"/v1/reviews/{referral_id}/decision", {"decision": "reject", "note": "same phone"}
    )
    assert rejected.status_code == 200, rejected.text
    out = tmp_path / "labels.jsonl"

    code = main(["labels", "export", "--out", str(out)])

    labels = [json.loads(line) for line in out.read_text().splitlines()]
    mine = [label for label in labels if label["referral_id"] == referral_id]
    assert code == 0
    assert [(label["fraud"], label["decided_by"]) for label in mine] == [(True, ["carol"])]
    assert mine[0]["features"] and "same_device" in mine[0]["features"]
