"""Enrolling advocates: one per customer per program, each with its own code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.clock import Clock
from shared.domain.advocates import Advocate
from shared.domain.evidence import EvidenceKind, fingerprint
from shared.errors import Conflict, NotFound
from shared.ids import new_id, new_referral_code
from shared.pii import PiiHasher, PiiKind
from shared.repositories.advocates import AdvocateRepository, AlreadyEnrolled, CodeTaken
from shared.repositories.evidence import EvidenceIndex, Observation
from shared.repositories.programs import ProgramRepository
from shared.schemas.advocates import AdvocateEnrol
from shared.services.timing import occurred_at
from shared.storage.table import Table

_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class Enrolment:
    advocate: Advocate
    created: bool


class AdvocateService:
    def __init__(self, table: Table, clock: Clock, hasher: PiiHasher) -> None:
        self._programs = ProgramRepository(table)
        self._advocates = AdvocateRepository(table)
        self._evidence = EvidenceIndex(table)
        self._clock = clock
        self._hasher = hasher

    def enrol(self, program_id: str, body: AdvocateEnrol) -> Enrolment:
        program = self._programs.terms(program_id)
        if program is None:
            raise NotFound(f"no program {program_id}")
        existing = self._advocates.find_enrolment(program_id, body.customer_id)
        if existing is not None:
            return Enrolment(existing, created=False)
        if not program.is_active:
            raise Conflict(f"program {program_id} is paused")
        at = occurred_at(body.occurred_at, self._clock)
        context = body.context
        prints = fingerprint(
            self._hasher,
            email=body.email,
            ip=context.ip if context else None,
            device_id=context.device_id if context else None,
            user_agent=context.user_agent if context else None,
            country=context.country if context else None,
        )
        advocate_id = new_id("adv")
        customer_hash = self._hasher.digest(PiiKind.CUSTOMER, body.customer_id)
        observations = [
            Observation(
                kind=kind,
                value=value,
                occurred_at=at,
                program_id=program_id,
                advocate_id=advocate_id,
                referral_id=None,
                customer_id=body.customer_id,
                role="advocate",
            )
            for kind, value in {
                **prints.indexed(),
                EvidenceKind.CUSTOMER: customer_hash,
            }.items()
        ]
        for _ in range(_CODE_ATTEMPTS):
            advocate = Advocate(
                advocate_id=advocate_id,
                program_id=program_id,
                customer_id=body.customer_id,
                email=body.email,
                referral_code=new_referral_code(),
                fingerprint=prints,
                enrolled_at=at,
                recorded_at=self._clock.now(),
            )
            try:
                self._advocates.enrol(advocate, self._evidence.put_ops(observations))
                return Enrolment(advocate, created=True)
            except CodeTaken:
                continue
            except AlreadyEnrolled as exc:
                winner = self._advocates.get(exc.advocate_id)
                if winner is None:  # pragma: no cover - the guard item names a stored advocate
                    raise
                return Enrolment(winner, created=False)
        raise Conflict("could not allocate a unique referral code; retry")
