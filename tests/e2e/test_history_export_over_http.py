"""The local stack's history, exported over its control endpoint, trains and compares a
model: finance decisions and refunds recorded over HTTP come back as labels."""

from __future__ import annotations

import json
from pathlib import Path

from shared.cli import main
from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique


def _reviewed_referral(
    client_for: MakeClient, stack: LocalStack, program_id: str, decision: str
) -> str:
    """A self-referral (the advocate's device, IP and a plus-tag alias) sent to finance,
    then decided; returns the referee."""
    client = client_for("client")
    context = {"ip": "203.0.113.61", "device_id": unique("phone"), "country": "US"}
    advocate = unique("adv")
    enrolled = client.post(
        f"/v1/programs/{program_id}/advocates",
        advocate_body(advocate, email=f"{advocate}@gmail.com", context=context),
    )
    code = enrolled.json()["referral_code"]
    referee = {"customer_id": unique("ref"), "email": f"{advocate}+deal@gmail.com"}
    made = client.post(
        "/v1/referrals", referral_body(program_id, code, context=context, referee=referee)
    )
    referral_id = made.json()["referral_id"]
    order = purchase_body()
    assert client.post(f"/v1/referrals/{referral_id}/events", order).status_code == 202
    stack.drain()
    assert client.get(f"/v1/referrals/{referral_id}").json()["status"] == "review"
    finance = client_for("finance", sub=unique("fin"))
    decided = finance.post(f"/v1/reviews/{referral_id}/decision", {"decision": decision})
    assert decided.status_code == 200, decided.text
    if decision == "approve":
        refund = {"order_id": order["order_id"], "amount": "5.00", "currency": "USD"}
        refunded = client.post(f"/v1/referrals/{referral_id}/refunds", refund)
        assert refunded.status_code in (200, 201, 202), refunded.text
    return str(referee["customer_id"])


def test_an_exported_history_has_the_decisions_and_trains_a_comparable_model(
    client_for: MakeClient, stack: LocalStack, tmp_path: Path
) -> None:
    # Given finance decisions (and a refund) recorded over HTTP
    admin = client_for("admin")
    created = admin.post("/v1/programs", program_body(auto_reject=False))
    program_id = created.json()["program_id"]
    rejected = [_reviewed_referral(client_for, stack, program_id, "reject") for _ in range(2)]
    approved = [_reviewed_referral(client_for, stack, program_id, "approve") for _ in range(2)]

    # When the history is exported
    out = tmp_path / "history"
    assert main(["history", "export", "--out", str(out)]) == 0

    # Then the labels have the decisions, joined to the exported referrals
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    mine = {x["referee"]: (x["label"], x["source"]) for x in labels if x["program"] == program_id}
    assert mine == {
        **dict.fromkeys(rejected, ("fraud", "review")),
        **dict.fromkeys(approved, ("legit", "review")),
    }
    ops = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    exported_referees = {o["body"]["referee"]["customer_id"] for o in ops if o["op"] == "referral"}
    assert set(mine) <= exported_referees
    assert any(o["op"] == "refund" and o["program"] == program_id for o in ops)

    # And a model trains on it, and compares against the served one on it
    models = tmp_path / "models"
    assert (
        main(
            [
                "train",
                "--data",
                str(out / "events.jsonl"),
                "--labels",
                str(out / "labels.jsonl"),
                "--out",
                str(models),
            ]
        )
        == 0
    )
    trained = next(p for p in models.iterdir() if p.is_dir())
    assert main(["model", "compare", str(trained), "--history", str(out)]) == 0
