"""The daily review-timeout job: undecided reviews resolve by the program's timeout action."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.clock import FixedClock
from shared.domain.referrals import Reason, ReferralStatus, Risk
from shared.domain.reviews import TIMEOUT_ACTOR
from shared.repositories.audit import AuditLog
from shared.repositories.referrals import ReferralRepository
from shared.repositories.reviews import LabelStore, ReviewIndex
from shared.scoring import rules
from shared.scoring.thresholds import REBUILT_NAME_SIMILARITY
from shared.services.reviews import ReviewService, firm_hold_reasons, no_features
from shared.storage.memory_table import MemoryTable
from tests.finance_support import Intake, flag, services_on
from tests.support import T0
from tests.unit.test_scoring_rules import features


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def intake(table: MemoryTable) -> Intake:
    return Intake(table, FixedClock(T0))


@pytest.fixture
def reviews(table: MemoryTable) -> ReviewService:
    return services_on(table, FixedClock(T0)).reviews_with(no_features)


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


def _flag_with(table: MemoryTable, referral_id: str, reason: Reason) -> None:
    """Put the referral in review on one reason, as scoring stores it."""
    flag(table, referral_id, 80, T0, reasons=(reason.code,))
    repository = ReferralRepository(table)
    referral = repository.get(referral_id)
    assert referral is not None and referral.risk is not None
    risk = referral.risk.model_copy(update={"reasons": [reason]})
    repository.save(
        referral.model_copy(update={"risk": risk, "version": referral.version + 1}),
        referral.version,
    )


CARD_OF_STRANGERS = Reason(
    code="SHARED_PAYMENT",
    message="The referee's card was also used by 3 other customers.",
    evidence={"customers": ["c1", "c2", "c3"], "referrals_7d": 0},
)
FAMILY_CARD = Reason(
    code="SHARED_PAYMENT",
    message="The referee paid with a card the advocate has used.",
    evidence={"links_to_advocate": ["card"]},
)


def test_a_timeout_rejects_a_referral_needing_dual_approval_whatever_the_action(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    # Given a referral paying 20.00 in a program asking two approvers over 15.00,
    # whose timeout action is approve
    _, referral_id = _flagged(intake, review_timeout_action="approve", dual_approval_over="15.00")

    # When its review times out
    report = reviews.expire_reviews(T0 + timedelta(days=8))

    # Then it is rejected, and the audit entry says why
    assert (report.expired, report.rejected, report.approved) == (1, 1, 0)
    stored = ReferralRepository(table).get(referral_id)
    assert stored is not None and stored.status == ReferralStatus.REJECTED
    assert stored.decision_note is not None and "two approvals" in stored.decision_note
    entries, _ = AuditLog(table).for_referral(referral_id)
    assert [e.action for e in entries] == ["review.timeout_rejected"]
    assert entries[0].details["review_timeout_action"] == "approve"
    assert entries[0].details["rejected_because"] == "dual_approval"
    assert entries[0].details["approvals_needed"] == 2


def test_a_timeout_rejects_a_referral_held_by_a_firm_rule_whatever_the_action(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    # Given a referral held because strangers paid with the referee's card
    program_id = intake.program(review_timeout_days=7, review_timeout_action="approve")
    _, code = intake.advocate(program_id)
    referral_id = intake.qualified(program_id, code).referral_id
    _flag_with(table, referral_id, CARD_OF_STRANGERS)

    # When its review times out
    reviews.expire_reviews(T0 + timedelta(days=8))

    # Then it is rejected, naming the firm rule that held it
    stored = ReferralRepository(table).get(referral_id)
    assert stored is not None and stored.status == ReferralStatus.REJECTED
    entries, _ = AuditLog(table).for_referral(referral_id)
    assert entries[0].action == "review.timeout_rejected"
    assert entries[0].details["rejected_because"] == "firm_rule"
    assert entries[0].details["firm_reasons"] == ["SHARED_PAYMENT"]


def test_a_timeout_still_approves_a_soft_hold_when_the_action_is_approve(
    intake: Intake, reviews: ReviewService, table: MemoryTable
) -> None:
    program_id = intake.program(review_timeout_days=7, review_timeout_action="approve")
    _, code = intake.advocate(program_id)
    referral_id = intake.qualified(program_id, code).referral_id
    _flag_with(table, referral_id, FAMILY_CARD)

    reviews.expire_reviews(T0 + timedelta(days=8))

    stored = ReferralRepository(table).get(referral_id)
    assert stored is not None and stored.status == ReferralStatus.HOLDING


RULE_CASES = [
    pytest.param(rules.shared_payment, {"payment_card_customers": 2.0}, {}, id="strangers-card"),
    pytest.param(
        rules.shared_payment,
        {"payment_card_customers": 1.0, "payment_fingerprint_referrals_7d": 1.0},
        {},
        id="card-passed-around",
    ),
    pytest.param(rules.shared_payment, {"same_payment_fingerprint": 1.0}, {}, id="family-card"),
    pytest.param(
        rules.referrer_reversals,
        {},
        {"advocate_decided_referrals": 3, "advocate_clawed_back": 2},
        id="clawback-pattern",
    ),
    pytest.param(
        rules.referrer_reversals,
        {},
        {"advocate_decided_referrals": 6, "advocate_reversed_or_rejected": 3},
        id="reversal-rate",
    ),
    pytest.param(rules.email_alias, {"email_local_similarity": 0.92}, {}, id="near-identical"),
    pytest.param(
        rules.email_alias,
        {"email_local_similarity": REBUILT_NAME_SIMILARITY},
        {},
        id="rebuilt-name",
    ),
    pytest.param(rules.email_alias, {"email_local_similarity": 0.86}, {}, id="similar-name"),
]


@pytest.mark.parametrize(("rule", "values", "evidence"), RULE_CASES)
def test_the_timeout_recognises_exactly_the_rules_firm_hits(
    rule: rules.Rule, values: dict[str, float], evidence: dict[str, object]
) -> None:
    # Given a hit as the rule makes it, stored as a reason of the referral's risk
    hit = rule(features(evidence, **values))
    assert hit is not None
    risk = Risk(
        score=Decimal(60), decision="review", reasons=[hit.reason], model_version="m", scored_at=T0
    )

    # Then the timeout treats it as firm exactly when the rule held the payout firmly
    assert firm_hold_reasons(risk) == ([hit.code] if hit.firm else [])
