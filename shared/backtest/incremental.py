"""Re-scoring only what changed, with the same outcome as re-scoring everything.

The hourly job looks at every holding and review referral; almost all of them come out
as they went in, because nothing they depend on changed. A replay of weeks of traffic
runs that job hundreds of times, so here it skips the referrals whose inputs are
provably unchanged:

- `JournalingTable` wraps the replay's table: a `WatchedTable` (it notes which keys each
  feature extraction reads, and tells a listener which keys each committed write
  changed) with a read cache;
- `FootprintTracker` wraps the feature extractor: every extraction leaves a footprint
  (the keys it read, plus the referral's own item) in a `FootprintStore`, and a write to
  a footprint key marks the referral for the next re-score run (`RescoreCandidates`).

The deployed functions use the same tracker and marker with the footprints in the table
(`shared.repositories.rescore_marks`); only the cache is the replay's own.

A referral no write touched would be re-scored to the risk it already has, and a
re-score that changes nothing writes nothing, so leaving it out changes no outcome. The
service re-scores the candidates in the order a full run would and picks up, within the
same run, referrals that a write of that run touches further down the order, exactly as
a full run would see that write. Three rules keep the marks few without losing a change:
a query footprint ignores the query's upper sort-key bound (the bound is the `as_of`
instant, which the next run moves past); a write that leaves an entity's document as it
was (a counter moving beside it) changes nothing the features read; and `change_matters`
(`shared.repositories.feature_changes`) tells which writes to what the features read can
change their result (a new observation far outside a referral's velocity windows, say,
cannot).

Reads made while recording are served from a cache that every write to the key drops.
`tests/unit/test_backtest.py` checks the outcome against full re-scoring.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.repositories.footprints import Read
from shared.repositories.rescore_marks import FootprintTracker, WatchedTable
from shared.storage.table import Item, KeyRange, Page, Put, Table, WriteOp, in_key_range, query_all

__all__ = ["FootprintTracker", "JournalingTable", "Read"]


class JournalingTable(WatchedTable):
    """A `WatchedTable` whose reads made while recording are served from a cache.

    The cache holds items and whole partitions, and every committed write to the key drops
    it: the features of neighbouring referrals read the same partitions over and over. It
    is valid only because the replay is one process that sees every write. Cached items
    are shared, not copied, so they are handed only to read-only readers.
    """

    CACHE_LIMIT = 50_000

    def __init__(self, inner: Table) -> None:
        super().__init__(inner)
        self._items: dict[tuple[str, str], Item | None] = {}
        self._partitions: dict[str, list[Item]] = {}

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        if self._reads is None:
            return self.inner.get(pk, sk, consistent=consistent)
        self._reads.append(Read(pk, sk=sk))
        key = (pk, sk)
        if key not in self._items:
            self._trim()
            self._items[key] = self.inner.get(pk, sk)
        return self._items[key]

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        key_range: KeyRange | None = None,
        forward: bool = True,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        if self._reads is not None:
            self._note_query(pk, index, key_range)
            if index is None and limit is None and cursor is None:
                rows = self._partition(pk)
                found = [row for row in rows if in_key_range(row["sk"], key_range)]
                return Page(items=found if forward else found[::-1], cursor=None)
        return self.inner.query(
            pk, index=index, key_range=key_range, forward=forward, limit=limit, cursor=cursor
        )

    def _partition(self, pk: str) -> list[Item]:
        rows = self._partitions.get(pk)
        if rows is None:
            self._trim()
            rows = self._partitions[pk] = query_all(self.inner, pk)
        return rows

    def _trim(self) -> None:
        if len(self._items) + len(self._partitions) >= self.CACHE_LIMIT:
            self._items.clear()
            self._partitions.clear()

    def _written(self, ops: Sequence[WriteOp]) -> None:
        for op in ops:
            pk, sk = (op.item["pk"], op.item["sk"]) if isinstance(op, Put) else (op.pk, op.sk)
            self._items.pop((pk, sk), None)
            self._partitions.pop(pk, None)
