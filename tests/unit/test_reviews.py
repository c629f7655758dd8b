"""Finance review on the in-memory table: the queue, the evidence, and decisions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.clock import FixedClock
from shared.domain.referrals import ReferralStatus
from shared.domain.reviews import AlreadyApproved, NotUnderReview
from shared.repositories.audit import AuditLog
from shared.repositories.referrals import ReferralRepository
from shared.repositories.reviews import LabelStore, ReviewFilter, ReviewIndex
from shared.repositories.stats import ProgramCounters
from shared.services.reviews import ReviewChanged, ReviewService, no_features
from shared.storage.memory_table import MemoryTable
from shared.storage.table import InvalidCursor, WriteOp
from tests.finance_support import Intake, flag, services_on
from tests.support import T0, purchase_body


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def intake(table: MemoryTable, clock: FixedClock) -> Intake:
    return Intake(table, clock)


@pytest.fixture
def reviews(table: MemoryTable, clock: FixedClock) -> ReviewService:
    return services_on(table, clock).reviews_with(lambda r: {"same_device": 1.0})


def _flagged(intake: Intake, program_id: str, code: str, score: str | int, **kw: object) -> str:
    referral = intake.qualified(program_id, code)
    reasons = kw.pop("reasons", ("SHARED_PAYMENT",))
    at = kw.pop("at", T0)
    flag(intake.table, referral.referral_id, score, at, reasons)  # type: ignore[arg-type]
    return referral.referral_id


def _ids(items: Sequence[object]) -> list[str]:
    return [i.referral_id for i in items]  # type: ignore[attr-defined]


class TestQueue:
    def test_open_reviews_come_highest_score_first(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        low = _flagged(intake, program, code, "41.5")
        high = _flagged(intake, program, code, 97)
        middle = _flagged(intake, program, code, "63.25")

        items, cursor = reviews.open_reviews(ReviewFilter(program_id=program), 10, None)

        assert _ids(items) == [high, middle, low]
        assert cursor is None

    def test_equal_scores_list_the_longest_waiting_first(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        later = _flagged(intake, program, code, 80, at=T0 + timedelta(hours=2))
        earlier = _flagged(intake, program, code, 80, at=T0 + timedelta(hours=1))

        items, _ = reviews.open_reviews(ReviewFilter(program_id=program), 10, None)

        assert _ids(items) == [earlier, later]

    def test_program_filter_leaves_out_other_programs(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        mine, theirs = intake.program(), intake.program()
        _, my_code = intake.advocate(mine)
        _, their_code = intake.advocate(theirs)
        kept = _flagged(intake, mine, my_code, 50)
        _flagged(intake, theirs, their_code, 99)

        items, _ = reviews.open_reviews(ReviewFilter(program_id=mine), 10, None)

        assert _ids(items) == [kept]

    def test_min_score_is_inclusive_and_exact(self, intake: Intake, reviews: ReviewService) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        at_bound = _flagged(intake, program, code, "70")
        above = _flagged(intake, program, code, "70.0001")
        _flagged(intake, program, code, "69.9996")

        where = ReviewFilter(program_id=program, min_score=Decimal(70))
        items, _ = reviews.open_reviews(where, 10, None)

        # Scores equal to 0.001 rank together (then by waiting time); the bound is exact.
        assert sorted(_ids(items)) == sorted([above, at_bound])

    def test_reason_filter_keeps_only_reviews_with_that_reason(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        ring = _flagged(intake, program, code, 60, reasons=("RING", "VELOCITY_DEVICE"))
        _flagged(intake, program, code, 90, reasons=("DISPOSABLE_EMAIL",))

        items, _ = reviews.open_reviews(ReviewFilter(program_id=program, reason="RING"), 10, None)

        assert _ids(items) == [ring]
        assert [r.code for r in items[0].reasons] == ["RING", "VELOCITY_DEVICE"]

    def test_pages_follow_one_another_without_gaps_or_repeats(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        flagged = [_flagged(intake, program, code, score) for score in (10, 20, 30, 40, 50)]

        where = ReviewFilter(program_id=program)
        first, cursor = reviews.open_reviews(where, 2, None)
        second, cursor2 = reviews.open_reviews(where, 2, cursor)
        third, cursor3 = reviews.open_reviews(where, 2, cursor2)

        assert _ids(first) + _ids(second) + _ids(third) == list(reversed(flagged))
        assert cursor and cursor2 and cursor3 is None

    def test_filtered_pages_resume_after_the_last_item_returned(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        scores_and_reasons = [(90, "RING"), (80, "ANOMALY"), (70, "RING"), (60, "RING")]
        ids = [_flagged(intake, program, code, s, reasons=(r,)) for s, r in scores_and_reasons]

        where = ReviewFilter(program_id=program, reason="RING")
        first, cursor = reviews.open_reviews(where, 1, None)
        rest, end = reviews.open_reviews(where, 5, cursor)

        assert _ids(first) == [ids[0]]
        assert _ids(rest) == [ids[2], ids[3]]
        assert end is None

    @pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJwayI6ICJ4In0"])
    def test_a_cursor_the_table_did_not_issue_is_refused(
        self, reviews: ReviewService, cursor: str
    ) -> None:
        with pytest.raises(InvalidCursor):
            reviews.open_reviews(ReviewFilter(), 10, cursor)

    def test_a_cursor_from_the_global_queue_is_refused_for_one_program(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        _flagged(intake, program, code, 10)
        _flagged(intake, program, code, 20)
        _, cursor = reviews.open_reviews(ReviewFilter(), 1, None)

        with pytest.raises(InvalidCursor):
            reviews.open_reviews(ReviewFilter(program_id=program), 1, cursor)


class TestEvidence:
    def test_a_device_shared_with_another_referral_links_the_two(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        context = {"ip": "198.51.100.9", "device_id": "farm-phone-7", "country": "US"}
        other = intake.qualified(program, code, context=context)
        flagged = _flagged_with(intake, program, code, context)

        detail = reviews.detail(flagged)

        devices = [s for s in detail.shared if s.kind == "device"]
        assert len(devices) == 1 and devices[0].parties == 2
        linked = {a.referral_id: a for a in detail.linked}
        assert set(linked) == {other.referral_id}
        assert set(linked[other.referral_id].via) >= {"device", "ip"}
        assert linked[other.referral_id].status == "pending"

    def test_using_the_advocates_device_is_shown_as_shared_with_the_advocate(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(
            program, context={"ip": "203.0.113.7", "device_id": "my-own-phone"}
        )
        flagged = _flagged_with(intake, program, code, {"device_id": "my-own-phone"})

        detail = reviews.detail(flagged)

        assert [(s.kind, s.with_advocate) for s in detail.shared] == [("device", True)]
        assert detail.linked == []

    def test_evidence_holds_hashes_never_the_raw_values(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        context = {"ip": "198.51.100.77", "device_id": "raw-device-id-123"}
        intake.qualified(program, code, context=context)
        flagged = _flagged_with(intake, program, code, context)

        detail = reviews.detail(flagged)

        text = repr(detail.shared) + repr(detail.linked) + repr(detail.timeline)
        assert "raw-device-id-123" not in text and "198.51.100.77" not in text

    def test_timeline_runs_from_the_referral_through_events_to_decisions(
        self, intake: Intake, reviews: ReviewService, clock: FixedClock
    ) -> None:
        program = intake.program(dual_approval_over="15.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 75)
        clock.advance(timedelta(hours=1))
        reviews.decide(flagged, "approve", "looks fine", "alice")

        detail = reviews.detail(flagged)

        kinds = [t.kind for t in detail.timeline]
        assert kinds[0] == "referral" and "event" in kinds and "scoring" in kinds
        assert detail.timeline[-1].actor == "alice"
        assert [t.at for t in detail.timeline] == sorted(t.at for t in detail.timeline)
        assert [(a.by, a.at) for a in detail.referral.approvals] == [("alice", clock.now())]
        assert detail.approvals_needed == 2


def _flagged_with(intake: Intake, program: str, code: str, context: dict[str, str]) -> str:
    referral = intake.qualified(program, code, context=context)
    flag(intake.table, referral.referral_id, 88, T0)
    return referral.referral_id


class TestDecisions:
    def test_one_approval_settles_a_referral_under_the_dual_approval_threshold(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program(dual_approval_over="100.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)

        decided = reviews.decide(flagged, "approve", None, "alice")

        assert decided.final and decided.approvals_needed == 1
        assert decided.referral.status == ReferralStatus.HOLDING

    def test_a_high_value_referral_waits_for_a_second_approver(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program(dual_approval_over="15.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)

        first = reviews.decide(flagged, "approve", None, "alice")

        assert not first.final and first.approvals_needed == 2
        assert first.referral.status == ReferralStatus.REVIEW
        assert [a.by for a in first.referral.approvals] == ["alice"]

    def test_the_same_user_cannot_give_both_approvals(
        self, intake: Intake, reviews: ReviewService, table: MemoryTable
    ) -> None:
        program = intake.program(dual_approval_over="15.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)
        reviews.decide(flagged, "approve", None, "alice")

        with pytest.raises(AlreadyApproved) as refused:
            reviews.decide(flagged, "approve", None, "alice")

        assert refused.value.status == 409
        stored = ReferralRepository(table).get(flagged)
        assert stored is not None and stored.status == ReferralStatus.REVIEW

    def test_a_second_different_approver_completes_the_approval(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program(dual_approval_over="15.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)
        reviews.decide(flagged, "approve", None, "alice")

        second = reviews.decide(flagged, "approve", "checked the order", "bob")

        assert second.final and second.referral.status == ReferralStatus.HOLDING
        assert [a.by for a in second.referral.approvals] == ["alice", "bob"]
        assert second.referral.decided_by == "bob"

    def test_a_tier_bonus_the_referral_would_earn_counts_towards_the_threshold(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        tiers = [
            {
                "min_successful_referrals": 1,
                "advocate_bonus": {"kind": "gift_card", "amount": "25.00", "currency": "USD"},
            }
        ]
        program = intake.program(dual_approval_over="30.00", tiers=tiers)
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)

        first = reviews.decide(flagged, "approve", None, "alice")

        assert first.approvals_needed == 2 and not first.final

    def test_one_rejection_settles_it_even_after_an_approval(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program(dual_approval_over="15.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)
        reviews.decide(flagged, "approve", None, "alice")

        decided = reviews.decide(flagged, "reject", "ring of devices", "bob")

        assert decided.final and decided.referral.status == ReferralStatus.REJECTED
        assert decided.referral.decision_note == "ring of devices"

    def test_a_decided_referral_cannot_be_decided_again(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)
        reviews.decide(flagged, "reject", None, "alice")

        with pytest.raises(NotUnderReview):
            reviews.decide(flagged, "approve", None, "bob")

    def test_a_referral_that_is_not_under_review_is_refused(
        self, intake: Intake, reviews: ReviewService
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        pending = intake.referral(program, code)

        with pytest.raises(NotUnderReview) as refused:
            reviews.decide(pending.referral_id, "approve", None, "alice")

        assert refused.value.status == 409

    def test_a_referral_changed_since_it_was_read_is_not_decided(
        self, intake: Intake, table: MemoryTable, clock: FixedClock
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)
        racing = _RescoreBeforeFirstWrite(table, flagged)
        reviews = services_on(racing, clock).reviews_with(no_features)

        with pytest.raises(ReviewChanged) as refused:
            reviews.decide(flagged, "approve", None, "alice")

        assert refused.value.status == 409
        entries, _ = AuditLog(table).for_referral(flagged)
        assert [e.action for e in entries] == []
        stored = ReferralRepository(table).get(flagged)
        assert stored is not None and stored.status == ReferralStatus.REVIEW

    def test_every_decision_is_audited_with_before_and_after(
        self, intake: Intake, reviews: ReviewService, table: MemoryTable, clock: FixedClock
    ) -> None:
        program = intake.program(dual_approval_over="15.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)
        reviews.decide(flagged, "approve", "first look", "alice")
        clock.advance(timedelta(minutes=1))
        reviews.decide(flagged, "approve", None, "bob")

        entries, _ = AuditLog(table).for_referral(flagged)

        assert [(e.action, e.actor) for e in entries] == [
            ("review.approval_recorded", "alice"),
            ("review.approved", "bob"),
        ]
        assert entries[0].before and entries[0].before["status"] == "review"
        assert entries[1].after and entries[1].after["status"] == "holding"
        assert entries[0].note == "first look"

    def test_approval_keeps_the_holding_period_running_from_the_qualifying_event(
        self, intake: Intake, reviews: ReviewService, table: MemoryTable, clock: FixedClock
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)
        clock.advance(timedelta(days=3))

        decided = reviews.decide(flagged, "approve", None, "alice")

        qualified_at = decided.referral.qualified_at
        assert qualified_at is not None and qualified_at < clock.now()
        due, _ = ReferralRepository(table).with_status(
            ReferralStatus.HOLDING, due_before=qualified_at
        )
        assert flagged in [r.referral_id for r in due]

    def test_a_final_decision_closes_the_review_in_the_queue(
        self, intake: Intake, reviews: ReviewService, table: MemoryTable
    ) -> None:
        program = intake.program(dual_approval_over="15.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)

        reviews.decide(flagged, "approve", None, "alice")
        waiting, _ = reviews.open_reviews(ReviewFilter(program_id=program), 10, None)
        reviews.decide(flagged, "reject", None, "bob")
        after, _ = reviews.open_reviews(ReviewFilter(program_id=program), 10, None)

        assert [a.by for a in waiting[0].approvals] == ["alice"]
        assert after == [] and ReviewIndex(table).get(flagged) is None

    def test_a_rejection_counts_towards_the_programs_rejected_figure(
        self, intake: Intake, reviews: ReviewService, table: MemoryTable
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)

        reviews.decide(flagged, "reject", None, "alice")

        assert ProgramCounters(table).totals(program)["rejected"] == 1


class TestLabels:
    def test_a_final_decision_is_kept_as_a_label_with_the_feature_snapshot(
        self, intake: Intake, reviews: ReviewService, table: MemoryTable
    ) -> None:
        program = intake.program(dual_approval_over="15.00")
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70, reasons=("RING",))
        reviews.decide(flagged, "approve", None, "alice")
        assert LabelStore(table).for_referral(flagged) == []

        reviews.decide(flagged, "approve", None, "bob")

        [label] = LabelStore(table).for_referral(flagged)
        assert label.fraud is False and label.decided_by == ["alice", "bob"]
        assert label.reason_codes == ["RING"] and label.features == {"same_device": 1.0}

    def test_export_writes_one_json_line_per_decision_without_notes(
        self, intake: Intake, reviews: ReviewService, table: MemoryTable
    ) -> None:
        program = intake.program()
        _, code = intake.advocate(program)
        rejected = _flagged(intake, program, code, 90)
        approved = _flagged(intake, program, code, 40)
        reviews.decide(rejected, "reject", "alice@example.com called us", "alice")
        reviews.decide(approved, "approve", None, "bob")
        lines: list[str] = []

        count = services_on(table, clock).labels.export(lines.append)

        rows = [json.loads(line) for line in lines]
        assert count == 2
        assert {(r["referral_id"], r["fraud"]) for r in rows} == {
            (rejected, True),
            (approved, False),
        }
        assert "alice@example.com" not in "".join(lines)

    def test_a_failing_feature_snapshot_does_not_block_the_decision(
        self, intake: Intake, table: MemoryTable, clock: FixedClock
    ) -> None:
        def broken(_: object) -> dict[str, float]:
            raise RuntimeError("extractor down")

        program = intake.program()
        _, code = intake.advocate(program)
        flagged = _flagged(intake, program, code, 70)

        decided = (
            services_on(table, clock).reviews_with(broken).decide(flagged, "reject", None, "alice")
        )

        assert decided.final
        [label] = LabelStore(table).for_referral(flagged)
        assert label.features is None


class _RescoreBeforeFirstWrite(MemoryTable):
    """Re-scores the referral (a new version) just before the decision's write lands."""

    def __init__(self, inner: MemoryTable, referral_id: str) -> None:
        self.__dict__.update(inner.__dict__)
        self._referral_id = referral_id
        self._raced = False

    def write(self, ops: Sequence[WriteOp]) -> None:
        if not self._raced:
            self._raced = True
            flag(self, self._referral_id, 95, T0 + timedelta(minutes=5))
        super().write(ops)


def test_a_qualifying_purchase_alone_never_opens_a_review(
    intake: Intake, reviews: ReviewService
) -> None:
    program = intake.program()
    _, code = intake.advocate(program)
    intake.qualified(program, code, event=purchase_body())

    items, _ = reviews.open_reviews(ReviewFilter(), 10, None)

    assert items == []
