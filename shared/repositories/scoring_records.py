"""What scoring reads and writes about referrals: the referral and its program's terms,
the unpaid referrals the hourly sweep walks, and a score recorded as one change.

A score is written with the referral's status move, the review index, the program
counters and an audit entry in one conditional transaction, so a duplicate queue message
or a concurrent writer can never apply a score twice or over a newer state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from shared.domain.audit import AuditEntry
from shared.domain.changes import ReferralMoved
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.repositories.audit import AuditLog
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository, status_due
from shared.repositories.reviews import ReviewIndex
from shared.repositories.stats import ProgramCounters
from shared.storage.table import ConditionFailed, Table, WriteOp


class ScoringRecords:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._referrals = ReferralRepository(table)
        self._programs = ProgramRepository(table)
        self._audit = AuditLog(table)
        self._reviews = ReviewIndex(table)

    def referral(self, referral_id: str) -> Referral | None:
        return self._referrals.get(referral_id)

    def program(self, program_id: str) -> Program | None:
        return self._programs.terms(program_id)

    def program_ids(self) -> list[str]:
        return self._referrals.program_ids()

    def with_status(
        self,
        status: ReferralStatus,
        program_ids: Sequence[str],
        *,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
    ) -> Iterator[Referral]:
        """The programs' referrals in `status`, by the time a scheduled job is due to look."""
        return self._referrals.each_with_status(
            status, program_ids, due_after=due_after, due_before=due_before
        )

    @staticmethod
    def sweep_position(referral: Referral) -> str:
        """Where the referral comes in a walk of its status (`with_status` order)."""
        return status_due(referral)

    def record_score(
        self, read: Referral, scored: Referral, entry: AuditEntry, counters: dict[str, int]
    ) -> None:
        """Save `scored` over `read`, with its review index entry, the counters it moves and
        its audit entry, at once. Raises `ReferralMoved` if the referral changed since it was
        read (nothing is written then)."""
        ops: list[WriteOp] = [
            self._referrals.save_op(scored, read.version),
            *self._reviews.sync_ops(scored, was_in_review=read.status == ReferralStatus.REVIEW),
            self._audit.entry_op(entry),
        ]
        if counters:
            ops.append(ProgramCounters.add_op(read.program_id, counters, variant=read.variant))
        try:
            self._table.write(ops)
        except ConditionFailed as exc:
            if exc.index == 0:
                raise ReferralMoved(read.referral_id) from exc
            raise
