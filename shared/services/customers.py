"""Erasing a customer's personal data on request.

Raw emails are the only personal data stored in the clear (kept so rewards can be
delivered); devices, IPs and payment fingerprints are keyed hashes already. Erasure finds
every advocate enrolment and referee record of the customer through the customer index,
drops the raw emails, and leaves hashes, the reward ledger and the audit trail intact, so
fraud links and the money trail survive. Each record is changed in its own transaction with
its audit entry; running it again finds nothing left to erase.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.atomic_changes import Changes, UnitOfWork
from shared.clock import Clock
from shared.domain.advocates import Advocate, AdvocateChanged
from shared.domain.audit import AuditEntry
from shared.domain.changes import ReferralMoved
from shared.domain.customers import CustomerRecord
from shared.domain.referrals import Referral
from shared.services.stores import Audit

ATTEMPTS = 5


class CustomerRecords(Protocol):
    def of_customer(self, customer_id: str) -> Iterable[CustomerRecord]: ...


class Advocates(Protocol):
    def erase_contact(self, advocate_id: str, *, within: Changes) -> Advocate | None: ...


class Referrals(Protocol):
    def get(self, referral_id: str) -> Referral | None: ...
    def stage_save(self, referral: Referral, expected_version: int, *, within: Changes) -> None: ...


@dataclass
class Erasure:
    customer_id: str
    erased_at: datetime
    advocates: list[str] = field(default_factory=list)
    referrals: list[str] = field(default_factory=list)
    already_erased: int = 0


class ErasureRaced(RuntimeError):
    """A record kept changing under the erasure; the request is safe to repeat."""


class CustomerService:
    def __init__(
        self,
        *,
        records: CustomerRecords,
        advocates: Advocates,
        referrals: Referrals,
        audit: Audit,
        units: UnitOfWork,
        clock: Clock,
    ) -> None:
        self._records = records
        self._advocates = advocates
        self._referrals = referrals
        self._audit = audit
        self._units = units
        self._clock = clock

    def erase(self, customer_id: str, actor: str) -> Erasure:
        erasure = Erasure(customer_id=customer_id, erased_at=self._clock.now())
        for record in self._records.of_customer(customer_id):
            if record.role == "advocate":
                self._erase_advocate(record.subject_id, erasure, actor)
            else:
                self._erase_referee(record.subject_id, erasure, actor)
        return erasure

    def _erase_advocate(self, advocate_id: str, erasure: Erasure, actor: str) -> None:
        for _ in range(ATTEMPTS):
            changes = self._units.begin()
            advocate = self._advocates.erase_contact(advocate_id, within=changes)
            if advocate is None:
                return
            if advocate.contact_erased:
                erasure.already_erased += 1
                return
            audit = _entry(erasure, actor, program_id=advocate.program_id, referral_id=None)
            audit.details["advocate_id"] = advocate.advocate_id
            self._audit.append(audit, within=changes)
            try:
                changes.commit()
            except AdvocateChanged:
                continue
            erasure.advocates.append(advocate.advocate_id)
            return
        raise ErasureRaced(f"advocate record {advocate_id} kept changing; repeat the erasure")

    def _erase_referee(self, referral_id: str, erasure: Erasure, actor: str) -> None:
        for _ in range(ATTEMPTS):
            referral = self._referrals.get(referral_id)
            if referral is None:
                return
            if referral.referee_email is None:
                erasure.already_erased += 1
                return
            erased = referral.model_copy(
                update={"referee_email": None, "version": referral.version + 1}
            )
            changes = self._units.begin()
            self._referrals.stage_save(erased, referral.version, within=changes)
            audit = _entry(erasure, actor, program_id=referral.program_id, referral_id=referral_id)
            self._audit.append(audit, within=changes)
            try:
                changes.commit()
            except ReferralMoved:
                continue
            erasure.referrals.append(referral_id)
            return
        raise ErasureRaced(f"referral {referral_id} kept changing; repeat the erasure")


def _entry(erasure: Erasure, actor: str, *, program_id: str, referral_id: str | None) -> AuditEntry:
    return AuditEntry.record(
        erasure.erased_at,
        actor,
        "customer.erased",
        referral_id=referral_id,
        program_id=program_id,
        before={"email": "present"},
        after={"email": "erased"},
        details={"customer_id": erasure.customer_id},
    )
