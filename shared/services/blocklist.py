"""Blocking advocates, email domains, devices, IPs and payment fingerprints.

Raw values are hashed on the way in and never stored: an entry keeps the keyed hash scoring
matches on and a masked hint for people. Every change is audited in the same transaction.
"""

from __future__ import annotations

from typing import Any

from shared.clock import Clock
from shared.domain.audit import AuditEntry
from shared.domain.blocklist import (
    BlocklistEntry,
    InvalidBlockValue,
    entry_id,
    hint,
    value_hash,
)
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.ids import new_id
from shared.pii import PiiHasher
from shared.ports import BlockKind
from shared.repositories.audit import AuditLog
from shared.repositories.blocklist import AlreadyBlocked, BlocklistRepository, NoSuchEntry
from shared.storage.table import Table


def _public(entry: BlocklistEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "kind": entry.kind,
        "value_hash": entry.value_hash,
        "hint": entry.hint,
    }


class BlocklistService:
    def __init__(self, table: Table, clock: Clock, hasher: PiiHasher) -> None:
        self._entries = BlocklistRepository(table)
        self._audit = AuditLog(table)
        self._clock = clock
        self._hasher = hasher

    def add(self, kind: BlockKind, value: str, note: str | None, actor: str) -> BlocklistEntry:
        try:
            hashed = value_hash(self._hasher, kind, value)
            masked = hint(kind, value)
        except InvalidBlockValue as exc:
            raise InvalidRequest.field("value", str(exc), "invalid_value") from exc
        now = self._clock.now()
        entry = BlocklistEntry(
            entry_id=entry_id(kind, hashed),
            kind=kind,
            value_hash=hashed,
            hint=masked,
            note=note,
            created_by=actor,
            created_at=now,
        )
        audit = AuditEntry(
            entry_id=new_id("aud"),
            at=now,
            actor=actor,
            action="blocklist.added",
            after=_public(entry),
            note=note,
        )
        try:
            self._entries.add(entry, [self._audit.entry_op(audit)])
        except AlreadyBlocked as exc:
            raise Conflict(f"this {kind} is already blocked (entry {exc.entry_id})") from exc
        return entry

    def list(self, limit: int, cursor: str | None) -> tuple[list[BlocklistEntry], str | None]:
        return self._entries.page(limit, cursor)

    def remove(self, entry_id_: str, actor: str) -> BlocklistEntry:
        entry = self._entries.get(entry_id_)
        if entry is None:
            raise NotFound(f"no blocklist entry {entry_id_}")
        audit = AuditEntry(
            entry_id=new_id("aud"),
            at=self._clock.now(),
            actor=actor,
            action="blocklist.removed",
            before=_public(entry),
        )
        try:
            self._entries.remove(entry_id_, [self._audit.entry_op(audit)])
        except NoSuchEntry as exc:
            raise NotFound(f"no blocklist entry {entry_id_}") from exc
        return entry
