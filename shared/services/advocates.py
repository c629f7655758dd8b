"""Enrolling advocates: one per customer per program, each with its own code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.atomic_changes import Changes, UnitOfWork
from shared.clock import Clock
from shared.domain.advocates import Advocate, AlreadyEnrolled, CodeTaken
from shared.domain.commands import ClientContext, EnrolAdvocate
from shared.domain.counters import Counter
from shared.domain.evidence import EvidenceKind, Fingerprint, Observation, fingerprint
from shared.domain.experiments import assign
from shared.errors import Conflict, NotFound
from shared.ids import new_id, new_referral_code
from shared.pii import PiiHasher, PiiKind
from shared.services.stores import Counters, Evidence, ProgramTerms
from shared.services.timing import not_before, occurred_at

_CODE_ATTEMPTS = 5


class Advocates(Protocol):
    def get(self, advocate_id: str) -> Advocate | None: ...
    def find_enrolment(self, program_id: str, customer_id: str) -> Advocate | None: ...
    def enrol(self, advocate: Advocate, *, within: Changes) -> None: ...


@dataclass(frozen=True)
class Enrolment:
    advocate: Advocate
    created: bool


def prints_of(hasher: PiiHasher, email: str, context: ClientContext | None) -> Fingerprint:
    """The hashed fingerprint of a party from its email and where its request came from."""
    return fingerprint(
        hasher,
        email=email,
        ip=context.ip if context else None,
        device_id=context.device_id if context else None,
        user_agent=context.user_agent if context else None,
        country=context.country if context else None,
    )


class AdvocateService:
    def __init__(
        self,
        *,
        programs: ProgramTerms,
        advocates: Advocates,
        evidence: Evidence,
        counters: Counters,
        units: UnitOfWork,
        clock: Clock,
        hasher: PiiHasher,
    ) -> None:
        self._programs = programs
        self._advocates = advocates
        self._evidence = evidence
        self._counters = counters
        self._units = units
        self._clock = clock
        self._hasher = hasher

    def enrol(self, program_id: str, body: EnrolAdvocate) -> Enrolment:
        program = self._programs.terms(program_id)
        if program is None:
            raise NotFound(f"no program {program_id}")
        existing = self._advocates.find_enrolment(program_id, body.customer_id)
        if existing is not None:
            return Enrolment(existing, created=False)
        if not program.is_active:
            raise Conflict(f"program {program_id} is paused")
        at = occurred_at(body.occurred_at, self._clock)
        not_before(at, program.started_at, "the program started", "before_program_start")
        prints = prints_of(self._hasher, body.email, body.context)
        advocate_id = new_id("adv")
        observations = self._observations(program_id, advocate_id, body, prints, at)
        variant = assign(program, body.customer_id)
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
                variant=variant,
            )
            changes = self._units.begin()
            self._advocates.enrol(advocate, within=changes)
            self._evidence.record(observations, within=changes)
            self._counters.count(
                program_id, {Counter.ADVOCATES: 1}, within=changes, variant=variant
            )
            try:
                changes.commit()
                return Enrolment(advocate, created=True)
            except CodeTaken:
                continue
            except AlreadyEnrolled as exc:
                winner = self._advocates.get(exc.advocate_id)
                if winner is None:  # pragma: no cover - the guard item names a stored advocate
                    raise
                return Enrolment(winner, created=False)
        raise Conflict("could not allocate a unique referral code; retry")

    def _observations(
        self,
        program_id: str,
        advocate_id: str,
        body: EnrolAdvocate,
        prints: Fingerprint,
        at: datetime,
    ) -> list[Observation]:
        customer_hash = self._hasher.digest(PiiKind.CUSTOMER, body.customer_id)
        return [
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
