"""The daily review-timeout job: undecided reviews resolve by the program's timeout action."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import FixedClock
from shared.domain.referrals import ReferralStatus
from shared.domain.reviews import TIMEOUT_ACTOR
from shared.repositories.audit import AuditLog
from shared.repositories.referrals import ReferralRepository
from shared.repositories.reviews import LabelStore, ReviewIndex
from shared.services.reviews import ReviewService
from shared.storage.memory_table import MemoryTable
from tests.finance_support import Intake, flag
from tests.support import T0


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def intake(table: MemoryTable) -> Intake:
    return Intake(table, FixedClock(T0))


@pytest.fixture
def reviews(table: MemoryTable) -> ReviewService:
    return ReviewService(table, FixedClock(T0))


def _flagged(intake: Intake, **program: object) -> tuple[str, str]:
    program_id = intake.program(review_timeout_days=7, **program)
    _, code = intake.advocate(program_id)
    referral = intake.qualified(program_id, code)
    flag(intake.table, referral.referral_id, 80, T0)
    return program_id, referral.referral_id


def test_a_review_past_its_timeout_is_rejected_when_the_action_is_reject(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    _, referral_id = _flagged(intake, review_timeout_action="reject")

    report = reviews.expire_reviews(T0 + timedelta(days=7))

    assert (report.expired, report.rejected, report.approved) == (1, 1, 0)
    stored = ReferralRepository(table).get(referral_id)
    assert stored is not None and stored.status == ReferralStatus.REJECTED
    assert stored.decided_by == TIMEOUT_ACTOR
    entries, _ = AuditLog(table).for_referral(referral_id)
    assert [(e.action, e.actor) for e in entries] == [("review.timeout_rejected", TIMEOUT_ACTOR)]
    assert entries[0].details["review_timeout_days"] == 7


def test_a_review_past_its_timeout_is_approved_when_the_action_is_approve(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    _, referral_id = _flagged(intake, review_timeout_action="approve")

    report = reviews.expire_reviews(T0 + timedelta(days=8))

    assert (report.expired, report.approved) == (1, 1)
    stored = ReferralRepository(table).get(referral_id)
    assert stored is not None and stored.status == ReferralStatus.HOLDING
    entries, _ = AuditLog(table).for_referral(referral_id)
    assert [e.action for e in entries] == ["review.timeout_approved"]
    assert ReviewIndex(table).get(referral_id) is None


def test_a_review_within_its_timeout_is_left_for_finance(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    _, referral_id = _flagged(intake)

    report = reviews.expire_reviews(T0 + timedelta(days=6, hours=23))

    assert report.expired == 0
    stored = ReferralRepository(table).get(referral_id)
    assert stored is not None and stored.status == ReferralStatus.REVIEW


def test_a_timeout_is_not_a_reviewer_label(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    _, referral_id = _flagged(intake)

    reviews.expire_reviews(T0 + timedelta(days=30))

    assert LabelStore(table).for_referral(referral_id) == []


def test_running_the_job_twice_resolves_each_review_once(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    _, referral_id = _flagged(intake)
    later = T0 + timedelta(days=10)

    reviews.expire_reviews(later)
    second = reviews.expire_reviews(later)

    assert second.expired == 0
    entries, _ = AuditLog(table).for_referral(referral_id)
    assert len(entries) == 1


def test_an_open_review_missing_from_the_queue_is_put_back(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    _, referral_id = _flagged(intake)
    table.write([ReviewIndex.delete_op(referral_id)])

    report = reviews.expire_reviews(T0 + timedelta(days=1))

    assert report.index_repaired == 1
    assert ReviewIndex(table).get(referral_id) is not None


def test_a_queue_entry_for_a_referral_no_longer_in_review_is_removed(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    _, referral_id = _flagged(intake)
    referrals = ReferralRepository(table)
    current = referrals.get(referral_id)
    assert current is not None
    # A writer that moved it on without touching the queue.
    moved = current.model_copy(
        update={"status": ReferralStatus.HOLDING, "version": current.version + 1}
    )
    table.write([referrals.save_op(moved, current.version)])

    report = reviews.expire_reviews(T0 + timedelta(days=1))

    assert report.index_removed == 1
    assert ReviewIndex(table).get(referral_id) is None
