"""Charity donations: released like any reward, paid through the charity provider once."""

from __future__ import annotations

from decimal import Decimal

from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import RewardStatus
from tests.unit.rewards.conftest import World

DONATION = {"kind": "charity_donation", "amount": "5.00", "currency": "USD", "charity": "wwf"}


def _donating_program(world: World) -> str:
    return world.program(
        rewards={
            "advocate": DONATION,
            "referee": {"kind": "cash", "amount": "10.00", "currency": "USD"},
        },
        tiers=[],
    )


def test_a_released_donation_names_its_charity_and_goes_to_the_charity_queue(
    world: World,
) -> None:
    # Given an approved referral of a program donating for the advocate
    program_id = _donating_program(world)
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)

    # When it is released
    world.release.release(referral_id)

    # Then the donation entry carries the charity and is queued as a donation
    donation = next(r for r in world.rewards(referral_id) if r.beneficiary == "advocate")
    assert (donation.kind, donation.charity, donation.amount) == (
        "charity_donation",
        "wwf",
        Decimal("5.00"),
    )
    assert sorted(kind for kind, _ in world.queue.sent) == ["cash", "charity_donation"]


def test_a_duplicate_delivery_of_a_donation_pays_once(world: World) -> None:
    # Given a released donation whose message is delivered, then delivered again
    program_id = _donating_program(world)
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.release(referral_id)
    messages = world.queue.take()
    donation = next(m for kind, m in messages if kind == "charity_donation")

    for _ in range(3):
        world.deliver(donation)
    for kind, message in messages:
        if kind != "charity_donation":
            world.deliver(message)

    # Then the charity provider holds one donation and the entry is confirmed
    charity = world.providers["charity_donation"]
    orders = charity.ledger_of_orders()  # type: ignore[attr-defined]
    assert len(orders) == 1 and orders[0].amount == Decimal("5.00")
    entry = next(r for r in world.rewards(referral_id) if r.kind == "charity_donation")
    assert entry.status == RewardStatus.CONFIRMED
    assert entry.provider == "sandbox_charity" and entry.provider_reference
    assert world.status(referral_id) == ReferralStatus.REWARDED


def test_reconciliation_finds_a_paid_donation_clean(world: World) -> None:
    # Given a paid donation
    program_id = _donating_program(world)
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.release(referral_id)
    world.drain()

    # When reconciliation runs an hour later
    world.later(hours=1)
    report = world.reconcile.run()

    # Then the charity provider's order belongs to the confirmed entry
    assert report.clean, report.as_dict()
    assert report.provider_orders_seen == 2
