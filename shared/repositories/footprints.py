"""What each referral's features were computed from, and which referrals to re-score.

A footprint is the set of reads one feature extraction made. A write to a key inside a
referral's footprint may change its features, so the referral is marked for the next
re-score run; a referral no write touched would come out as it went in. Two stores keep
footprints and marks: one in memory for a replay (one process sees every write), one in
the table for the deployed functions (the writer and the hourly job are separate
processes). Both are the re-score job's `RescoreCandidates`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.repositories import keys
from shared.storage.table import (
    ConditionFailed,
    Delete,
    Equals,
    Item,
    NotExists,
    Put,
    Table,
    TransactionConflict,
    Update,
    WriteOp,
    query_all,
)

# A referral stays re-scorable for at most a holding period (365 days at most) plus a
# review (365 days at most) after its last extraction; a month beyond that its watches
# can only mark referrals that are paid or gone, so DynamoDB's TTL removes them. The
# deployed functions keep them for their program's own terms instead (~51 days by
# default rather than 760: watches are ~14 items per scoring).
FOOTPRINT_LIFETIME = timedelta(days=2 * 365 + 30)
# Puts of one footprint go in transactions of this many (DynamoDB allows 100).
_WRITE_CHUNK = 25
# A referral's watches are all written again when their TTL is this much behind.
_REFRESH_SECONDS = 7 * 24 * 3600
# A partition watched by more referrals than this is marked whole, once, instead of
# referral by referral: 8 clients writing referrals from one /24 (256 of them) made every
# write query and mark its 255 neighbours, and the local stack's rate fell to 0.6 of its
# first 500 referrals over 4,000. The job takes every watcher of a hot partition.
HOT_WATCHERS = 64


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

    def digest(self) -> str:
        """A short name of what the read covered, unique among a referral's reads of a pk."""
        text = f"{self.sk}|{self.begins_with}|{self.low}|{self.index}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]


Watcher = tuple[str, Read]


class FootprintStore(Protocol):
    """Footprints by watched partition, and the referrals marked for re-scoring."""

    def remember(self, referral_id: str, reads: Iterable[Read], expires_at: datetime) -> None:
        """The referral's features were computed from `reads` (kept until `expires_at`)."""
        ...

    def watched(self, pk: str) -> bool:
        """Whether a footprint may hold `pk` (cheap: decides whether to list watchers)."""
        ...

    def watchers(self, pk: str) -> list[Watcher]:
        """Every (referral, read) whose footprint holds `pk`."""
        ...

    def marked(self, referral_id: str) -> bool:
        """True if the referral is known to be marked already (False when unknown)."""
        ...

    def mark(self, referral_ids: Iterable[str]) -> None: ...

    def take(self) -> set[str]:
        """Referrals marked since the last take (and those always looked at)."""
        ...

    def start_run(self) -> None:
        """A re-score run begins: its first take reads every mark."""
        ...

    def put_back(self, referral_ids: Iterable[str]) -> None: ...

    def forget(self, referral_id: str) -> None:
        """The referral is past re-scoring for good (paid, reversed or expired)."""
        ...


class MemoryFootprintStore:
    """Footprints and marks of one process that sees every write (a replay)."""

    def __init__(self) -> None:
        self._readers: dict[str, dict[Read, set[str]]] = defaultdict(dict)
        self._dirty: set[str] = set()
        self._unbounded: set[str] = set()  # read an index: always looked at
        self._forgotten: set[str] = set()

    def remember(self, referral_id: str, reads: Iterable[Read], expires_at: datetime) -> None:
        if referral_id in self._forgotten:
            return
        for read in reads:
            if read.index is not None:
                self._unbounded.add(referral_id)
                continue
            self._readers[read.pk].setdefault(read, set()).add(referral_id)

    def watched(self, pk: str) -> bool:
        return pk in self._readers

    def watchers(self, pk: str) -> list[Watcher]:
        readers = self._readers.get(pk, {})
        return [(rid, read) for read, ids in readers.items() for rid in ids - self._dirty]

    def marked(self, referral_id: str) -> bool:
        return referral_id in self._dirty

    def mark(self, referral_ids: Iterable[str]) -> None:
        self._dirty.update(referral_ids)

    def take(self) -> set[str]:
        taken = (self._dirty | self._unbounded) - self._forgotten
        self._dirty = set()
        return taken

    def start_run(self) -> None:
        """Every take sees every mark: nothing to do."""

    def put_back(self, referral_ids: Iterable[str]) -> None:
        self._dirty.update(referral_ids)

    def forget(self, referral_id: str) -> None:
        self._forgotten.add(referral_id)
        self._unbounded.discard(referral_id)
        self._dirty.discard(referral_id)


def _watch_item(pk: str, sk: str, referral_id: str, read: Read, ttl: int) -> Item:
    item: Item = {"pk": pk, "sk": sk, "referral_id": referral_id, "expires_at": ttl}
    for name in ("sk", "begins_with", "low"):
        value = getattr(read, name)
        if value is not None:
            item[f"read_{name}"] = value
    return item


def watchable(pk: str) -> bool:
    """Partitions the table store keeps watches on: those feature extraction reads (the
    evidence index, referrals, advocates, program terms). A read of any other partition
    makes its referral one the job always looks at, so no footprint is ever lost."""
    if pk.startswith(("EV#", "REFERRAL#", "ADVOCATE#")):
        return True
    return pk.startswith("PROGRAM#") and pk.count("#") == 1


class TableFootprintStore:
    """Footprints and marks in the table, shared by every function and the hourly job.

    A watch item per (watched partition, referral, read) under `keys.watch(...)`; a mark
    per referral under `keys.rescore_mark(...)`. Nothing read is cached between calls:
    another process may have written since.
    """

    def __init__(self, table: Table) -> None:
        self._table = table
        # Marks made since the first take of a run (None: no run under way here).
        self._own: set[str] | None = None

    def remember(self, referral_id: str, reads: Iterable[Read], expires_at: datetime) -> None:
        """Write the watches the referral's summary item does not list yet, then the summary.

        A re-score reads what the last score read, so one get replaces ~20 puts; every
        watch is written again once a week to push its TTL forward. Watches go first: a
        summary never lists a watch that is not there (two concurrent remembers may each
        drop the other's new digests from it, which costs only a put next time)."""
        ttl = int(expires_at.timestamp())
        summary_pk, summary_sk = keys.footprint(referral_id)
        summary = self._table.get(summary_pk, summary_sk)
        listed: set[str] = set()
        if summary is not None and int(summary["expires_at"]) >= ttl - _REFRESH_SECONDS:
            listed = set(summary["watches"])
        puts: list[Put] = []
        always = False
        wanted: set[str] = set()
        for read in set(reads):
            if read.index is not None or not watchable(read.pk):
                always = True
                continue
            pk, sk = keys.watch(read.pk, referral_id, read.digest())
            wanted.add(f"{pk}|{sk}")
            if f"{pk}|{sk}" not in listed:
                puts.append(Put(_watch_item(pk, sk, referral_id, read, ttl)))
        puts.sort(key=lambda put: (put.item["pk"], put.item["sk"]))
        self._write_all(puts)
        if puts:
            kept = int(summary["expires_at"]) if summary is not None and listed else ttl
            item = {"pk": summary_pk, "sk": summary_sk, "expires_at": kept}
            self._table.write([Put({**item, "watches": sorted(listed | wanted)})])
        if always:
            self._table.write([self._mark_op(referral_id, always=True)])

    def _write_all(self, ops: Sequence[WriteOp]) -> None:
        for start in range(0, len(ops), _WRITE_CHUNK):
            chunk = ops[start : start + _WRITE_CHUNK]
            try:
                self._table.write(chunk)
            except TransactionConflict:
                for op in chunk:  # the same referral remembered concurrently: puts commute
                    self._table.write([op])

    def watched(self, pk: str) -> bool:
        return watchable(pk)

    def watchers(self, pk: str) -> list[Watcher]:
        """The partition's watchers; none for a hot partition, which is marked whole."""
        found: list[Watcher] = []
        for partition in keys.watch_partitions(pk):
            page = self._table.query(partition, limit=HOT_WATCHERS + 1 - len(found))
            found += [_watcher(pk, item) for item in page.items]
            if len(found) > HOT_WATCHERS or (page.cursor and len(found) == HOT_WATCHERS):
                self._flag_hot(pk)
                return []
        return found

    def _flag_hot(self, pk: str) -> None:
        mark_pk, mark_sk = keys.hot_partition_mark(pk)
        if self._table.get(mark_pk, mark_sk, consistent=False) is not None:
            return  # flagged already: one cheap read instead of a write on every change
        with contextlib.suppress(ConditionFailed):
            item = {"pk": mark_pk, "sk": mark_sk, "watched": pk}
            self._table.write([Put(item, condition=NotExists())])

    def _all_watchers(self, pk: str) -> set[str]:
        return {
            str(item["referral_id"])
            for partition in keys.watch_partitions(pk)
            for item in query_all(self._table, partition)
        }

    def marked(self, referral_id: str) -> bool:
        return False

    def mark(self, referral_ids: Iterable[str]) -> None:
        for referral_id in sorted(set(referral_ids)):
            self._table.write([self._mark_op(referral_id)])
            if self._own is not None:
                self._own.add(referral_id)

    def _mark_op(self, referral_id: str, *, always: bool = False) -> Update:
        pk, sk = keys.rescore_mark(referral_id)
        fields: dict[str, object] = {"referral_id": referral_id}
        if always:
            fields["always"] = True
        # An update, not a put: marking again keeps an `always` mark as it is, and the
        # count lets `take` clear only the marks it has seen.
        return Update(pk, sk, set=fields, add={"marks": 1})

    def take(self) -> set[str]:
        """The first take reads every mark shard; later ones hand out only the marks this
        store made since (the job's own writes, which a full run would see further down
        its order): reading 16 shards after each referral would cost more than the run."""
        if self._own is None:
            self._own = set()
            return self._take_all()
        taken, self._own = self._own, set()
        for referral_id in sorted(taken):
            item = self._table.get(*keys.rescore_mark(referral_id))
            if item is not None:
                self._clear(item)
        return taken

    def start_run(self) -> None:
        """The next take reads every shard again (one hourly run begins)."""
        self._own = None

    def _take_all(self) -> set[str]:
        taken: set[str] = set()
        for partition in keys.rescore_mark_shards():
            for item in query_all(self._table, partition):
                taken.add(str(item["referral_id"]))
                self._clear(item)
        for partition in keys.hot_partition_mark_shards():
            for item in query_all(self._table, partition):
                # Cleared first: a change after this read flags the partition again.
                self._table.write([Delete(item["pk"], item["sk"])])
                taken |= self._all_watchers(str(item["watched"]))
        return taken

    def _clear(self, item: Item) -> None:
        if item.get("always"):
            return
        seen = Equals("marks", item["marks"])
        # Marked again since it was read: the mark stays for the next take.
        with contextlib.suppress(ConditionFailed):
            self._table.write([Delete(item["pk"], item["sk"], seen)])

    def put_back(self, referral_ids: Iterable[str]) -> None:
        for referral_id in sorted(set(referral_ids)):
            self._table.write([self._mark_op(referral_id)])  # for the next run

    def forget(self, referral_id: str) -> None:
        # Its watches expire by TTL; a write that still marks it costs the job one read.
        self._table.write([Delete(*keys.rescore_mark(referral_id))])
        if self._own is not None:
            self._own.discard(referral_id)


def _watcher(pk: str, item: Item) -> Watcher:
    read = Read(
        pk,
        sk=item.get("read_sk"),
        begins_with=item.get("read_begins_with"),
        low=item.get("read_low"),
    )
    return (str(item["referral_id"]), read)
