"""Referral intake: record everything structurally valid, refuse only what cannot be."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

from shared.atomic_changes import Changes, UnitOfWork
from shared.clock import Clock
from shared.domain.advocates import Advocate
from shared.domain.commands import RecordReferral
from shared.domain.counters import Counter
from shared.domain.customers import pseudonym
from shared.domain.evidence import EvidenceKind, Observation
from shared.domain.programs import Program
from shared.domain.referees import DuplicateReferee
from shared.domain.referrals import Reason, Referral, ReferralStatus, Risk
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.ids import new_id, normalise_code
from shared.pii import PiiHasher, PiiKind
from shared.scoring.rules import RULES_VERSION, SELF_REFERRAL
from shared.services.advocates import prints_of
from shared.services.stores import Counters, Evidence, ProgramTerms
from shared.services.timing import not_before, occurred_at


class AdvocateCodes(Protocol):
    def find_by_code(self, referral_code: str) -> Advocate | None: ...


class Referrals(Protocol):
    def get(self, referral_id: str) -> Referral | None: ...
    def find_by_referee(self, program_id: str, customer_id: str) -> Referral | None: ...
    def add(self, referral: Referral, *, within: Changes) -> None: ...


class ReferralService:
    def __init__(
        self,
        *,
        programs: ProgramTerms,
        advocates: AdvocateCodes,
        referrals: Referrals,
        evidence: Evidence,
        counters: Counters,
        units: UnitOfWork,
        clock: Clock,
        hasher: PiiHasher,
    ) -> None:
        self._programs = programs
        self._advocates = advocates
        self._referrals = referrals
        self._evidence = evidence
        self._counters = counters
        self._units = units
        self._clock = clock
        self._hasher = hasher

    def create(self, body: RecordReferral) -> Referral:
        program, advocate = self._program_and_advocate(body)
        at = occurred_at(body.occurred_at, self._clock)
        not_before(at, program.started_at, "the program started", "before_program_start")
        not_before(at, advocate.enrolled_at, "the advocate enrolled", "before_enrolment")
        existing = self._earlier_referral(program.program_id, body.referee_customer_id)
        if existing is not None:
            raise _already_referred(body.referee_customer_id, existing.referral_id)
        referral = self._referral(body, program, advocate, at)
        changes = self._units.begin()
        self._referrals.add(referral, within=changes)
        self._evidence.record(self._observations(body, referral, at), within=changes)
        counts: dict[str, int] = {Counter.REFERRALS: 1}
        if referral.status == ReferralStatus.REJECTED:
            counts |= {Counter.REJECTED: 1, Counter.SCORED: 1}
        self._counters.count(program.program_id, counts, within=changes, variant=referral.variant)
        try:
            changes.commit()
        except DuplicateReferee as exc:
            raise _already_referred(body.referee_customer_id, exc.referral_id) from exc
        return referral

    def _earlier_referral(self, program_id: str, customer_id: str) -> Referral | None:
        """The customer's referral in the program, under its id or, once erased, under its
        pseudonym: an erased customer referred again is still a duplicate."""
        found = self._referrals.find_by_referee(program_id, customer_id)
        if found is None:
            found = self._referrals.find_by_referee(
                program_id, pseudonym(self._hasher, customer_id)
            )
        return found

    def get(self, referral_id: str) -> Referral:
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        return referral

    def _program_and_advocate(self, body: RecordReferral) -> tuple[Program, Advocate]:
        program = self._programs.terms(body.program_id)
        if program is None:
            raise InvalidRequest.field("program_id", "no such program", "unknown_program")
        advocate = self._advocates.find_by_code(normalise_code(body.referral_code))
        if advocate is None or advocate.program_id != program.program_id:
            raise InvalidRequest.field(
                "referral_code", "is not a referral code of this program", "unknown_code"
            )
        if not program.is_active:
            raise Conflict(f"program {program.program_id} is paused")
        return program, advocate

    def _referral(
        self, body: RecordReferral, program: Program, advocate: Advocate, at: datetime
    ) -> Referral:
        now = self._clock.now()
        referral = Referral(
            referral_id=new_id("ref"),
            program_id=program.program_id,
            advocate_id=advocate.advocate_id,
            advocate_customer_id=advocate.customer_id,
            referral_code=normalise_code(body.referral_code),
            referee_customer_id=body.referee_customer_id,
            referee_email=body.referee_email,
            fingerprint=prints_of(self._hasher, body.referee_email, body.context),
            status=ReferralStatus.PENDING,
            occurred_at=at,
            recorded_at=now,
            updated_at=now,
            variant=advocate.variant,
        )
        if body.referee_customer_id == advocate.customer_id:
            # Born rejected: a referral of oneself is never pending, so it is stored so.
            referral = Referral.model_validate(
                {
                    **referral.model_dump(),
                    "status": ReferralStatus.REJECTED,
                    "risk": self_referral_risk(referral),
                }
            )
        return referral

    def _observations(
        self, body: RecordReferral, referral: Referral, at: datetime
    ) -> list[Observation]:
        customer_hash = self._hasher.digest(PiiKind.CUSTOMER, body.referee_customer_id)
        return [
            Observation(
                kind=kind,
                value=value,
                occurred_at=at,
                program_id=referral.program_id,
                advocate_id=referral.advocate_id,
                referral_id=referral.referral_id,
                customer_id=body.referee_customer_id,
                role="referee",
            )
            for kind, value in {
                **referral.fingerprint.indexed(),
                EvidenceKind.CUSTOMER: customer_hash,
                EvidenceKind.ADVOCATE: referral.advocate_id,
            }.items()
        ]


def _already_referred(customer_id: str, referral_id: str) -> Conflict:
    return Conflict(
        f"customer {customer_id} was already referred in this program (referral {referral_id})"
    )


def self_referral_risk(referral: Referral) -> Risk:
    return Risk(
        score=Decimal(100),
        decision="reject",
        reasons=[
            Reason(
                code=SELF_REFERRAL,
                message="The referee is the advocate: same customer id.",
                evidence={"customer_id": referral.referee_customer_id},
            )
        ],
        model_version=RULES_VERSION,
        scored_at=referral.recorded_at,
    )
