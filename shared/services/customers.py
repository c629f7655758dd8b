"""Erasing a customer's personal data on request.

Raw emails are the only personal data stored in the clear (kept so rewards can be
delivered); devices, IPs and payment fingerprints are keyed hashes already. Erasure finds
every advocate enrolment and referee record of the customer through the `CUSTOMER#` index,
drops the raw emails, and leaves hashes, the reward ledger and the audit trail intact, so
fraud links and the money trail survive. Each record is changed in its own transaction with
its audit entry; running it again finds nothing left to erase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.clock import Clock
from shared.domain.advocates import Advocate
from shared.domain.audit import AuditEntry
from shared.ids import new_id
from shared.repositories import keys
from shared.repositories.audit import AuditLog
from shared.repositories.codec import from_item, to_doc
from shared.repositories.referrals import ReferralRepository
from shared.storage.table import ConditionFailed, Equals, Item, Table, Update, query_all

ATTEMPTS = 5


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
    def __init__(self, table: Table, clock: Clock) -> None:
        self._table = table
        self._clock = clock
        self._referrals = ReferralRepository(table)
        self._audit = AuditLog(table)

    def erase(self, customer_id: str, actor: str) -> Erasure:
        erasure = Erasure(customer_id=customer_id, erased_at=self._clock.now())
        for item in query_all(self._table, keys.customer(customer_id), index="gsi2"):
            if item.get("type") == "advocate":
                self._erase_advocate(item["pk"], item["sk"], erasure, actor)
            elif item.get("type") == "referee":
                self._erase_referee(item["referral_id"], erasure, actor)
        return erasure

    def _erase_advocate(self, pk: str, sk: str, erasure: Erasure, actor: str) -> None:
        for _ in range(ATTEMPTS):
            item = self._table.get(pk, sk)
            if item is None:
                return
            advocate = from_item(Advocate, item)
            if advocate.email is None and advocate.erased:
                erasure.already_erased += 1
                return
            erased = advocate.model_copy(update={"email": None, "erased": True})
            audit = self._entry(erasure, actor, program_id=advocate.program_id, referral_id=None)
            audit.details["advocate_id"] = advocate.advocate_id
            try:
                # Conditional on the document read, so a concurrent counter update is not lost.
                self._table.write(
                    [
                        Update(pk, sk, set={"doc": to_doc(erased)}, condition=_unchanged(item)),
                        self._audit.entry_op(audit),
                    ]
                )
            except ConditionFailed as exc:
                if exc.index == 0:
                    continue
                raise
            erasure.advocates.append(advocate.advocate_id)
            return
        raise ErasureRaced(f"advocate record {pk} kept changing; repeat the erasure")

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
            audit = self._entry(
                erasure, actor, program_id=referral.program_id, referral_id=referral_id
            )
            try:
                self._table.write(
                    [
                        self._referrals.save_op(erased, referral.version),
                        self._audit.entry_op(audit),
                    ]
                )
            except ConditionFailed as exc:
                if exc.index == 0:
                    continue
                raise
            erasure.referrals.append(referral_id)
            return
        raise ErasureRaced(f"referral {referral_id} kept changing; repeat the erasure")

    @staticmethod
    def _entry(
        erasure: Erasure, actor: str, *, program_id: str, referral_id: str | None
    ) -> AuditEntry:
        return AuditEntry(
            entry_id=new_id("aud"),
            at=erasure.erased_at,
            actor=actor,
            action="customer.erased",
            referral_id=referral_id,
            program_id=program_id,
            before={"email": "present"},
            after={"email": "erased"},
            details={"customer_id": erasure.customer_id},
        )


def _unchanged(item: Item) -> Equals:
    return Equals("doc", item["doc"])
