"""Ports the services talk to; adapters live in `shared.adapters`."""

from __future__ import annotations

from typing import Protocol


class ScoringQueue(Protocol):
    def request_scoring(self, referral_id: str, trigger: str) -> None:
        """Ask for the referral to be scored; delivery is at least once."""
        ...
