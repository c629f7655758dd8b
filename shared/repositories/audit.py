"""The audit trail, written in the same transaction as the change it records."""

from __future__ import annotations

from shared.atomic_changes import Changes
from shared.clock import iso
from shared.domain.audit import AuditEntry
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.repositories.sharded import merged_page
from shared.storage.table import NotExists, Put, Table

# Changes that belong to no referral or program (blocklist, erasure of an advocate-only
# customer) are kept under one subject.
GLOBAL_SUBJECT = "AUDIT#GLOBAL"


def _subject(entry: AuditEntry) -> str:
    return f"AUDIT#{entry.referral_id or entry.program_id or 'GLOBAL'}"


class AuditLog:
    def __init__(self, table: Table) -> None:
        self._table = table

    def entry_op(self, entry: AuditEntry) -> Put:
        """Put-if-absent: an entry, once written, is never replaced."""
        sort = f"{iso(entry.at)}#{entry.entry_id}"
        item = {
            "pk": _subject(entry),
            "sk": sort,
            "type": "audit",
            "doc": to_doc(entry),
        }
        if entry.program_id:
            shard = keys.shard_of(entry.entry_id, keys.AUDIT_SHARDS)
            item["gsi1pk"] = keys.program_audit(entry.program_id, shard)
            item["gsi1sk"] = sort
        return Put(item, NotExists())

    def append(self, entry: AuditEntry, *, within: Changes) -> None:
        """Record `entry` with the change it describes (committed with `within`)."""
        within.stage(self.entry_op(entry))

    def for_referral(
        self, referral_id: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[AuditEntry], str | None]:
        page = self._table.query(f"AUDIT#{referral_id}", limit=limit, cursor=cursor)
        return [from_item(AuditEntry, item) for item in page.items], page.cursor

    def for_program(
        self, program_id: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[AuditEntry], str | None]:
        page = merged_page(
            self._table,
            keys.program_audit_shards(program_id),
            index="gsi1",
            limit=limit,
            cursor=cursor,
        )
        return [from_item(AuditEntry, item) for item in page.items], page.cursor

    def global_entries(
        self, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[AuditEntry], str | None]:
        """Entries of neither a referral nor a program, oldest first."""
        page = self._table.query(GLOBAL_SUBJECT, limit=limit, cursor=cursor)
        return [from_item(AuditEntry, item) for item in page.items], page.cursor
