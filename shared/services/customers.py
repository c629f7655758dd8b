"""Erasing a customer's personal data on request.

Raw emails are kept so rewards can be delivered, and the customer id names the customer
in evidence, the ledger, audit entries, guards and other referrals' risk evidence; devices,
IPs and payment fingerprints are keyed hashes already. Erasure finds every advocate
enrolment and referee record of the customer through the customer index, drops the raw
emails (each record in its own transaction with its audit entry), then replaces the raw id
by its pseudonym (`erased:` and 16 hex digits of the keyed customer hash) everywhere the
record reaches. A points account holds no email: its partition moves under the pseudonym,
after the customer's other records (whose ledger entries name the account it credits), so
balances, debts and history survive too. Amounts, statuses, budgets, counters, hashes and
audit entries stay, so the money trail and fraud links survive. One call writes at most
`items_per_call` items; a repeat continues, and once done finds nothing left to erase.
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
from shared.domain.customers import CustomerRecord, Pseudonymisation, Rewritten
from shared.domain.referrals import Referral
from shared.errors import DomainError
from shared.pii import PiiHasher
from shared.services.stores import Audit

ATTEMPTS = 5
# An advocate with 12 qualified referrals who was also referred once has 28 items
# rewritten; 1,000 writes of single-digit milliseconds each keep one call inside the API's
# 29-second limit, and finish almost every customer in one call.
ITEMS_PER_CALL = 1000


class CustomerRecords(Protocol):
    def of_customer(self, customer_id: str) -> Iterable[CustomerRecord]: ...
    def pseudonymise(
        self, record: CustomerRecord, rename: Pseudonymisation, allowance: int
    ) -> Rewritten: ...


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
    # Programs whose points account of the customer moved under the pseudonym.
    points_accounts: list[str] = field(default_factory=list)
    already_erased: int = 0
    # Items whose raw customer id was replaced by the pseudonym in this call.
    pseudonymised: int = 0


class ErasureUnfinished(DomainError):
    """The call wrote its share of items; repeating the request continues the erasure."""

    status = 503
    title = "Erasure unfinished"


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
        hasher: PiiHasher,
        items_per_call: int = ITEMS_PER_CALL,
    ) -> None:
        self.items_per_call = items_per_call
        self._hasher = hasher
        self._records = records
        self._advocates = advocates
        self._referrals = referrals
        self._audit = audit
        self._units = units
        self._clock = clock

    def erase(self, customer_id: str, actor: str) -> Erasure:
        """Erase the customer's records found under the raw id, and sweep those already
        under the pseudonym (a write that raced an earlier erasure is caught there)."""
        rename = Pseudonymisation.of(self._hasher, customer_id)
        erasure = Erasure(customer_id=customer_id, erased_at=self._clock.now())
        records = [
            *self._records.of_customer(customer_id),
            *self._records.of_customer(rename.alias),
        ]
        # Points accounts last: an entry renamed before them credits the renamed account.
        for record in sorted(records, key=lambda r: r.role == "points"):
            if record.role == "advocate":
                self._erase_advocate(record.subject_id, erasure, actor, rename)
            elif record.role == "referee":
                self._erase_referee(record.subject_id, erasure, actor, rename)
            elif record.subject_id not in erasure.points_accounts:
                erasure.points_accounts.append(record.subject_id)
            self._pseudonymise(record, erasure, rename)
        return erasure

    def _pseudonymise(
        self, record: CustomerRecord, erasure: Erasure, rename: Pseudonymisation
    ) -> None:
        allowance = self.items_per_call - erasure.pseudonymised
        rewrite = self._records.pseudonymise(record, rename, allowance)
        erasure.pseudonymised += rewrite.items
        if not rewrite.finished:
            raise ErasureUnfinished(
                f"{erasure.pseudonymised} items rewritten; repeat the request to continue"
            )

    def _erase_advocate(
        self, advocate_id: str, erasure: Erasure, actor: str, rename: Pseudonymisation
    ) -> None:
        for _ in range(ATTEMPTS):
            changes = self._units.begin()
            advocate = self._advocates.erase_contact(advocate_id, within=changes)
            if advocate is None:
                return
            if advocate.contact_erased:
                erasure.already_erased += 1
                return
            audit = _entry(erasure, actor, rename, program_id=advocate.program_id, referral_id=None)
            audit.details["advocate_id"] = advocate.advocate_id
            self._audit.append(audit, within=changes)
            try:
                changes.commit()
            except AdvocateChanged:
                continue
            erasure.advocates.append(advocate.advocate_id)
            return
        raise ErasureRaced(f"advocate record {advocate_id} kept changing; repeat the erasure")

    def _erase_referee(
        self, referral_id: str, erasure: Erasure, actor: str, rename: Pseudonymisation
    ) -> None:
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
            audit = _entry(
                erasure, actor, rename, program_id=referral.program_id, referral_id=referral_id
            )
            self._audit.append(audit, within=changes)
            try:
                changes.commit()
            except ReferralMoved:
                continue
            erasure.referrals.append(referral_id)
            return
        raise ErasureRaced(f"referral {referral_id} kept changing; repeat the erasure")


def _entry(
    erasure: Erasure,
    actor: str,
    rename: Pseudonymisation,
    *,
    program_id: str,
    referral_id: str | None,
) -> AuditEntry:
    return AuditEntry.record(
        erasure.erased_at,
        actor,
        "customer.erased",
        referral_id=referral_id,
        program_id=program_id,
        before={"email": "present"},
        after={"email": "erased"},
        # The pseudonym, never the raw id: the entry must not undo what it records.
        details={"customer_id": rename.alias},
    )
