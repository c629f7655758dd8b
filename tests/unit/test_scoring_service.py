"""The scoring service: first score, duplicates, status moves and the hourly re-score."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.referrals import ReferralStatus as S
from shared.errors import NotFound
from shared.pii import PiiKind
from shared.repositories import keys
from shared.repositories.reviews import ReviewIndex
from shared.repositories.stats import Counter, ProgramCounters
from shared.scoring import rules
from shared.services import drift_monitor
from tests.unit.scoring_support import World, codes


@pytest.fixture
def world() -> World:
    return World()


class TestFirstScore:
    def test_a_clean_referral_is_approved_into_holding(self, world: World) -> None:
        referral = world.qualify(world.refer(world.advocate(world.program())))
        assert referral.status == S.HOLDING
        assert referral.risk is not None
        assert (referral.risk.decision, referral.risk.model_version) == ("approve", "rules-1")
        assert world.audit_actions(referral) == ["referral.scored"]

    def test_a_flagged_referral_opens_a_review(self, world: World) -> None:
        advocate = world.advocate(world.program(), device="shared-pc")
        referral = world.qualify(world.refer(advocate, device="shared-pc"))
        assert referral.status == S.REVIEW
        assert referral.review_opened_at == world.clock.now()
        assert ReviewIndex(world.table).get(referral.referral_id) is not None
        assert ProgramCounters(world.table).totals(referral.program_id)[Counter.FLAGGED] == 1

    def test_an_alias_is_rejected_and_counted(self, world: World) -> None:
        advocate = world.advocate(world.program(), email="ann.lee@gmail.com")
        referral = world.qualify(world.refer(advocate, email="annlee+2@gmail.com"))
        assert referral.status == S.REJECTED
        assert codes(referral.risk) == [rules.EMAIL_ALIAS]
        assert ProgramCounters(world.table).totals(referral.program_id)[Counter.REJECTED] == 1

    def test_without_auto_reject_a_would_be_reject_goes_to_review(self, world: World) -> None:
        advocate = world.advocate(world.program(auto_reject=False), email="bo.ma@gmail.com")
        referral = world.qualify(world.refer(advocate, email="boma@gmail.com"))
        assert referral.status == S.REVIEW
        assert referral.risk is not None and referral.risk.decision == "review"

    def test_the_same_message_twice_writes_once(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()))
        world.later(minutes=1)
        world.buy(referral)
        [(referral_id, trigger)] = world.queue.take()
        first = world.scoring.score(referral_id, trigger, world.clock.now())
        world.later(seconds=30)
        again = world.scoring.score(referral_id, trigger, world.clock.now())
        stored = world.get(referral)
        assert again == first == stored.risk
        assert stored.version == 3  # created, qualified, scored
        assert world.audit_actions(referral) == ["referral.scored"]

    def test_an_unqualified_referral_has_nothing_to_score(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()))
        assert world.scoring.score(referral.referral_id, "event:x", world.clock.now()) is None
        assert world.get(referral).status == S.PENDING

    def test_an_unknown_referral_is_not_found(self, world: World) -> None:
        with pytest.raises(NotFound):
            world.scoring.score("ref_missing", "event:x", world.clock.now())

    def test_blocked_device_rejects(self, world: World) -> None:
        world.blocklist.add("device", world.hasher.digest(PiiKind.DEVICE, "stolen-phone"), "fraud")
        referral = world.qualify(
            world.refer(world.advocate(world.program()), device="stolen-phone")
        )
        assert referral.status == S.REJECTED
        assert codes(referral.risk) == [rules.BLOCKED]

    def test_blocked_advocate_rejects_by_advocate_id(self, world: World) -> None:
        advocate = world.advocate(world.program())
        world.blocklist.add("advocate", advocate.advocate_id)
        referral = world.qualify(world.refer(advocate))
        assert codes(referral.risk)[0] == rules.BLOCKED

    def test_blocked_card_rejects(self, world: World) -> None:
        world.blocklist.add("payment", world.hasher.digest(PiiKind.PAYMENT, "card-x"))
        referral = world.qualify(world.refer(world.advocate(world.program())), card="card-x")
        assert referral.status == S.REJECTED

    def test_scoring_never_changes_a_self_referral_recorded_at_intake(self, world: World) -> None:
        advocate = world.advocate(world.program(), "sam")
        referral = world.refer(advocate, "sam")
        world.later(minutes=1)
        world.buy(referral)
        world.score_queued()
        stored = world.get(referral)
        assert (stored.status, codes(stored.risk)) == (S.REJECTED, ["SELF_REFERRAL"])


def _ring(world: World, program: str, names: list[str]) -> list:
    advocates = [world.advocate(program, name) for name in names]
    referrals = []
    for i, advocate in enumerate(advocates):
        world.later(minutes=10)
        referrals.append(world.qualify(world.refer(advocate, names[(i + 1) % len(names)])))
    return referrals


class TestRescore:
    def test_closing_a_ring_moves_its_holding_referrals_to_rejected(self, world: World) -> None:
        # Given a -> b and b -> c approved, and c -> a closing the ring
        program = world.program()
        ab, bc, ca = _ring(world, program, ["ra", "rb", "rc"])
        assert (ab.status, bc.status) == (S.HOLDING, S.HOLDING)
        assert (ca.status, codes(ca.risk)[0]) == (S.REJECTED, rules.RING)
        # When the hourly job runs
        report = world.sweep.rescore_unpaid(world.later(hours=1))
        # Then both earlier edges are rejected for the ring, with an audit entry
        for referral in (ab, bc):
            stored = world.get(referral)
            assert stored.status == S.REJECTED
            assert rules.RING in codes(stored.risk)
            assert world.audit_actions(referral) == ["referral.scored", "referral.scored"]
        assert report.moves == {"holding->rejected": 2}

    def test_without_auto_reject_the_ring_goes_to_review(self, world: World) -> None:
        program = world.program(auto_reject=False)
        ab, _bc, _ca = _ring(world, program, ["qa", "qb", "qc"])
        world.sweep.rescore_unpaid(world.later(hours=1))
        assert world.get(ab).status == S.REVIEW

    def test_a_paid_referral_of_the_ring_is_never_touched(self, world: World) -> None:
        # Given a -> b qualified with no holding period and released (being paid)
        program = world.program(holding_period_days=0)
        a, b, c = (world.advocate(program, name) for name in ("pa", "pb", "pc"))
        ab = world.qualify(world.refer(a, "pb"))
        world.release.run(world.later(minutes=5))
        paid = world.get(ab)
        assert paid.status == S.REWARDING
        # and b -> c still holding when c -> a closes the ring
        world.later(minutes=5)
        bc = world.qualify(world.refer(b, "pc"))
        world.later(minutes=5)
        world.qualify(world.refer(c, "pa"))
        # When the hourly job runs
        world.sweep.rescore_unpaid(world.later(hours=1))
        # Then the paid one is as it was, the holding one is rejected
        assert world.get(ab) == paid
        assert world.get(bc).status == S.REJECTED

    def test_nothing_new_writes_nothing(self, world: World) -> None:
        referral = world.qualify(world.refer(world.advocate(world.program())))
        report = world.sweep.rescore_unpaid(world.later(hours=1))
        assert world.get(referral) == referral
        assert (report.examined, report.updated, report.unchanged) == (1, 0, 1)

    def test_a_review_stays_for_a_person_when_evidence_eases(self, world: World) -> None:
        advocate = world.advocate(world.program(), device="kiosk")
        referral = world.qualify(world.refer(advocate, device="kiosk"))
        world.sweep.rescore_unpaid(world.later(hours=1))
        assert world.get(referral).status == S.REVIEW

    def test_a_finance_approval_stands_on_the_same_evidence(self, world: World) -> None:
        advocate = world.advocate(world.program(), device="tv")
        referral = world.qualify(world.refer(advocate, device="tv"))
        world.reviews.decide(referral.referral_id, "approve", "family", "fin-1")
        approved = world.get(referral)
        assert approved.status == S.HOLDING
        world.sweep.rescore_unpaid(world.later(hours=1))
        assert world.get(referral) == approved

    def test_new_evidence_after_an_approval_reopens_it(self, world: World) -> None:
        # Given finance approved b -> c, which shared the advocate's device
        program = world.program()
        a = world.advocate(program, "oa")
        b = world.advocate(program, "ob", device="ob-phone")
        world.qualify(world.refer(a, "ob"))
        bc = world.qualify(world.refer(b, "oc", device="ob-phone"))
        world.reviews.decide(bc.referral_id, "approve", "their kid", "fin-1")
        # When c -> a later closes a ring through it
        world.later(hours=2)
        c = world.advocate(program, "oc")
        world.qualify(world.refer(c, "oa"))
        world.sweep.rescore_unpaid(world.later(hours=1))
        # Then the approval is reopened for a person, with the reason and an audit entry
        reopened = world.get(bc)
        assert reopened.status == S.REVIEW
        assert rules.RING in codes(reopened.risk)
        assert reopened.decided_by is None and reopened.approvals == []
        assert world.audit_actions(bc)[-1] == "referral.reopened"

    def test_a_lost_scoring_message_is_picked_up(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()))
        world.later(minutes=1)
        world.buy(referral)
        world.queue.take()  # the message never arrives
        report = world.sweep.rescore_unpaid(world.later(minutes=20))
        assert report.unscored_picked_up == 1
        assert world.get(referral).status == S.HOLDING

    def test_a_just_qualified_referral_is_left_to_its_message(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()))
        world.later(minutes=1)
        world.buy(referral)
        report = world.sweep.rescore_unpaid(world.later(minutes=2))
        assert report.unscored_picked_up == 0
        assert world.get(referral).status == S.PENDING

    def test_each_score_keeps_the_model_version_it_was_made_with(self, world: World) -> None:
        referral = world.qualify(world.refer(world.advocate(world.program())))
        assert referral.risk is not None and referral.risk.model_version == "rules-1"
        assert world.scoring.model_version == "rules-1" and world.scoring.rules_only


class TestDrift:
    def test_the_first_large_run_becomes_the_reference(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(drift_monitor, "MIN_REFERENCE_ROWS", 3)
        program = world.program()
        for _ in range(3):
            world.qualify(world.refer(world.advocate(program)))
        first = world.sweep.rescore_unpaid(world.later(hours=1))
        assert (first.drift_reference, first.psi) == ("created", {})
        assert world.table.get(*keys.drift_reference("rules-1")) is not None

    def test_later_runs_report_psi_per_feature(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(drift_monitor, "MIN_REFERENCE_ROWS", 3)
        program = world.program()
        for _ in range(3):
            world.qualify(world.refer(world.advocate(program)))
        world.sweep.rescore_unpaid(world.later(hours=1))
        # A burst from one device, paying with one card, shifts the device velocity
        # distribution (strangers each paying their own way on it would be a stall tablet).
        burst = world.advocate(program)
        for _ in range(4):
            world.qualify(world.refer(burst, device="farm"), card="farm-card")
        report = world.sweep.rescore_unpaid(world.later(hours=1))
        assert report.drift_reference == "stored"
        assert report.psi["device_referrals_24h"] > 0.25
        assert report.psi["country_mismatch"] == 0.0

    def test_no_rows_no_figures(self, world: World) -> None:
        report = world.sweep.rescore_unpaid(world.later(hours=1))
        assert report.psi == {}


def test_features_behind_a_score_can_be_replayed_for_labels(world: World) -> None:
    referral = world.qualify(world.refer(world.advocate(world.program())))
    world.later(days=3)
    snapshot = world.scoring.feature_snapshot(world.get(referral))
    assert snapshot is not None and snapshot["seconds_to_conversion"] == 7200.0


def test_rescore_report_is_plain_data(world: World) -> None:
    report = world.sweep.rescore_unpaid(world.later(hours=1))
    data = report.as_dict()
    assert set(data) >= {"examined", "updated", "moves", "psi", "failures", "model_version"}
    assert data["as_of"].endswith("Z")


def test_a_review_that_is_rejected_by_a_rescore_leaves_the_review_index(world: World) -> None:
    program = world.program(auto_reject=True)
    advocate = world.advocate(program, device="lab-1")
    referral = world.qualify(world.refer(advocate, device="lab-1"))
    assert referral.status == S.REVIEW
    # More referrals from the same device pile up within the day.
    for _ in range(3):
        world.qualify(world.refer(world.advocate(program), device="lab-1"))
    world.sweep.rescore_unpaid(world.later(hours=1))
    stored = world.get(referral)
    assert stored.status == S.REJECTED
    assert ReviewIndex(world.table).get(referral.referral_id) is None


def test_rescoring_twice_in_an_hour_is_harmless(world: World) -> None:
    referral = world.qualify(world.refer(world.advocate(world.program())))
    at = world.later(hours=1)
    world.sweep.rescore_unpaid(at)
    world.sweep.rescore_unpaid(at + timedelta(seconds=1))
    assert world.get(referral).version == referral.version
