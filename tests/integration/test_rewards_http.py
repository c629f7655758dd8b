"""Refunds and the reward ledger over the HTTP contract (API Gateway v2 events on moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FixedClock, iso
from tests.integration.conftest import Invoke, approved_in_functions_table
from tests.unit.rewards.conftest import World

REFUNDS = "/v1/referrals/{referral_id}/refunds"


@pytest.fixture
def released(invoke: Invoke) -> tuple[World, str]:
    """A referral whose two rewards are released and queued, in the functions' own table."""

    world, referral_id = approved_in_functions_table(
        FixedClock(datetime.now(UTC) - timedelta(minutes=1))
    )
    world.release.release(referral_id)
    return world, referral_id


def _refund(invoke: Invoke, referral_id: str, body: dict[str, str]) -> tuple[int, dict]:
    status, _, reply = invoke(
        "events",
        "POST",
        REFUNDS,
        REFUNDS.replace("{referral_id}", referral_id),
        body=body,
        roles=["client"],
    )
    return status, reply


def test_a_refund_is_recorded_once_and_the_referral_shows_its_cancelled_rewards(
    invoke: Invoke, released: tuple[World, str]
) -> None:
    world, referral_id = released
    body = {
        "order_id": world.order_of(referral_id),
        "amount": "45.00",
        "currency": "USD",
        "occurred_at": iso(datetime.now(UTC)),
    }

    first_status, first = _refund(invoke, referral_id, body)
    again_status, again = _refund(invoke, referral_id, body)

    assert first_status == 201 and first["reversed"] is True and first["status"] == "reversed"
    assert {r["status"] for r in first["rewards"]} == {"cancelled"}
    assert again_status == 200 and again == first
    status, _, referral = invoke(
        "referrals",
        "GET",
        "/v1/referrals/{referral_id}",
        f"/v1/referrals/{referral_id}",
        roles=["finance"],
    )
    assert status == 200
    assert sorted(r["beneficiary"] for r in referral["rewards"]) == ["advocate", "referee"]
    assert all(r["amount"] == "10.00" for r in referral["rewards"])


def test_a_refund_dated_before_its_purchase_is_422(
    invoke: Invoke, released: tuple[World, str]
) -> None:
    world, referral_id = released
    body = {
        "order_id": world.order_of(referral_id),
        "amount": "45.00",
        "currency": "USD",
        "occurred_at": iso(world.clock.now() - timedelta(days=1)),
    }

    status, problem = _refund(invoke, referral_id, body)

    assert status == 422 and problem["errors"][0]["field"] == "occurred_at"


def test_a_refund_amount_as_a_json_number_is_422(
    invoke: Invoke, released: tuple[World, str]
) -> None:
    world, referral_id = released
    body = {"order_id": world.order_of(referral_id), "amount": 45, "currency": "USD"}

    status, problem = _refund(invoke, referral_id, body)  # type: ignore[arg-type]

    assert status == 422 and problem["errors"][0]["field"] == "amount"


def test_finance_lists_a_referrals_ledger_entries(
    invoke: Invoke, released: tuple[World, str]
) -> None:
    _, referral_id = released

    status, _, page = invoke(
        "rewards", "GET", "/v1/rewards", roles=["finance"], query={"referral_id": referral_id}
    )

    assert status == 200 and page["next_cursor"] is None
    assert {r["status"] for r in page["items"]} == {"queued"}
    assert {r["kind"] for r in page["items"]} == {"gift_card", "cash"}


def test_the_ledger_filters_by_status_and_pages(
    invoke: Invoke, released: tuple[World, str]
) -> None:
    status, _, page = invoke(
        "rewards", "GET", "/v1/rewards", roles=["finance"], query={"status": "queued", "limit": "1"}
    )

    assert status == 200 and len(page["items"]) == 1 and page["next_cursor"]


def test_an_unknown_status_filter_is_422(invoke: Invoke) -> None:
    status, _, problem = invoke(
        "rewards", "GET", "/v1/rewards", roles=["finance"], query={"status": "paid"}
    )

    assert status == 422 and problem["errors"][0]["field"] == "status"


def test_the_ledger_is_for_finance_only(invoke: Invoke) -> None:
    status, _, _ = invoke("rewards", "GET", "/v1/rewards", roles=["client", "admin"])

    assert status == 403


def test_a_refund_retried_with_its_refund_id_is_a_replay_and_another_id_is_another_refund(
    invoke: Invoke, released: tuple[World, str]
) -> None:
    world, referral_id = released
    body = {"order_id": world.order_of(referral_id), "amount": "5.00", "currency": "USD"}

    first_status, first = _refund(invoke, referral_id, {**body, "refund_id": "rf-1"})
    again_status, again = _refund(invoke, referral_id, {**body, "refund_id": "rf-1"})
    other_status, other = _refund(invoke, referral_id, {**body, "refund_id": "rf-2"})

    assert (first_status, again_status, other_status) == (201, 200, 201)
    assert again == first and first["refund_id"] == "rf-1"
    assert first["order_amount_left"] == "40.00" and other["order_amount_left"] == "35.00"
