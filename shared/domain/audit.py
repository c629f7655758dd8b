"""Audit entries: who changed what, when, from what to what. Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.ids import new_id


class AuditEntry(BaseModel):
    model_config = ConfigDict(defer_build=True)

    entry_id: str
    at: datetime
    actor: str  # a user's subject, or "system:<job>" for scheduled work
    action: str  # e.g. "referral.scored", "review.approved", "blocklist.added"
    referral_id: str | None = None
    program_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    note: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def record(
        cls,
        at: datetime,
        actor: str,
        action: str,
        *,
        referral_id: str | None = None,
        program_id: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        note: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """A new entry with its own id: what `actor` did at `at`."""
        return cls(
            entry_id=new_id("aud"),
            at=at,
            actor=actor,
            action=action,
            referral_id=referral_id,
            program_id=program_id,
            before=before,
            after=after,
            note=note,
            details=details or {},
        )
