"""Program counters for the stats endpoint, maintained by the writers that change the figures.

Each writer adds `ProgramCounters.add_op(...)` to the transaction that makes the change, so a
counter moves exactly when its fact does. Counters live on a few shard items beside the
program (not on the program item), so busy intake does not serialise on one item and does
not conflict with the ledger's budget updates; reading the stats is one read of each shard.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal

from shared.atomic_changes import Changes
from shared.domain.counters import Counter, paid_amount, paid_count, with_variant
from shared.repositories import keys
from shared.storage.table import Table, Update

__all__ = ["Counter", "ProgramCounters", "paid_amount", "paid_count"]


class ProgramCounters:
    def __init__(self, table: Table) -> None:
        self._table = table

    @staticmethod
    def add_op(
        program_id: str,
        deltas: Mapping[str, Decimal | int],
        shard: int | None = None,
        variant: str | None = None,
    ) -> Update:
        """ADD the deltas on one shard; put it in the same transaction as the change. With
        `variant`, the same deltas are added to the variant's figures on that shard too."""
        if variant is not None:
            deltas = with_variant(deltas, variant)
        number = shard if shard is not None else random.randrange(keys.STATS_SHARDS)
        pk, sk = keys.program_stats(program_id, number % keys.STATS_SHARDS)
        return Update(
            pk,
            sk,
            add={str(name): delta for name, delta in deltas.items()},
            set={"type": "stats"},
        )

    @staticmethod
    def count(
        program_id: str,
        deltas: Mapping[str, Decimal | int],
        *,
        within: Changes,
        variant: str | None = None,
    ) -> None:
        """Add `deltas` to the program's figures (and `variant`'s), with the change they
        count."""
        within.stage(ProgramCounters.add_op(program_id, deltas, variant=variant))

    def totals(self, program_id: str) -> dict[str, Decimal]:
        sums: dict[str, Decimal] = {}
        shards = (keys.program_stats(program_id, n) for n in range(keys.STATS_SHARDS))
        for item in filter(None, (self._table.get(*key) for key in shards)):
            for name, value in item.items():
                if name in ("pk", "sk", "type") or not isinstance(value, (Decimal, int)):
                    continue
                sums[name] = sums.get(name, Decimal(0)) + Decimal(value)
        return sums
