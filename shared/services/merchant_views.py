"""What merchants read: referral lists by program, status or advocate, and an advocate's
summary. Every read goes through an index; none scans."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.domain.advocates import Advocate
from shared.domain.referral_filter import ReferralFilter
from shared.domain.referral_views import AdvocateSummary
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.rewards import Reward
from shared.errors import InvalidRequest, NotFound

# One summary reads the advocate, up to this many referrals (one read each) and their
# ledger entries (one query each): at most 1 + 2 x 100 reads, well inside an API call's
# 29 s. An advocate with more referrals gets the figures of its oldest 100, marked
# incomplete.
SUMMARY_REFERRALS = 100


class ReferralReads(Protocol):
    def get(self, referral_id: str) -> Referral | None: ...
    def page_of_program(
        self,
        program_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Referral], str | None]: ...
    def page_in_status(
        self, status: ReferralStatus, program_id: str, *, limit: int = 100, cursor: str | None
    ) -> tuple[list[Referral], str | None]: ...


class AdvocateReferralIndex(Protocol):
    def page(
        self,
        advocate_id: str,
        *,
        program_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[str], str | None]: ...
    def first(self, advocate_id: str, cap: int) -> tuple[list[str], bool]: ...


class AdvocateReads(Protocol):
    def get(self, advocate_id: str) -> Advocate | None: ...


class LedgerReads(Protocol):
    def of_referral(self, referral_id: str) -> list[Reward]: ...


class MerchantViews:
    def __init__(
        self,
        *,
        referrals: ReferralReads,
        by_advocate: AdvocateReferralIndex,
        advocates: AdvocateReads,
        ledger: LedgerReads,
    ) -> None:
        self._referrals = referrals
        self._by_advocate = by_advocate
        self._advocates = advocates
        self._ledger = ledger

    def referrals(
        self, where: ReferralFilter, limit: int, cursor: str | None
    ) -> tuple[list[Referral], str | None]:
        """A page of the referrals `where` selects. A page may hold fewer than `limit`
        items while a cursor follows: filters no index orders by are applied to the page
        read (status with an advocate, occurrence time with a status)."""
        if where.advocate_id is not None:
            return self._of_advocate(where, limit, cursor)
        if where.program_id is None:
            raise InvalidRequest.field("program_id", "give program_id or advocate_id", "missing")
        if where.status is not None:
            found, following = self._referrals.page_in_status(
                where.status, where.program_id, limit=limit, cursor=cursor
            )
            return [r for r in found if where.admits_time(r.occurred_at)], following
        return self._referrals.page_of_program(
            where.program_id, since=where.since, until=where.until, limit=limit, cursor=cursor
        )

    def _of_advocate(
        self, where: ReferralFilter, limit: int, cursor: str | None
    ) -> tuple[list[Referral], str | None]:
        assert where.advocate_id is not None
        ids, following = self._by_advocate.page(
            where.advocate_id,
            program_id=where.program_id,
            since=where.since,
            until=where.until,
            limit=limit,
            cursor=cursor,
        )
        found = [r for r in (self._referrals.get(i) for i in ids) if r is not None]
        if where.status is not None:
            found = [r for r in found if r.status == where.status]
        return found, following

    def advocate(self, advocate_id: str) -> AdvocateSummary:
        """The advocate with its referrals counted by status and its rewards added up."""
        advocate = self._advocates.get(advocate_id)
        if advocate is None:
            raise NotFound(f"no advocate {advocate_id}")
        ids, complete = self._by_advocate.first(advocate_id, SUMMARY_REFERRALS)
        summary = AdvocateSummary(advocate=advocate, complete=complete)
        for referral_id in ids:
            referral = self._referrals.get(referral_id)
            if referral is None:
                continue
            summary.count(referral.status)
            for reward in self._ledger.of_referral(referral_id):
                if reward.beneficiary == "advocate" and reward.advocate_id == advocate_id:
                    summary.add(reward)
        return summary
