"""What can go wrong when a change is committed, said in the domain's words.

Repositories raise these when a conditional write is refused; services catch them by
name. None of them is a client's fault: each means "what you read has moved on".
"""

from __future__ import annotations


class Contention(Exception):
    """Another writer changed one of the items since they were read: read again."""


class ReferralMoved(Contention):
    """The referral changed since it was read."""

    def __init__(self, referral_id: str) -> None:
        super().__init__(referral_id)
        self.referral_id = referral_id


class BudgetShort(Exception):
    """The program's budget left cannot cover the amount."""

    def __init__(self, program_id: str) -> None:
        super().__init__(program_id)
        self.program_id = program_id


class MonthlyCapReached(Exception):
    """The month's counter would pass its cap: another release took the room meanwhile."""

    def __init__(self, program_id: str, month: str, cap: str) -> None:
        super().__init__(f"{program_id} {month} {cap}")
        self.program_id = program_id
        self.month = month
        self.cap = cap
