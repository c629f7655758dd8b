"""Errors a repository raises when a change it was asked to make no longer applies."""

from __future__ import annotations


class ReferralMoved(Exception):
    """The referral changed since it was read: read it again before deciding anything."""

    def __init__(self, referral_id: str) -> None:
        super().__init__(referral_id)
        self.referral_id = referral_id
