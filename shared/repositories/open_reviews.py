"""The open-review index following a referral that another change moves out of review."""

from __future__ import annotations

from shared.domain.referrals import Referral
from shared.repositories.reviews import ReviewIndex
from shared.repositories.unit_of_work import Changes
from shared.storage.table import Table


class OpenReviews:
    def __init__(self, table: Table) -> None:
        self._index = ReviewIndex(table)

    def follow(self, referral: Referral, *, was_in_review: bool, within: Changes) -> None:
        """Put or remove the referral's open review with `within`, as its new state says."""
        for op in self._index.sync_ops(referral, was_in_review=was_in_review):
            within.stage(op)
