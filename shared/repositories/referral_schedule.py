"""The referrals the scheduled jobs look at, read by when they fall due.

Each program's referrals in one status are indexed by due time (qualifying time, or the
time they happened), so "due now" is a key range per program, never a scan.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime, timedelta

from shared.domain.referrals import Referral, ReferralStatus
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository, status_due
from shared.storage.table import Table

# Referrals read per query by the jobs that walk a status.
PAGE = 100


class ReferralSchedule:
    def __init__(self, table: Table) -> None:
        self._referrals = ReferralRepository(table)
        self._programs = ProgramRepository(table)

    def pending_due(self, before: datetime) -> Iterator[Referral]:
        """Every program's `pending` referrals that happened before `before`, lazily."""
        return self._referrals.each_with_status(
            ReferralStatus.PENDING, self._referrals.program_ids(), due_before=before
        )

    def rewarding_since(self, before: datetime) -> Iterator[Referral]:
        """Every program's `rewarding` referrals that qualified before `before`, read a page
        at a time as they are consumed."""
        cursor: str | None = None
        while True:
            referrals, cursor = self._referrals.with_status(
                ReferralStatus.REWARDING, due_before=before, limit=PAGE, cursor=cursor
            )
            yield from referrals
            if cursor is None:
                return

    def due_for_release(self, now: datetime) -> Iterator[Referral]:
        """Holding referrals whose holding period has ended, and no others: each program's
        holding shards are read up to now minus its current holding period. Programs are
        merged longest-waiting first, so a run cut short by time serves them all fairly."""
        streams = []
        for program_id in self._referrals.program_ids():
            program = self._programs.get(program_id)
            if program is None:  # pragma: no cover - listed programs are stored
                continue
            cutoff = now - timedelta(days=program.holding_period_days)
            streams.append(
                self._referrals.each_with_status(
                    ReferralStatus.HOLDING, [program_id], due_before=cutoff
                )
            )
        return heapq.merge(*streams, key=status_due)
