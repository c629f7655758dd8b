"""Advocates, their enrolment per program and their referral codes."""

from __future__ import annotations

from collections.abc import Sequence

from shared.clock import iso
from shared.domain.advocates import Advocate
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import ConditionFailed, NotExists, Put, Table, WriteOp


class AlreadyEnrolled(Exception):
    def __init__(self, advocate_id: str) -> None:
        super().__init__(advocate_id)
        self.advocate_id = advocate_id


class CodeTaken(Exception):
    """The generated referral code is in use; draw another."""


class AdvocateRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def enrol(self, advocate: Advocate, extra: Sequence[WriteOp] = ()) -> None:
        pk, sk = keys.advocate(advocate.advocate_id)
        enrol_pk, enrol_sk = keys.enrolment(advocate.program_id, advocate.customer_id)
        code_pk, code_sk = keys.code(advocate.referral_code)
        ops: list[WriteOp] = [
            Put(
                {
                    "pk": pk,
                    "sk": sk,
                    "type": "advocate",
                    "gsi1pk": keys.program_advocates(advocate.program_id),
                    "gsi1sk": f"{iso(advocate.enrolled_at)}#{advocate.advocate_id}",
                    "gsi2pk": keys.customer(advocate.customer_id),
                    "gsi2sk": f"ADVOCATE#{advocate.advocate_id}",
                    "doc": to_doc(advocate),
                },
                NotExists(),
            ),
            Put(
                {
                    "pk": enrol_pk,
                    "sk": enrol_sk,
                    "type": "enrolment",
                    "advocate_id": advocate.advocate_id,
                },
                NotExists(),
            ),
            Put(
                {
                    "pk": code_pk,
                    "sk": code_sk,
                    "type": "code",
                    "program_id": advocate.program_id,
                    "advocate_id": advocate.advocate_id,
                },
                NotExists(),
            ),
            *extra,
        ]
        try:
            self._table.write(ops)
        except ConditionFailed as exc:
            if exc.index == 1:
                existing = self._table.get(enrol_pk, enrol_sk)
                raise AlreadyEnrolled(existing["advocate_id"] if existing else "") from exc
            if exc.index == 2:
                raise CodeTaken(advocate.referral_code) from exc
            raise

    def get(self, advocate_id: str) -> Advocate | None:
        item = self._table.get(*keys.advocate(advocate_id))
        return from_item(Advocate, item) if item else None

    def find_enrolment(self, program_id: str, customer_id: str) -> Advocate | None:
        item = self._table.get(*keys.enrolment(program_id, customer_id))
        return self.get(item["advocate_id"]) if item else None

    def find_by_code(self, referral_code: str) -> Advocate | None:
        item = self._table.get(*keys.code(referral_code))
        return self.get(item["advocate_id"]) if item else None
