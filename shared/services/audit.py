"""Reading the append-only audit trail: of a referral, of a program, or of global changes
(blocklist, erasure) that belong to neither."""

from __future__ import annotations

from typing import Protocol

from shared.domain.audit import AuditEntry

Entries = tuple[list[AuditEntry], str | None]


class AuditTrail(Protocol):
    def for_referral(
        self, referral_id: str, limit: int = 50, cursor: str | None = None
    ) -> Entries: ...
    def for_program(
        self, program_id: str, limit: int = 50, cursor: str | None = None
    ) -> Entries: ...
    def global_entries(self, limit: int = 50, cursor: str | None = None) -> Entries: ...


class AuditService:
    def __init__(self, log: AuditTrail) -> None:
        self._log = log

    def entries(
        self,
        *,
        referral_id: str | None,
        program_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[AuditEntry], str | None]:
        """Oldest first. A referral's trail, optionally only if it belongs to `program_id`."""
        if referral_id:
            entries, next_cursor = self._log.for_referral(referral_id, limit, cursor)
            if program_id:
                entries = [e for e in entries if e.program_id == program_id]
            return entries, next_cursor
        if program_id:
            return self._log.for_program(program_id, limit, cursor)
        return self._log.global_entries(limit, cursor)
