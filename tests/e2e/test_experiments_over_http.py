"""An incentive experiment over real HTTP on the local stack: "10 off" against "15 off".

Advocates enrol and are assigned a variant, refer, some referees convert; the release job
and the fulfilment functions pay each referral its variant's rewards exactly once, and the
program's stats show both variants with their intervals and the comparison.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.local.stack import LocalStack
from tests.e2e.conftest import Client, MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

AMOUNTS = {"10 off": Decimal("10.00"), "15 off": Decimal("15.00")}
# Per variant: how many referrals each advocate makes, and how many of them convert.
PLAN = {"10 off": (3, 3), "15 off": (3, 1)}


def _experiment(admin: Client) -> str:
    variants = [
        {
            "name": name,
            "weight": 1,
            "rewards": {
                "advocate": {"kind": "gift_card", "amount": f"{amount}", "currency": "USD"},
                "referee": {"kind": "cash", "amount": f"{amount}", "currency": "USD"},
            },
        }
        for name, amount in AMOUNTS.items()
    ]
    body = program_body(
        holding_period_days=0,
        dual_approval_over="1000.00",
        tiers=[],
        per_advocate_cap=None,
        variants=variants,
    )
    created = admin.post("/v1/programs", body)
    assert created.status_code == 201, created.text
    assert [v["name"] for v in created.json()["variants"]] == list(AMOUNTS)
    return str(created.json()["program_id"])


def _advocates(client: Client, program_id: str) -> dict[str, list[str]]:
    """Enrol advocates until each variant has two; the codes by variant."""
    codes: dict[str, list[str]] = defaultdict(list)
    for n in range(40):
        context = {"ip": f"203.0.{n}.10", "device_id": unique("laptop"), "country": "US"}
        enrolled = client.post(
            f"/v1/programs/{program_id}/advocates", advocate_body(context=context)
        )
        assert enrolled.status_code == 201, enrolled.text
        shown = client.get(f"/v1/advocates/{enrolled.json()['advocate_id']}").json()
        if len(codes[shown["variant"]]) < 2:
            codes[shown["variant"]].append(enrolled.json()["referral_code"])
        if all(len(codes[name]) == 2 for name in AMOUNTS):
            return codes
    raise AssertionError(f"40 enrolments did not give each variant two advocates: {codes}")


def _refer(client: Client, program_id: str, codes: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each advocate's referrals, as PLAN says; the converted referral ids by variant."""
    converted: dict[str, list[str]] = defaultdict(list)
    n = 0
    for name, (referrals, conversions) in PLAN.items():
        for code in codes[name]:
            for i in range(referrals):
                n += 1
                context = {"ip": f"100.{64 + n}.7.1", "device_id": unique("phone"), "country": "US"}
                created = client.post(
                    "/v1/referrals", referral_body(program_id, code, context=context)
                )
                assert created.status_code == 201, created.text
                referral_id = created.json()["referral_id"]
                if i < conversions:
                    event = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
                    assert event.status_code == 202, event.text
                    converted[name].append(referral_id)
    return converted


def _approve_flagged(client: Client, finance: Client, referral_ids: list[str]) -> None:
    for referral_id in referral_ids:
        status = client.get(f"/v1/referrals/{referral_id}").json()["status"]
        if status == "review":  # the scorer wanted a person to look: approve it
            decided = finance.post(f"/v1/reviews/{referral_id}/decision", {"decision": "approve"})
            assert decided.status_code == 200, decided.text
            status = client.get(f"/v1/referrals/{referral_id}").json()["status"]
        assert status == "holding", (referral_id, status)


def test_a_two_variant_experiment_pays_each_its_variants_rewards_and_compares_them(
    client_for: MakeClient, stack: LocalStack
) -> None:
    admin, client = client_for("admin"), client_for("client")
    finance = client_for("finance", sub="e2e-experiment-approver")
    # Given a "10 off" against "15 off" experiment with two advocates on each
    program_id = _experiment(admin)
    codes = _advocates(client, program_id)

    # When they refer, some referees convert, and scoring, release and fulfilment run
    converted = _refer(client, program_id, codes)
    stack.drain()
    every = [r for ids in converted.values() for r in ids]
    _approve_flagged(client, finance, every)
    released = stack.run_job("release", datetime.now(UTC) + timedelta(minutes=1))
    assert released["released"] == len(every)
    stack.drain()
    again = stack.run_job("release", datetime.now(UTC) + timedelta(minutes=2))
    assert again["released"] == 0
    stack.drain()

    # Then each converted referral is paid once, both sides, at its variant's amount
    for name, referral_ids in converted.items():
        for referral_id in referral_ids:
            ledger = finance.get("/v1/rewards", params={"referral_id": referral_id}).json()
            assert sorted((r["beneficiary"], r["status"]) for r in ledger["items"]) == [
                ("advocate", "confirmed"),
                ("referee", "confirmed"),
            ]
            assert {Decimal(r["amount"]) for r in ledger["items"]} == {AMOUNTS[name]}
            assert all(r["provider_reference"] for r in ledger["items"])
    report = stack.run_job("reconcile", datetime.now(UTC) + timedelta(hours=1))
    assert report["mismatches"] == [], report

    # And the stats show both variants with their intervals, and the comparison
    stats = finance.get(f"/v1/programs/{program_id}/stats")
    assert stats.status_code == 200, stats.text
    body = stats.json()
    by_name = {v["name"]: v for v in body["variants"]}
    assert set(by_name) == set(AMOUNTS)
    for name, (referrals, conversions) in PLAN.items():
        shown = by_name[name]
        assert (shown["referrals"], shown["conversions"]) == (2 * referrals, 2 * conversions)
        assert shown["advocates"] >= 2
        low, high = shown["conversion_rate_interval"]
        assert 0 <= low <= shown["conversion_rate"] <= high <= 1
        assert shown["reward_cost_per_conversion"] == {
            "amount": f"{2 * AMOUNTS[name]}",
            "currency": "USD",
        }
        assert shown["fraud_rate"] == 0
    comparison = body["comparison"]
    assert (comparison["leader"], comparison["runner_up"]) == ("10 off", "15 off")
    assert comparison["z"] > 0 and 0 < comparison["p_value"] < 1
    assert isinstance(comparison["significant"], bool)
    paid = Decimal(body["rewards_paid_total"]["amount"])
    assert paid == sum(2 * AMOUNTS[n] * len(ids) for n, ids in converted.items())
