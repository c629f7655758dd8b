"""Referral intake: record everything structurally valid, refuse only what cannot be."""

from __future__ import annotations

from decimal import Decimal

from shared.clock import Clock
from shared.domain.evidence import EvidenceKind, fingerprint
from shared.domain.referrals import Reason, Referral, ReferralStatus, Risk
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.ids import new_id, normalise_code
from shared.pii import PiiHasher, PiiKind
from shared.repositories.advocates import AdvocateRepository
from shared.repositories.evidence import EvidenceIndex, Observation
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import DuplicateReferee, ReferralRepository
from shared.repositories.stats import Counter, ProgramCounters
from shared.schemas.referrals import ReferralCreate
from shared.scoring.rules import RULES_VERSION, SELF_REFERRAL
from shared.services.timing import occurred_at
from shared.storage.table import Table


class ReferralService:
    def __init__(self, table: Table, clock: Clock, hasher: PiiHasher) -> None:
        self._programs = ProgramRepository(table)
        self._advocates = AdvocateRepository(table)
        self._referrals = ReferralRepository(table)
        self._evidence = EvidenceIndex(table)
        self._clock = clock
        self._hasher = hasher

    def create(self, body: ReferralCreate) -> Referral:
        program = self._programs.terms(body.program_id)
        if program is None:
            raise InvalidRequest.field("program_id", "no such program", "unknown_program")
        code = normalise_code(body.referral_code)
        advocate = self._advocates.find_by_code(code)
        if advocate is None or advocate.program_id != program.program_id:
            raise InvalidRequest.field(
                "referral_code", "is not a referral code of this program", "unknown_code"
            )
        if not program.is_active:
            raise Conflict(f"program {program.program_id} is paused")
        at = occurred_at(body.occurred_at, self._clock)
        existing = self._referrals.find_by_referee(program.program_id, body.referee.customer_id)
        if existing is not None:
            raise Conflict(
                f"customer {body.referee.customer_id} was already referred in this program "
                f"(referral {existing.referral_id})"
            )
        now = self._clock.now()
        context = body.context
        prints = fingerprint(
            self._hasher,
            email=body.referee.email,
            ip=context.ip if context else None,
            device_id=context.device_id if context else None,
            user_agent=context.user_agent if context else None,
            country=context.country if context else None,
        )
        referral = Referral(
            referral_id=new_id("ref"),
            program_id=program.program_id,
            advocate_id=advocate.advocate_id,
            advocate_customer_id=advocate.customer_id,
            referral_code=code,
            referee_customer_id=body.referee.customer_id,
            referee_email=body.referee.email,
            fingerprint=prints,
            status=ReferralStatus.PENDING,
            occurred_at=at,
            recorded_at=now,
            updated_at=now,
        )
        if body.referee.customer_id == advocate.customer_id:
            # Born rejected: a referral of oneself is never pending, so it is stored so.
            referral = Referral.model_validate(
                {
                    **referral.model_dump(),
                    "status": ReferralStatus.REJECTED,
                    "risk": self_referral_risk(referral),
                }
            )
        customer_hash = self._hasher.digest(PiiKind.CUSTOMER, body.referee.customer_id)
        observations = [
            Observation(
                kind=kind,
                value=value,
                occurred_at=at,
                program_id=program.program_id,
                advocate_id=advocate.advocate_id,
                referral_id=referral.referral_id,
                customer_id=body.referee.customer_id,
                role="referee",
            )
            for kind, value in {
                **prints.indexed(),
                EvidenceKind.CUSTOMER: customer_hash,
                EvidenceKind.ADVOCATE: advocate.advocate_id,
            }.items()
        ]
        counts: dict[str, int] = {Counter.REFERRALS: 1}
        if referral.status == ReferralStatus.REJECTED:
            counts[Counter.REJECTED] = 1
        counters = ProgramCounters.add_op(program.program_id, counts)
        try:
            self._referrals.add(referral, [*self._evidence.put_ops(observations), counters])
        except DuplicateReferee as exc:
            raise Conflict(
                f"customer {body.referee.customer_id} was already referred in this program "
                f"(referral {exc.referral_id})"
            ) from exc
        return referral

    def get(self, referral_id: str) -> Referral:
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        return referral


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
