"""An in-memory blocklist for unit tests, the backtest and the time before a real one exists."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.ports import BlockEntry, BlockKind


@dataclass
class MemoryBlocklist:
    entries: dict[tuple[str, str], BlockEntry] = field(default_factory=dict)

    def add(self, kind: BlockKind, value_hash: str, reason: str | None = None) -> BlockEntry:
        entry = BlockEntry(
            entry_id=f"blk_{len(self.entries) + 1}", kind=kind, value_hash=value_hash, reason=reason
        )
        self.entries[(kind, value_hash)] = entry
        return entry

    def remove(self, kind: BlockKind, value_hash: str) -> None:
        self.entries.pop((kind, value_hash), None)

    def blocked(self, kind: BlockKind, value_hash: str) -> BlockEntry | None:
        return self.entries.get((kind, value_hash))
