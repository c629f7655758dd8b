"""The same history decided over HTTP on the local stack and by the backtest: same risk."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.backtest.ops import parse_lines
from shared.backtest.replay import Backtest
from shared.local.stack import LocalStack
from shared.scoring.serving import load_judge
from tests.e2e.conftest import MakeClient
from tests.support import program_body, unique

ROOT = Path(__file__).resolve().parents[2]


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_backtest_and_local_stack_give_the_same_risk(
    client_for: MakeClient, stack: LocalStack
) -> None:
    # Given a history: a friend, and an alias on the advocate's own device, both buying
    # Within one clock hour, so the replay's hourly jobs do not run between the operations.
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    advocate = unique("adv")
    device = unique("dev")
    # Addresses no other test uses: the stack's table is shared by the whole e2e session.
    rng = random.Random(advocate)
    home_ip, friend_ip = (f"100.{rng.randrange(64, 127)}.{rng.randrange(256)}.9" for _ in "ab")
    history: list[dict[str, Any]] = [
        {"op": "program", "at": _at(start), "ref": "p1", "body": program_body()},
        {
            "op": "advocate",
            "at": _at(start + timedelta(minutes=1)),
            "program": "p1",
            "body": {
                "customer_id": advocate,
                "email": f"{advocate}@gmail.com",
                "context": {"ip": home_ip, "device_id": device, "country": "US"},
            },
        },
    ]
    referees = {
        unique("friend"): {"email_of": "friend", "ip": friend_ip, "device": unique("dev")},
        unique("alias"): {"email_of": "alias", "ip": home_ip, "device": device},
    }
    for i, (referee, who) in enumerate(referees.items()):
        email = (
            f"{referee}@example.org" if who["email_of"] == "friend" else f"{advocate}+2@gmail.com"
        )
        history.append(
            {
                "op": "referral",
                "at": _at(start + timedelta(minutes=10 + i)),
                "program": "p1",
                "advocate": advocate,
                "body": {
                    "referee": {"customer_id": referee, "email": email},
                    "context": {"ip": who["ip"], "device_id": who["device"], "country": "US"},
                },
            }
        )
        history.append(
            {
                "op": "event",
                "at": _at(start + timedelta(minutes=40 + i)),
                "program": "p1",
                "referee": referee,
                "body": {
                    "type": "purchase",
                    "order_id": unique("ord"),
                    "amount": "45.00",
                    "currency": "USD",
                    "payment_fingerprint": unique("card"),
                },
            }
        )

    history.sort(key=lambda op: op["at"])  # a backtest history is in time order

    # When it is replayed by the backtest with the committed model
    replay = Backtest(load_judge(ROOT / "models")).run(
        parse_lines(json.dumps(op) for op in history)
    )
    replayed = {line["referee"]: line["risk"] for line in replay.lines}

    # And sent over HTTP to the local stack
    admin, client = client_for("admin"), client_for("client")
    program = {**history[0]["body"], "occurred_at": history[0]["at"]}
    program_id = admin.post("/v1/programs", program).json()["program_id"]
    enrolled = client.post(
        f"/v1/programs/{program_id}/advocates",
        {**history[1]["body"], "occurred_at": history[1]["at"]},
    )
    code = enrolled.json()["referral_code"]
    live: dict[str, str] = {}
    for op in history[2:]:
        if op["op"] == "referral":
            body = {**op["body"], "program_id": program_id, "referral_code": code}
            created = client.post("/v1/referrals", {**body, "occurred_at": op["at"]})
            assert created.status_code == 201, created.text
            live[op["body"]["referee"]["customer_id"]] = created.json()["referral_id"]
        else:
            referral_id = live[op["referee"]]
            sent = client.post(
                f"/v1/referrals/{referral_id}/events", {**op["body"], "occurred_at": op["at"]}
            )
            assert sent.status_code == 202, sent.text
            stack.drain()  # scored before the next operation, as the replay does

    # Then each referral carries the same score, decision, reasons and model version
    for referee, referral_id in live.items():
        risk = client.get(f"/v1/referrals/{referral_id}").json()["risk"]
        expected = replayed[referee]
        assert risk is not None and expected is not None
        assert risk["score"] == float(expected["score"])
        assert risk["decision"] == expected["decision"]
        assert [r["code"] for r in risk["reasons"]] == [r["code"] for r in expected["reasons"]]
        assert risk["model_version"] == expected["model_version"]
    decisions = {replayed[r]["decision"] for r in live}
    assert len(decisions) == 2  # the two referrals really were told apart
