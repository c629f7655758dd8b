"""Group-goal campaigns over real HTTP on the local stack: a goal met by two advocates'
referrals pays each of them the campaign reward exactly once, and the campaign shows its
progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

BONUS = {"kind": "gift_card", "amount": "25.00", "currency": "USD"}


def _program(client_for: MakeClient) -> str:
    body = program_body(holding_period_days=0, dual_approval_over="1000.00", tiers=[])
    created = client_for("admin").post("/v1/programs", body)
    assert created.status_code == 201, created.text
    return str(created.json()["program_id"])


def _advocate(client_for: MakeClient, program_id: str) -> tuple[str, str]:
    context = {"ip": "203.0.113.41", "device_id": unique("laptop"), "country": "US"}
    enrolled = client_for("client").post(
        f"/v1/programs/{program_id}/advocates", advocate_body(context=context)
    )
    assert enrolled.status_code == 201, enrolled.text
    return str(enrolled.json()["advocate_id"]), str(enrolled.json()["referral_code"])


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


def _campaign(client_for: MakeClient, program_id: str, goal: int) -> dict[str, object]:
    now = datetime.now(UTC)
    body = {
        "name": "Spring group goal",
        "goal_referrals": goal,
        "reward": BONUS,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
    }
    created = client_for("admin").post(f"/v1/programs/{program_id}/campaigns", body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_a_reached_campaign_pays_each_participating_advocate_exactly_once(
    client_for: MakeClient, stack: LocalStack
) -> None:
    # Given a campaign with a goal of three referrals, and two advocates bringing three
    program_id = _program(client_for)
    campaign = _campaign(client_for, program_id, goal=3)
    assert campaign["status"] == "active"
    assert campaign["progress"] == {
        "qualifying_referrals": 0,
        "goal_referrals": 3,
        "reached_at": None,
    }
    first, first_code = _advocate(client_for, program_id)
    second, second_code = _advocate(client_for, program_id)
    for code in (first_code, first_code, second_code):
        _holding(client_for, stack, program_id, code)

    # When the release job runs twice and fulfilment drains
    now = datetime.now(UTC) + timedelta(minutes=1)
    stack.run_job("release", now)
    stack.run_job("release", now)
    stack.drain()

    # Then the campaign shows its goal reached, paid out
    path = f"/v1/programs/{program_id}/campaigns/{campaign['campaign_id']}"
    shown = client_for("finance").get(path)
    assert shown.status_code == 200, shown.text
    assert shown.json()["progress"]["qualifying_referrals"] == 3
    assert shown.json()["progress"]["reached_at"] is not None
    assert shown.json()["status"] == "completed"
    # And each advocate holds one confirmed campaign entry, filed under the campaign
    entries = client_for("finance").get("/v1/rewards", params={"limit": 100}).json()["items"]
    ours = [e for e in entries if e.get("campaign_id") == campaign["campaign_id"]]
    assert sorted(e["reward_id"] for e in ours) == sorted(
        f"{campaign['campaign_id']}-{a}" for a in (first, second)
    )
    for entry in ours:
        assert entry["referral_id"] is None
        assert (entry["amount"], entry["status"]) == ("25.00", "confirmed")


def test_a_campaign_ending_before_it_starts_is_refused_naming_the_field(
    client_for: MakeClient,
) -> None:
    program_id = _program(client_for)
    now = datetime.now(UTC)
    body = {
        "name": "Backwards",
        "goal_referrals": 2,
        "reward": BONUS,
        "starts_at": now.isoformat(),
        "ends_at": (now - timedelta(days=1)).isoformat(),
    }
    refused = client_for("admin").post(f"/v1/programs/{program_id}/campaigns", body)
    assert refused.status_code == 422, refused.text
    assert "ends_at" in refused.text
