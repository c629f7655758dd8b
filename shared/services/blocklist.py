"""Blocking advocates, email domains, devices, IPs and payment fingerprints.

Raw values are hashed on the way in and never stored: an entry keeps the keyed hash scoring
matches on and a masked hint for people. Every change is audited in the same transaction.
"""

from __future__ import annotations

from typing import Any, Protocol

from shared.atomic_changes import Changes, UnitOfWork
from shared.clock import Clock
from shared.domain.audit import AuditEntry
from shared.domain.blocklist import (
    AlreadyBlocked,
    BlocklistEntry,
    InvalidBlockValue,
    NoSuchEntry,
    entry_id,
    hint,
    value_hash,
)
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.pii import PiiHasher
from shared.ports import BlockKind
from shared.services.stores import Audit


class Entries(Protocol):
    def add(self, entry: BlocklistEntry, *, within: Changes) -> None: ...
    def remove(self, entry_id_: str, *, within: Changes) -> None: ...
    def get(self, entry_id_: str) -> BlocklistEntry | None: ...
    def page(self, limit: int, cursor: str | None) -> tuple[list[BlocklistEntry], str | None]: ...


def _public(entry: BlocklistEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "kind": entry.kind,
        "value_hash": entry.value_hash,
        "hint": entry.hint,
    }


class BlocklistService:
    def __init__(
        self,
        *,
        entries: Entries,
        audit: Audit,
        units: UnitOfWork,
        clock: Clock,
        hasher: PiiHasher,
    ) -> None:
        self._entries = entries
        self._audit = audit
        self._units = units
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
        audit = AuditEntry.record(now, actor, "blocklist.added", after=_public(entry), note=note)
        changes = self._units.begin()
        self._entries.add(entry, within=changes)
        self._audit.append(audit, within=changes)
        try:
            changes.commit()
        except AlreadyBlocked as exc:
            raise Conflict(f"this {kind} is already blocked (entry {exc.entry_id})") from exc
        return entry

    def list(self, limit: int, cursor: str | None) -> tuple[list[BlocklistEntry], str | None]:
        return self._entries.page(limit, cursor)

    def remove(self, entry_id_: str, actor: str) -> BlocklistEntry:
        entry = self._entries.get(entry_id_)
        if entry is None:
            raise NotFound(f"no blocklist entry {entry_id_}")
        audit = AuditEntry.record(
            self._clock.now(), actor, "blocklist.removed", before=_public(entry)
        )
        changes = self._units.begin()
        self._entries.remove(entry_id_, within=changes)
        self._audit.append(audit, within=changes)
        try:
            changes.commit()
        except NoSuchEntry as exc:
            raise NotFound(f"no blocklist entry {entry_id_}") from exc
        return entry
