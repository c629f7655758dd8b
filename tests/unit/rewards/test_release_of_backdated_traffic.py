"""Backdated traffic waits its holding period like any other: from the purchase's own date."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import iso
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from tests.support import T0, advocate_body, program_body, purchase_body, referral_body
from tests.unit.rewards.conftest import World


def _imported_referral(world: World, *, holding_period_days: int, bought_days_ago: int) -> str:
    """A program and advocate dated 60 days back, a referral and purchase dated since."""
    started = iso(T0 - timedelta(days=60))
    program = world.programs.create(
        ProgramCreate.model_validate(
            program_body(occurred_at=started, holding_period_days=holding_period_days)
        ).command()
    )
    enrolment = world.advocates.enrol(
        program.program_id,
        AdvocateEnrol.model_validate(advocate_body(occurred_at=started)).command(),
    )
    referral = world.intake.create(
        ReferralCreate.model_validate(
            referral_body(
                program.program_id,
                enrolment.advocate.referral_code,
                occurred_at=iso(T0 - timedelta(days=bought_days_ago, hours=1)),
            )
        ).command()
    )
    bought = iso(T0 - timedelta(days=bought_days_ago))
    world.events.record(
        referral.referral_id,
        EventCreate.model_validate(purchase_body(occurred_at=bought)).command(),
    )
    world.approve(referral.referral_id)
    return referral.referral_id


def test_a_backdated_purchase_still_waits_the_holding_period_from_its_own_occurred_at(
    world: World,
) -> None:
    # Given a 14-day holding period and a purchase dated 3 days back, approved now
    referral_id = _imported_referral(world, holding_period_days=14, bought_days_ago=3)

    # When the release job runs now, a minute before the 14th day after the purchase, and on it
    now = world.release.run(T0)
    early = world.release.run(T0 + timedelta(days=11, minutes=-1))
    due = world.release.run(T0 + timedelta(days=11))

    # Then it is released only once 14 days have passed since the purchase
    assert now.released == [] and early.released == []
    assert due.released == [referral_id]


def test_a_purchase_dated_past_its_holding_period_is_released_on_the_next_run(
    world: World,
) -> None:
    # Given a 14-day holding period and an imported purchase dated 30 days back, approved now
    referral_id = _imported_referral(world, holding_period_days=14, bought_days_ago=30)

    # When the release job runs
    report = world.release.run(T0)

    # Then its holding period, counted from the purchase, is already over
    assert report.released == [referral_id]
