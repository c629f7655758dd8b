"""Property tests: any sequence of finance decisions keeps the review rules."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.clock import FixedClock
from shared.domain.evidence import Fingerprint
from shared.domain.referrals import Reason, Referral, ReferralStatus, Risk, can_move
from shared.domain.reviews import AlreadyApproved, NotUnderReview, decide
from shared.repositories.audit import AuditLog
from shared.repositories.reviews import LabelStore, ReviewIndex
from shared.services.reviews import no_features
from shared.storage.memory_table import MemoryTable
from tests.finance_support import Intake, flag, services_on
from tests.support import T0

USERS = ("alice", "bob", "carol")
decisions = st.lists(
    st.tuples(st.sampled_from(["approve", "reject"]), st.sampled_from(USERS)), max_size=8
)


def _under_review() -> Referral:
    return Referral(
        referral_id="ref_1",
        program_id="prg_1",
        advocate_id="adv_1",
        advocate_customer_id="c-adv",
        referral_code="ABCDEFGH",
        referee_customer_id="c-ref",
        fingerprint=Fingerprint(),
        status=ReferralStatus.REVIEW,
        risk=Risk(
            score=Decimal(80),
            decision="review",
            reasons=[Reason(code="RING", message="ring")],
            model_version="m",
            scored_at=T0,
        ),
        occurred_at=T0,
        recorded_at=T0,
        updated_at=T0,
        qualified_at=T0,
        review_opened_at=T0,
    )


def _expected(needed: int, steps: list[tuple[str, str]]) -> ReferralStatus:
    """The rules, stated plainly: the first reject or the needed-th distinct approval wins."""
    approvers: list[str] = []
    for decision, actor in steps:
        if decision == "reject":
            return ReferralStatus.REJECTED
        if actor not in approvers:
            approvers.append(actor)
            if len(approvers) >= needed:
                return ReferralStatus.HOLDING
    return ReferralStatus.REVIEW


@given(needed=st.integers(min_value=1, max_value=2), steps=decisions)
def test_decisions_follow_the_dual_approval_rules(
    needed: int, steps: list[tuple[str, str]]
) -> None:
    referral = _under_review()
    at = T0
    for decision, actor in steps:
        at += timedelta(minutes=1)
        before = referral
        try:
            outcome = decide(referral, decision, actor=actor, at=at, needed=needed)  # type: ignore[arg-type]
        except NotUnderReview:
            assert before.status != ReferralStatus.REVIEW
            continue
        except AlreadyApproved:
            assert decision == "approve" and actor in {a.by for a in before.approvals}
            continue
        referral = outcome.referral
        approvers = [a.by for a in referral.approvals]
        assert before.status == ReferralStatus.REVIEW
        assert can_move(before.status, referral.status)
        assert referral.version == before.version + 1
        assert len(approvers) == len(set(approvers)) <= needed
        assert outcome.final == (referral.status != ReferralStatus.REVIEW)
        if referral.status == ReferralStatus.HOLDING:
            assert len(approvers) == needed and referral.decided_by == actor
    assert referral.status == _expected(needed, steps)


@settings(max_examples=25, deadline=None)
@given(dual=st.booleans(), steps=decisions)
def test_the_stored_trail_matches_the_decisions_taken(
    dual: bool, steps: list[tuple[str, str]]
) -> None:
    table = MemoryTable()
    clock = FixedClock(T0)
    intake = Intake(table, clock)
    program = intake.program(dual_approval_over="15.00" if dual else "100.00")
    _, code = intake.advocate(program)
    referral = intake.qualified(program, code)
    flag(table, referral.referral_id, 80, T0)
    reviews = services_on(table, clock).reviews_with(no_features)
    accepted = 0
    final = None
    for decision, actor in steps:
        clock.advance(timedelta(minutes=1))
        try:
            decided = reviews.decide(referral.referral_id, decision, None, actor)  # type: ignore[arg-type]
        except (NotUnderReview, AlreadyApproved):
            continue
        accepted += 1
        final = decided.referral.status if decided.final else None

    entries, _ = AuditLog(table).for_referral(referral.referral_id)
    assert len(entries) == accepted
    labels = LabelStore(table).for_referral(referral.referral_id)
    assert len(labels) == (1 if final else 0)
    in_queue = ReviewIndex(table).get(referral.referral_id) is not None
    assert in_queue == (final is None)
    assert (final or ReferralStatus.REVIEW) == _expected(2 if dual else 1, steps)
