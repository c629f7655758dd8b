"""The parts scoring is made of: feature groups in the model's order, the reason codes, and
the repositories scoring reads and writes through."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import iso
from shared.domain.audit import AuditEntry
from shared.domain.changes import ReferralMoved
from shared.domain.evidence import EvidenceKind
from shared.domain.referrals import ReferralStatus
from shared.pii import PiiKind
from shared.repositories import keys
from shared.repositories.drift_references import DriftReferences
from shared.repositories.evidence import EvidenceIndex, Observation
from shared.repositories.feature_changes import change_matters
from shared.repositories.referrals import ReferralRepository
from shared.repositories.scoring_evidence import ScoringEvidence
from shared.scoring import rules
from shared.scoring.evidence import conversion, email, graph, history, identity, velocity
from shared.scoring.evidence.source import EvidenceView, Found
from shared.scoring.feature_spec import FEATURE_GROUPS, FEATURE_NAMES
from shared.storage.memory_table import MemoryTable
from tests.support import T0
from tests.unit.scoring_support import World, codes


@pytest.fixture
def world() -> World:
    return World()


def _view(world: World, referral_id: str) -> EvidenceView:
    source = ScoringEvidence(world.table)
    referral = source.referral(referral_id)
    assert referral is not None
    advocate = source.advocate(referral.advocate_id)
    program = source.program(referral.program_id)
    assert advocate is not None and program is not None

    def customer_hash(customer_id: str) -> str:
        return world.hasher.digest(PiiKind.CUSTOMER, customer_id)

    return EvidenceView(source, customer_hash, referral, advocate, program, world.clock.now())


class TestFeatureGroups:
    def test_the_groups_together_list_every_feature_once(self) -> None:
        grouped = [name for names in FEATURE_GROUPS.values() for name in names]
        assert sorted(grouped) == sorted(FEATURE_NAMES)
        assert len(grouped) == len(FEATURE_NAMES)

    def test_each_group_computes_exactly_the_features_registered_for_it(self, world: World) -> None:
        # Given a qualified referral
        referral = world.qualify(world.refer(world.advocate(world.program())))
        view = _view(world, referral.referral_id)
        # When each group computes its features
        links = identity.read_links(view)
        found: dict[str, list[Found]] = {
            "identity": [identity.own_links(view, links), identity.shared_referees(links, set())],
            "email": [email.email_signals(view)],
            "velocity": [velocity.advocate_velocity(view), velocity.link_velocity(links)],
            "conversion": [conversion.conversion(view)],
            "graph": [graph.referee_is_advocate(view), graph.ring_cycle(view)],
            "history": [history.advocate_history(view)],
        }
        # Then each names the features feature_spec registers for it, and no other
        for group, parts in found.items():
            names = sorted(name for part in parts for name in part.values)
            assert names == sorted(FEATURE_GROUPS[group]), group


class TestReasonCodes:
    def test_a_self_referral_refused_at_intake_carries_a_listed_code(self, world: World) -> None:
        advocate = world.advocate(world.program(), "same-person")
        referral = world.refer(advocate, "same-person")
        assert codes(referral.risk) == [rules.SELF_REFERRAL]
        assert set(codes(referral.risk)) <= set(rules.REASON_CODES)

    def test_every_code_the_rules_and_the_decision_emit_is_listed(self) -> None:
        emitted = {
            rules.SELF_REFERRAL,
            rules.BLOCKED,
            rules.ANOMALY,
            rules.REFUND_AFTER_REWARD,
            *(
                getattr(rules, name)
                for name in dir(rules)
                if name.isupper() and isinstance(getattr(rules, name), str)
            ),
        } - {rules.RULES_VERSION}
        assert emitted == set(rules.REASON_CODES)
        assert len(rules.REASON_CODES) == len(set(rules.REASON_CODES))


class TestScoringEvidence:
    def _seen_at(self, table: MemoryTable, minutes: int) -> None:
        observation = Observation(
            kind=EvidenceKind.DEVICE,
            value="dev-h",
            occurred_at=T0 + timedelta(minutes=minutes),
            program_id="prg_1",
            advocate_id="adv_1",
            referral_id=f"ref_{minutes}",
            customer_id=f"cus_{minutes}",
            role="referee",
        )
        table.write(EvidenceIndex(table).put_ops([observation]))

    def test_what_was_seen_with_a_value_stops_at_the_moment_asked_including_it(self) -> None:
        # Given a device seen at 0, 10 and 20 minutes
        table = MemoryTable()
        for minutes in (0, 10, 20):
            self._seen_at(table, minutes)
        # When asked what was seen up to 10 minutes
        seen = ScoringEvidence(table).seen_until(
            EvidenceKind.DEVICE, "dev-h", T0 + timedelta(minutes=10)
        )
        # Then the sightings at 0 and 10 come back, in time order
        assert [s.referral_id for s in seen] == ["ref_0", "ref_10"]
        assert seen[0].customer_id == "cus_0" and seen[0].role == "referee"

    def test_an_outcome_is_the_status_and_the_clawback_without_the_document(
        self, world: World
    ) -> None:
        referral = world.qualify(world.refer(world.advocate(world.program())))
        outcome = ScoringEvidence(world.table).outcome(referral.referral_id)
        assert outcome == (ReferralStatus.HOLDING, False)

    def test_an_unknown_referral_has_no_outcome(self) -> None:
        assert ScoringEvidence(MemoryTable()).outcome("ref_missing") is None


class TestScoringRecords:
    def test_a_score_over_a_referral_that_moved_meanwhile_raises_and_writes_nothing(
        self, world: World
    ) -> None:
        # Given a referral read, then changed by another writer
        referral = world.refer(world.advocate(world.program()))
        read = world.get(referral)
        ReferralRepository(world.table).save(
            read.model_copy(update={"version": read.version + 1}), read.version
        )
        scored = read.model_copy(
            update={"status": ReferralStatus.REJECTED, "version": read.version + 1}
        )
        entry = AuditEntry(entry_id="aud_1", at=T0, actor="system:scoring", action="x")
        # When a score is recorded over what was read
        with pytest.raises(ReferralMoved):
            world.records.record_score(read, scored, entry, {})
        # Then nothing of it was written
        assert world.get(referral).status == read.status
        assert "x" not in world.audit_actions(referral)


class TestDriftReferences:
    def test_the_first_reference_kept_stays(self) -> None:
        references = DriftReferences(MemoryTable())
        references.keep_first("m1", {"f": {"edges": [1.0], "shares": [0.5, 0.5]}}, 200, T0)
        references.keep_first("m1", {"f": {"edges": [9.0], "shares": [1.0, 0.0]}}, 300, T0)
        assert references.histograms("m1") == {"f": {"edges": [1.0], "shares": [0.5, 0.5]}}

    def test_a_version_without_a_reference_has_no_histograms(self) -> None:
        assert DriftReferences(MemoryTable()).histograms("m2") == {}


class TestChangeMatters:
    def _sighting(self, at: str, **item: str) -> dict[str, str]:
        return {"customer_id": "cus_other", "advocate_id": "adv_other", "occurred_at": at, **item}

    def test_a_new_network_prefix_sighting_far_from_the_referral_changes_nothing(
        self, world: World
    ) -> None:
        referral = world.refer(world.advocate(world.program()))
        far = iso(referral.occurred_at + timedelta(days=3))
        after = self._sighting(far)
        assert not change_matters(referral, "EV#ip_prefix#h", "s", None, after)

    def test_a_new_device_sighting_matters_however_far_it_counts_in_the_crowd(
        self, world: World
    ) -> None:
        referral = world.refer(world.advocate(world.program()))
        far = iso(referral.occurred_at + timedelta(days=3))
        after = self._sighting(far)
        assert change_matters(referral, "EV#device#h", "s", None, after)

    def test_a_new_sighting_of_the_advocate_matters_however_far(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()))
        far = iso(referral.occurred_at + timedelta(days=3))
        after = self._sighting(far, advocate_id=referral.advocate_id)
        assert change_matters(referral, "EV#device#h", "s", None, after)

    def test_a_change_to_the_referral_outside_its_inputs_changes_nothing(
        self, world: World
    ) -> None:
        referral = world.refer(world.advocate(world.program()))
        pk, sk = keys.referral(referral.referral_id)
        before = {"doc": {"advocate_id": referral.advocate_id, "note": "a"}}
        after = {"doc": {"advocate_id": referral.advocate_id, "note": "b"}}
        assert not change_matters(referral, pk, sk, before, after)
        assert change_matters(referral, pk, sk, before, {"doc": {"advocate_id": "adv_x"}})
