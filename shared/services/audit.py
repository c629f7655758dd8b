"""Reading the append-only audit trail: of a referral, of a program, or of global changes
(blocklist, erasure) that belong to neither."""

from __future__ import annotations

from shared.domain.audit import AuditEntry
from shared.repositories.audit import AuditLog
from shared.repositories.codec import from_item
from shared.storage.table import Table

GLOBAL_AUDIT = "AUDIT#GLOBAL"


class AuditService:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._log = AuditLog(table)

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
        page = self._table.query(GLOBAL_AUDIT, limit=limit, cursor=cursor)
        return [from_item(AuditEntry, item) for item in page.items], page.cursor
