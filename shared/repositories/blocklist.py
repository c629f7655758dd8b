"""Blocklist entries, and the table-backed adapter of the scoring `Blocklist` port."""

from __future__ import annotations

from collections.abc import Sequence

from shared.clock import iso
from shared.domain.blocklist import BlocklistEntry, entry_id
from shared.ports import BlockEntry, BlockKind
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import (
    ConditionFailed,
    Delete,
    Exists,
    NotExists,
    Put,
    Table,
    WriteOp,
)


class AlreadyBlocked(Exception):
    def __init__(self, existing_id: str) -> None:
        super().__init__(existing_id)
        self.entry_id = existing_id


class NoSuchEntry(Exception):
    pass


class BlocklistRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, entry: BlocklistEntry, extra: Sequence[WriteOp] = ()) -> None:
        pk, sk = keys.block_entry(entry.entry_id)
        item = {
            "pk": pk,
            "sk": sk,
            "type": "block",
            "gsi1pk": keys.BLOCKLIST,
            "gsi1sk": f"{iso(entry.created_at)}#{entry.entry_id}",
            "kind": entry.kind,
            "value_hash": entry.value_hash,
            "doc": to_doc(entry),
        }
        try:
            self._table.write([Put(item, NotExists()), *extra])
        except ConditionFailed as exc:
            if exc.index == 0:
                raise AlreadyBlocked(entry.entry_id) from exc
            raise

    def remove(self, entry_id_: str, extra: Sequence[WriteOp] = ()) -> None:
        try:
            self._table.write([Delete(*keys.block_entry(entry_id_), Exists()), *extra])
        except ConditionFailed as exc:
            if exc.index == 0:
                raise NoSuchEntry(entry_id_) from exc
            raise

    def get(self, entry_id_: str) -> BlocklistEntry | None:
        item = self._table.get(*keys.block_entry(entry_id_))
        return from_item(BlocklistEntry, item) if item else None

    def find(self, kind: BlockKind, value_hash: str) -> BlocklistEntry | None:
        return self.get(entry_id(kind, value_hash))

    def page(self, limit: int, cursor: str | None) -> tuple[list[BlocklistEntry], str | None]:
        """Newest first."""
        page = self._table.query(
            keys.BLOCKLIST, index="gsi1", forward=False, limit=limit, cursor=cursor
        )
        return [from_item(BlocklistEntry, item) for item in page.items], page.cursor


class TableBlocklist:
    """`shared.ports.Blocklist` on the table: one strongly consistent read per lookup."""

    def __init__(self, table: Table) -> None:
        self._entries = BlocklistRepository(table)

    def blocked(self, kind: BlockKind, value_hash: str) -> BlockEntry | None:
        entry = self._entries.find(kind, value_hash)
        return entry.as_block() if entry else None
