"""Advocates, their enrolment per program and their referral codes."""

from __future__ import annotations

from shared.atomic_changes import Changes
from shared.clock import iso
from shared.domain.advocates import Advocate, AdvocateChanged, AlreadyEnrolled, CodeTaken
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import Equals, NotExists, Put, Table, Update

__all__ = ["AdvocateRepository", "AlreadyEnrolled", "CodeTaken"]


class AdvocateRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def enrol(self, advocate: Advocate, *, within: Changes) -> None:
        """Record the advocate with `within`, with the guards that keep one enrolment per
        customer per program and one advocate per code: the commit raises
        `AlreadyEnrolled` (naming the advocate enrolled first) or `CodeTaken`."""
        pk, sk = keys.advocate(advocate.advocate_id)
        program_id, customer_id = advocate.program_id, advocate.customer_id
        enrol_pk, enrol_sk = keys.enrolment(program_id, customer_id)
        code_pk, code_sk = keys.code(advocate.referral_code)
        within.stage(
            Put(
                {
                    "pk": pk,
                    "sk": sk,
                    "type": "advocate",
                    "gsi1pk": keys.program_advocates(program_id),
                    "gsi1sk": f"{iso(advocate.enrolled_at)}#{advocate.advocate_id}",
                    "gsi2pk": keys.customer(customer_id),
                    "gsi2sk": f"ADVOCATE#{advocate.advocate_id}",
                    "doc": to_doc(advocate),
                },
                NotExists(),
            )
        )
        within.stage(
            Put(
                {
                    "pk": enrol_pk,
                    "sk": enrol_sk,
                    "type": "enrolment",
                    "advocate_id": advocate.advocate_id,
                },
                NotExists(),
            ),
            lambda: AlreadyEnrolled(self._enrolled_as(program_id, customer_id)),
        )
        within.stage(
            Put(
                {
                    "pk": code_pk,
                    "sk": code_sk,
                    "type": "code",
                    "program_id": program_id,
                    "advocate_id": advocate.advocate_id,
                },
                NotExists(),
            ),
            lambda: CodeTaken(advocate.referral_code),
        )

    def _enrolled_as(self, program_id: str, customer_id: str) -> str:
        item = self._table.get(*keys.enrolment(program_id, customer_id))
        return str(item["advocate_id"]) if item else ""

    def get(self, advocate_id: str) -> Advocate | None:
        item = self._table.get(*keys.advocate(advocate_id))
        return from_item(Advocate, item) if item else None

    def find_enrolment(self, program_id: str, customer_id: str) -> Advocate | None:
        item = self._table.get(*keys.enrolment(program_id, customer_id))
        return self.get(item["advocate_id"]) if item else None

    def find_by_code(self, referral_code: str) -> Advocate | None:
        item = self._table.get(*keys.code(referral_code))
        return self.get(item["advocate_id"]) if item else None

    def erase_contact(self, advocate_id: str, *, within: Changes) -> Advocate | None:
        """The advocate as stored now (None if there is none); unless its contact is erased
        already, stage it without its raw email with `within`. The write is conditional on
        the document read, so a concurrent change is not lost: the commit raises
        `AdvocateChanged` then."""
        pk, sk = keys.advocate(advocate_id)
        item = self._table.get(pk, sk)
        if item is None:
            return None
        advocate = from_item(Advocate, item)
        if advocate.contact_erased:
            return advocate
        erased = advocate.without_contact()
        within.stage(
            Update(pk, sk, set={"doc": to_doc(erased)}, condition=Equals("doc", item["doc"])),
            lambda: AdvocateChanged(advocate_id),
        )
        return advocate
