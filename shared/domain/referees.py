"""A customer is referred at most once in a program."""

from __future__ import annotations


class DuplicateReferee(Exception):
    """The customer was already referred in this program, by the referral named."""

    def __init__(self, referral_id: str) -> None:
        super().__init__(referral_id)
        self.referral_id = referral_id
