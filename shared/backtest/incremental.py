"""Re-scoring only what changed, with the same outcome as re-scoring everything.

The hourly job looks at every holding and review referral; almost all of them come out
as they went in, because nothing they depend on changed. A replay of weeks of traffic
runs that job hundreds of times, so here it skips the referrals whose inputs are
provably unchanged:

- `JournalingTable` wraps the replay's table: it notes which keys each feature
  extraction reads, and tells a listener which keys each committed write changed;
- `FootprintTracker` wraps the feature extractor: every extraction leaves a footprint
  (the keys it read, plus the referral's own item), and a write to a footprint key marks
  the referral for the next re-score run (`RescoreCandidates`).

A referral no write touched would be re-scored to the risk it already has, and a
re-score that changes nothing writes nothing, so leaving it out changes no outcome. The
service re-scores the candidates in the order a full run would and picks up, within the
same run, referrals that a write of that run touches further down the order, exactly as
a full run would see that write. Three rules keep the marks few without losing a change:
a query footprint ignores the query's upper sort-key bound (the bound is the `as_of`
instant, which the next run moves past); a write that leaves an entity's document as it
was (a counter moving beside it) changes nothing the features read; and the extractor's
own `change_matters` tells which writes to what it read can change its result (a new
observation far outside a referral's velocity windows, say, cannot).

Reads made while recording are served from a cache that every write to the key drops.
`tests/unit/test_backtest.py` checks the outcome against full re-scoring.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.referrals import Referral
from shared.repositories import keys
from shared.scoring.features import Features, change_matters
from shared.services.scoring import FeatureSource
from shared.storage.table import (
    Check,
    Item,
    KeyRange,
    Page,
    Put,
    Table,
    Update,
    WriteOp,
    in_key_range,
    query_all,
)


@dataclass(frozen=True)
class Read:
    """What one read covered: a single item, or a partition from a sort-key lower bound."""

    pk: str
    sk: str | None = None  # a get
    begins_with: str | None = None  # a query
    low: str | None = None
    index: str | None = None

    def covers(self, sk: str) -> bool:
        if self.sk is not None:
            return sk == self.sk
        if self.begins_with is not None and not sk.startswith(self.begins_with):
            return False
        return self.low is None or sk >= self.low


Change = tuple[str, str, Item | None, Item | None]


def _without_none(value: Any) -> Any:
    """A document as the table stores it: no None values."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


class JournalingTable:
    """A `Table` that reports the reads made while recording and the keys writes change.

    Reads made while recording (feature extraction, which only reads) are served from a
    cache of items and whole partitions that every committed write to the key drops: the
    features of neighbouring referrals read the same partitions over and over. Cached
    items are shared, not copied, so they are handed only to those read-only readers.
    """

    CACHE_LIMIT = 50_000

    def __init__(self, inner: Table) -> None:
        self.inner = inner
        self._reads: list[Read] | None = None
        self._listeners: list[Callable[[str, str, Item | None, Item | None], None]] = []
        self._watched: Callable[[str], bool] = lambda _pk: True
        self._items: dict[tuple[str, str], Item | None] = {}
        self._partitions: dict[str, list[Item]] = {}

    def listen(
        self,
        on_change: Callable[[str, str, Item | None, Item | None], None],
        watched: Callable[[str], bool],
    ) -> None:
        self._listeners.append(on_change)
        self._watched = watched

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Read]]:
        outer = self._reads
        reads: list[Read] = []
        self._reads = reads
        try:
            yield reads
        finally:
            self._reads = outer
            if outer is not None:
                outer.extend(reads)

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
            rng = key_range or KeyRange()
            self._reads.append(Read(pk, begins_with=rng.begins_with, low=rng.low, index=index))
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

    def write(self, ops: Sequence[WriteOp]) -> None:
        changes = [change for op in ops if (change := self._change(op)) is not None]
        self.inner.write(ops)
        for op in ops:
            pk, sk = (op.item["pk"], op.item["sk"]) if isinstance(op, Put) else (op.pk, op.sk)
            self._items.pop((pk, sk), None)
            self._partitions.pop(pk, None)
        for change in changes:
            for listener in self._listeners:
                listener(*change)

    def _change(self, op: WriteOp) -> Change | None:
        """The write as (pk, sk, item before, item after); None if nobody can notice it."""
        if isinstance(op, Check):
            return None
        if isinstance(op, Put):
            pk, sk = op.item["pk"], op.item["sk"]
            if not self._watched(pk):
                return None
            before = self.inner.get(pk, sk)
            after = _without_none(op.item)
            if before is not None and "doc" in after and before.get("doc") == after["doc"]:
                return None  # only counters or keys beside the document moved
            return (pk, sk, before, after)
        if not self._watched(op.pk):
            return None
        if isinstance(op, Update) and not {"doc", "status"} & {*op.set, *op.remove}:
            return None
        return (op.pk, op.sk, None, None)


class FootprintTracker:
    """A `FeatureSource` that remembers what each referral's features were computed from,
    and the `RescoreCandidates` of the scoring service: referrals whose inputs changed."""

    def __init__(self, extractor: FeatureSource, table: JournalingTable) -> None:
        self._extractor = extractor
        self._table = table
        self._readers: dict[str, dict[Read, set[str]]] = defaultdict(dict)
        self._dirty: set[str] = set()
        self._unbounded: set[str] = set()  # read an index: always looked at
        self._forgotten: set[str] = set()
        self._subjects: dict[str, Referral] = {}
        self.extractions = 0
        table.listen(self._changed, lambda pk: pk in self._readers)

    # --- FeatureSource ------------------------------------------------------------------------

    def extract(
        self, referral_id: str, as_of: datetime, referral: Referral | None = None
    ) -> Features:
        self.extractions += 1
        subject = referral or self._subject(referral_id)
        if subject is not None:
            self._subjects[referral_id] = subject
        with self._table.recording() as reads:
            try:
                return self._extractor.extract(referral_id, as_of, referral)
            except Exception:
                self._dirty.add(referral_id)
                raise
            finally:
                # The referral's own item too: an erasure or a correction changes its inputs.
                pk, sk = keys.referral(referral_id)
                self._remember(referral_id, [*reads, Read(pk, sk=sk)])

    def _remember(self, referral_id: str, reads: Iterable[Read]) -> None:
        if referral_id in self._forgotten:
            return
        for read in reads:
            if read.index is not None:
                self._unbounded.add(referral_id)
                continue
            self._readers[read.pk].setdefault(read, set()).add(referral_id)

    def _subject(self, referral_id: str) -> Referral | None:
        item = self._table.inner.get(*keys.referral(referral_id))
        return Referral.model_validate(item["doc"]) if item else None

    def _changed(self, pk: str, sk: str, before: Item | None, after: Item | None) -> None:
        for read, referral_ids in self._readers.get(pk, {}).items():
            if not read.covers(sk):
                continue
            for referral_id in referral_ids - self._dirty:
                subject = self._subjects.get(referral_id)
                if subject is None or change_matters(subject, pk, sk, before, after):
                    self._dirty.add(referral_id)

    # --- RescoreCandidates --------------------------------------------------------------------

    def take(self) -> set[str]:
        taken = (self._dirty | self._unbounded) - self._forgotten
        self._dirty = set()
        return taken

    def put_back(self, referral_ids: Iterable[str]) -> None:
        self._dirty.update(referral_ids)

    def forget(self, referral_id: str) -> None:
        self._forgotten.add(referral_id)
        self._unbounded.discard(referral_id)
        self._dirty.discard(referral_id)
