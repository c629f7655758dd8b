"""Blocklist entries, and the table-backed adapter of the scoring `Blocklist` port."""

from __future__ import annotations

from shared.atomic_changes import Changes
from shared.clock import iso
from shared.domain.blocklist import AlreadyBlocked, BlocklistEntry, NoSuchEntry, entry_id
from shared.ports import BlockEntry, BlockKind
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import Delete, Exists, NotExists, Put, Table

__all__ = ["AlreadyBlocked", "BlocklistRepository", "NoSuchEntry", "TableBlocklist"]


class BlocklistRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, entry: BlocklistEntry, *, within: Changes) -> None:
        """Block with `within`; the commit raises `AlreadyBlocked` if the value is blocked."""
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
        within.stage(Put(item, NotExists()), lambda: AlreadyBlocked(entry.entry_id))

    def remove(self, entry_id_: str, *, within: Changes) -> None:
        """Unblock with `within`; the commit raises `NoSuchEntry` if it is gone already."""
        within.stage(Delete(*keys.block_entry(entry_id_), Exists()), lambda: NoSuchEntry(entry_id_))

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
