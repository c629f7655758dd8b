"""Finance's reissue and reverse over the HTTP contract (API Gateway v2 events on moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import RewardMessage, RewardStatus
from shared.payouts.sandbox import REJECTED_RECIPIENT_DOMAIN
from shared.payouts.sandbox_faults import FaultPlan
from shared.schemas.advocates import AdvocateEnrol
from tests.integration.conftest import Invoke
from tests.support import advocate_body, unique
from tests.unit.rewards.conftest import World

PROBLEM = "application/problem+json"
REISSUE = "/v1/rewards/{reward_id}/reissue"
REVERSE = "/v1/referrals/{referral_id}/reverse"


def _world() -> World:
    """A world on the functions' own table, paying through the functions' own providers."""
    from shared import wiring

    return World(
        table=wiring.table(),  # type: ignore[arg-type]
        clock=FixedClock(datetime.now(UTC) - timedelta(minutes=1)),
        queue=MemoryRewardQueue(),
        gift_faults=FaultPlan.none(),
        cash_faults=FaultPlan.none(),
        providers=wiring.payout_providers(),
    )


@pytest.fixture
def failed_gift_card(invoke: Invoke) -> tuple[World, str, str]:
    """A referral whose cash reward is paid and whose gift card the provider refused."""
    world = _world()
    program_id = world.program()
    customer = unique("adv")
    body = advocate_body(customer, email=f"{customer}@{REJECTED_RECIPIENT_DOMAIN}")
    code = world.advocates.enrol(program_id, AdvocateEnrol.model_validate(body).command())
    referral_id = world.approved(program_id, code.advocate.referral_code)
    world.release.release(referral_id)
    world.drain()
    gift = next(r for r in world.rewards(referral_id) if r.kind == "gift_card")
    assert gift.status == RewardStatus.FAILED
    return world, referral_id, gift.reward_id


def _reissue(
    invoke: Invoke, reward_id: str, body: Any, roles: list[str] | None = None, **kwargs: Any
) -> tuple[int, dict[str, str], Any]:
    return invoke(
        "reward_corrections",
        "POST",
        REISSUE,
        REISSUE.replace("{reward_id}", reward_id),
        body=body,
        roles=roles or ["finance"],
        **kwargs,
    )


def _reverse(
    invoke: Invoke, referral_id: str, body: Any, roles: list[str] | None = None
) -> tuple[int, dict[str, str], Any]:
    return invoke(
        "reward_corrections",
        "POST",
        REVERSE,
        REVERSE.replace("{referral_id}", referral_id),
        body=body,
        roles=roles or ["finance"],
    )


def test_finance_reissues_a_failed_reward_to_a_new_address_and_it_pays(
    invoke: Invoke, failed_gift_card: tuple[World, str, str]
) -> None:
    world, referral_id, reward_id = failed_gift_card

    status, _, entry = _reissue(
        invoke, reward_id, {"note": "address corrected", "recipient_email": "ok@example.com"}
    )
    world.deliver(RewardMessage(reward_id, referral_id))

    assert status == 200
    assert entry["status"] == "queued" and entry["attempt"] == 1
    assert entry["reward_id"] == reward_id
    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CONFIRMED}
    assert world.status(referral_id) == ReferralStatus.REWARDED


def test_a_reissue_retried_with_its_idempotency_key_replays_and_without_one_is_409(
    invoke: Invoke, failed_gift_card: tuple[World, str, str]
) -> None:
    _, _, reward_id = failed_gift_card
    body = {"note": "retry", "recipient_email": "ok@example.com"}
    key = {"Idempotency-Key": unique("idem")}

    first = _reissue(invoke, reward_id, body, headers=key)
    again = _reissue(invoke, reward_id, body, headers=key)
    fresh_status, headers, problem = _reissue(invoke, reward_id, body)

    assert first[0] == again[0] == 200 and again[2] == first[2]
    assert fresh_status == 409 and headers["Content-Type"] == PROBLEM
    assert "queued" in problem["detail"]


def test_a_client_may_not_reissue(invoke: Invoke) -> None:
    status, headers, _ = _reissue(invoke, "ref_x-advocate", {"note": "x"}, roles=["client"])

    assert status == 403 and headers["Content-Type"] == PROBLEM


def test_a_reissue_with_a_malformed_email_is_422_naming_the_field(invoke: Invoke) -> None:
    status, headers, problem = _reissue(
        invoke, "ref_x-advocate", {"note": "x", "recipient_email": "nobody"}
    )

    assert status == 422 and headers["Content-Type"] == PROBLEM
    assert problem["errors"][0]["field"] == "recipient_email"


def test_a_reissue_without_a_note_is_422(invoke: Invoke) -> None:
    status, _, problem = _reissue(invoke, "ref_x-advocate", {})

    assert status == 422 and problem["errors"][0]["field"] == "note"


def test_a_reissue_of_an_unknown_reward_is_404(invoke: Invoke) -> None:
    status, headers, _ = _reissue(invoke, "ref_nothing-advocate", {"note": "x"})

    assert status == 404 and headers["Content-Type"] == PROBLEM


def test_finance_reverses_a_referral_before_payout_and_again_is_409(invoke: Invoke) -> None:
    world = _world()
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.release(referral_id)

    status, _, reversal = _reverse(invoke, referral_id, {"note": "signup fraud"})
    again_status, headers, _ = _reverse(invoke, referral_id, {"note": "signup fraud"})

    assert status == 200 and reversal["status"] == "reversed"
    assert {r["status"] for r in reversal["rewards"]} == {"cancelled"}
    assert world.budget_left(program_id) == Decimal("5000.00")
    assert again_status == 409 and headers["Content-Type"] == PROBLEM


def test_a_client_may_not_reverse(invoke: Invoke) -> None:
    status, headers, _ = _reverse(invoke, "ref_x", {"note": "x"}, roles=["client"])

    assert status == 403 and headers["Content-Type"] == PROBLEM


def test_a_reverse_without_a_note_is_422(invoke: Invoke) -> None:
    status, headers, problem = _reverse(invoke, "ref_x", {"note": ""})

    assert status == 422 and headers["Content-Type"] == PROBLEM
    assert problem["errors"][0]["field"] == "note"
