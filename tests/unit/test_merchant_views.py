"""Referral lists by program, status, advocate and time, and an advocate's summary, on the
in-memory table through the object graph bootstrap builds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.bootstrap import bootstrap
from shared.domain.referral_filter import ReferralFilter
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardStatus
from shared.errors import InvalidRequest, NotFound
from shared.repositories.rewards import RewardRepository
from shared.repositories.unit_of_work import UnitOfWork
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import ReferralCreate
from shared.services.merchant_views import MerchantViews
from tests.support import T0, advocate_body, program_body, referral_body, unique
from tests.unit.conftest import Services


def _views(s: Services) -> MerchantViews:
    return bootstrap(table=s.table, clock=s.clock).merchant_views


def _program(s: Services) -> str:
    return s.programs.create(ProgramCreate.model_validate(program_body()).command()).program_id


def _advocate(s: Services, program_id: str) -> tuple[str, str]:
    body = AdvocateEnrol.model_validate(advocate_body()).command()
    advocate = s.advocates.enrol(program_id, body).advocate
    return advocate.advocate_id, advocate.referral_code


def _referrals(s: Services, program_id: str, code: str, count: int) -> list[str]:
    """`count` referrals a minute apart, oldest first."""
    ids = []
    for _ in range(count):
        s.clock.advance(timedelta(minutes=1))
        body = referral_body(program_id, code)
        ids.append(s.referrals.create(ReferralCreate.model_validate(body).command()).referral_id)
    return ids


def _reward(referral_id: str, program_id: str, advocate_id: str, status: RewardStatus) -> Reward:
    return Reward(
        reward_id=unique("rwd"),
        referral_id=referral_id,
        program_id=program_id,
        beneficiary="advocate",
        customer_id=unique("cus"),
        advocate_id=advocate_id,
        kind="gift_card",
        amount=Decimal("10.00"),
        currency="USD",
        status=status,
        created_at=T0,
        updated_at=T0,
    )


def _record(s: Services, *rewards: Reward) -> None:
    changes = UnitOfWork(s.table).begin()
    for reward in rewards:
        RewardRepository(s.table).add(reward, within=changes)
    changes.commit()


def test_a_program_list_pages_oldest_first(services: Services) -> None:
    # Given a program with three referrals
    program_id = _program(services)
    _, code = _advocate(services, program_id)
    ids = _referrals(services, program_id, code, 3)
    where = ReferralFilter(program_id=program_id)

    # When it is read two at a time
    first, cursor = _views(services).referrals(where, 2, None)
    second, end = _views(services).referrals(where, 2, cursor)

    # Then the pages hold every referral once, in occurrence order
    assert [r.referral_id for r in first + second] == ids
    assert end is None


def test_a_time_range_includes_both_bounds(services: Services) -> None:
    program_id = _program(services)
    _, code = _advocate(services, program_id)
    ids = _referrals(services, program_id, code, 3)
    where = ReferralFilter(
        program_id=program_id,
        since=T0 + timedelta(minutes=2),
        until=T0 + timedelta(minutes=3),
    )

    found, _ = _views(services).referrals(where, 10, None)

    assert [r.referral_id for r in found] == ids[1:]


def test_a_status_reads_the_programs_status_partitions(services: Services) -> None:
    program_id = _program(services)
    _, code = _advocate(services, program_id)
    ids = _referrals(services, program_id, code, 2)

    pending, _ = _views(services).referrals(
        ReferralFilter(program_id=program_id, status=ReferralStatus.PENDING), 10, None
    )
    rewarded, _ = _views(services).referrals(
        ReferralFilter(program_id=program_id, status=ReferralStatus.REWARDED), 10, None
    )

    assert sorted(r.referral_id for r in pending) == sorted(ids)
    assert rewarded == []


def test_an_advocates_referrals_come_from_its_index(services: Services) -> None:
    program_id = _program(services)
    advocate_id, code = _advocate(services, program_id)
    _, other_code = _advocate(services, program_id)
    ids = _referrals(services, program_id, code, 2)
    _referrals(services, program_id, other_code, 1)

    found, _ = _views(services).referrals(ReferralFilter(advocate_id=advocate_id), 10, None)

    assert [r.referral_id for r in found] == ids


def test_a_list_without_program_or_advocate_names_program_id(services: Services) -> None:
    with pytest.raises(InvalidRequest) as refused:
        _views(services).referrals(ReferralFilter(), 10, None)

    assert [e.field for e in refused.value.errors] == ["program_id"]


def test_an_advocate_summary_counts_referrals_and_adds_up_rewards(services: Services) -> None:
    # Given an advocate with two referrals, rewards pending, sent and confirmed
    program_id = _program(services)
    advocate_id, code = _advocate(services, program_id)
    first, second = _referrals(services, program_id, code, 2)
    _record(
        services,
        _reward(first, program_id, advocate_id, RewardStatus.CONFIRMED),
        _reward(second, program_id, advocate_id, RewardStatus.SENT),
        _reward(second, program_id, advocate_id, RewardStatus.QUEUED),
    )

    # When its summary is read
    summary = _views(services).advocate(advocate_id)

    # Then confirmed and sent are earned, confirmed is paid, queued is pending
    assert summary.referrals["pending"] == 2
    assert summary.rewards["earned"]["gift_card"].amount == Decimal("20.00")
    assert summary.rewards["paid"]["gift_card"].amount == Decimal("10.00")
    assert summary.rewards["pending"]["gift_card"].amount == Decimal("10.00")
    assert summary.complete is True


def test_a_referees_reward_is_not_the_advocates(services: Services) -> None:
    program_id = _program(services)
    advocate_id, code = _advocate(services, program_id)
    (referral_id,) = _referrals(services, program_id, code, 1)
    referee = _reward(referral_id, program_id, advocate_id, RewardStatus.CONFIRMED)
    _record(services, referee.model_copy(update={"beneficiary": "referee"}))

    summary = _views(services).advocate(advocate_id)

    assert summary.rewards == {"earned": {}, "pending": {}, "paid": {}}


def test_a_summary_reads_at_most_its_cap_and_says_so(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.services import merchant_views

    monkeypatch.setattr(merchant_views, "SUMMARY_REFERRALS", 2)
    program_id = _program(services)
    advocate_id, code = _advocate(services, program_id)
    _referrals(services, program_id, code, 3)

    summary = _views(services).advocate(advocate_id)

    assert summary.referrals["pending"] == 2
    assert summary.complete is False


def test_a_missing_advocate_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        _views(services).advocate(unique("adv"))
