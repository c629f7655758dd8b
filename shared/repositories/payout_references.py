"""A durable `PayoutReferenceIndex`: which provider order paid which idempotency key.

PayPal cannot be asked "which batch did key K create?", and its duplicate protection
lasts 30 days; past that only this index stands between a retry and a second payment,
so it lives in the table rather than in a function's memory.
"""

from __future__ import annotations

from datetime import datetime

from shared.clock import iso, parse_iso
from shared.repositories import keys
from shared.storage.table import ConditionFailed, KeyRange, NotExists, Put, Table, query_all


class TablePayoutReferences:
    def __init__(self, table: Table, provider: str) -> None:
        self._table = table
        self._provider = provider

    def remember(self, idempotency_key: str, payout_batch_id: str, created_at: datetime) -> None:
        pk, sk = keys.payout_reference(self._provider, idempotency_key)
        item = {
            "pk": pk,
            "sk": sk,
            "type": "payout_reference",
            "gsi1pk": keys.payout_references(self._provider),
            "gsi1sk": f"{iso(created_at)}#{idempotency_key}",
            "reference": payout_batch_id,
            "created_at": iso(created_at),
        }
        try:
            # The first answer wins, as with the provider's own de-duplication.
            self._table.write([Put(item, NotExists())])
        except ConditionFailed:
            return

    def reference_for(self, idempotency_key: str) -> str | None:
        item = self._table.get(*keys.payout_reference(self._provider, idempotency_key))
        return str(item["reference"]) if item else None

    def references_since(self, since: datetime) -> list[str]:
        items = query_all(
            self._table,
            keys.payout_references(self._provider),
            index="gsi1",
            key_range=KeyRange(low=iso(since)),
        )
        ordered = sorted(items, key=lambda item: parse_iso(item["created_at"]))
        return [str(item["reference"]) for item in ordered]
