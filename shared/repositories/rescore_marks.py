"""Marking referrals whose feature inputs a write changed, so the hourly re-score reads
only those (plus the holding referrals about to be released).

- `WatchedTable` wraps a `Table`: it notes the reads made while recording (feature
  extraction) and, after each committed write, hands the keys the write changed to its
  listeners. It caches nothing: in a deployed function another process may write at any
  time.
- `FootprintMarker` is such a listener: for each changed key it lists the watchers in a
  `FootprintStore`, keeps those whose read covers the key and whose features the change
  can alter (`change_matters`), and marks them.
- `FootprintTracker` wraps the feature extractor: every extraction's reads (plus the
  referral's own item) become its footprint in the store.

The mark is written after the write commits, so a crash in between loses it. That costs
no payment: the hourly job also re-scores every holding referral whose release falls
before its next run (`RescoreSweep.rescore_unpaid(release_within=...)`), and a referral
is paid only from holding. A review referral is decided by a person, and approving it
puts it back in holding, where the same pre-release check sees it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.domain.referrals import Referral
from shared.pii import PiiHasher
from shared.repositories import keys
from shared.repositories.feature_changes import change_matters
from shared.repositories.footprints import (
    FOOTPRINT_LIFETIME,
    FootprintStore,
    MemoryFootprintStore,
    Read,
    TableFootprintStore,
    Watcher,
)
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository
from shared.repositories.scoring_evidence import ScoringEvidence
from shared.scoring.feature_values import Features, FeatureSource
from shared.scoring.features import FeatureExtractor
from shared.storage.table import Check, Item, KeyRange, Page, Put, Table, Update, WriteOp

Change = tuple[str, str, Item | None, Item | None]
Committed = Callable[[], None]


class WriteListener(Protocol):
    def before_write(self, inner: Table, ops: Sequence[WriteOp]) -> Committed:
        """Note what the write may change; the returned call runs once it has committed."""
        ...


def _without_none(value: Any) -> Any:
    """A document as the table stores it: no None values."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


class WatchedTable:
    """A `Table` that reports the reads made while recording and the keys writes change."""

    def __init__(self, inner: Table) -> None:
        self.inner = inner
        # Per thread: the local gateway serves requests on threads that share the wiring.
        self._recording = threading.local()
        self._listeners: list[WriteListener] = []

    @property
    def _reads(self) -> list[Read] | None:
        reads: list[Read] | None = getattr(self._recording, "reads", None)
        return reads

    @_reads.setter
    def _reads(self, reads: list[Read] | None) -> None:
        self._recording.reads = reads

    def listen(self, listener: WriteListener) -> None:
        self._listeners.append(listener)

    @property
    def listeners(self) -> list[WriteListener]:
        return list(self._listeners)

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
        if self._reads is not None:
            self._reads.append(Read(pk, sk=sk))
        return self.inner.get(pk, sk, consistent=consistent)

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
        return self.inner.query(
            pk, index=index, key_range=key_range, forward=forward, limit=limit, cursor=cursor
        )

    def _note_query(self, pk: str, index: str | None, key_range: KeyRange | None) -> None:
        # The upper bound is the `as_of` instant, which the next run moves past: ignored.
        rng = key_range or KeyRange()
        assert self._reads is not None
        self._reads.append(Read(pk, begins_with=rng.begins_with, low=rng.low, index=index))

    def write(self, ops: Sequence[WriteOp]) -> None:
        committed = [listener.before_write(self.inner, ops) for listener in self._listeners]
        self.inner.write(ops)
        self._written(ops)
        for call in committed:
            call()

    def _written(self, ops: Sequence[WriteOp]) -> None:
        """Hook for wrappers that keep state per key."""


class FootprintMarker:
    """Marks the watchers of every key a committed write changed (a `WriteListener`)."""

    def __init__(self, store: FootprintStore, subject: Callable[[str], Referral | None]) -> None:
        self.store = store
        self._subject = subject

    def before_write(self, inner: Table, ops: Sequence[WriteOp]) -> Committed:
        found: dict[str, list[Watcher]] = {}
        changes = [change for op in ops if (change := self._change(inner, op, found))]

        def mark() -> None:
            marks: set[str] = set()
            subjects: dict[str, Referral | None] = {}  # this write only
            for pk, sk, before, after in changes:
                for referral_id, read in found[pk]:
                    if referral_id in marks or not read.covers(sk):
                        continue
                    if referral_id not in subjects:
                        subjects[referral_id] = self._subject(referral_id)
                    subject = subjects[referral_id]
                    if subject is None or change_matters(subject, pk, sk, before, after):
                        marks.add(referral_id)
            if marks:
                self.store.mark(marks)

        return mark

    def _change(self, inner: Table, op: WriteOp, found: dict[str, list[Watcher]]) -> Change | None:
        """The write as (pk, sk, item before, item after); None if no footprint notices it."""
        if isinstance(op, Check):
            return None
        if isinstance(op, Update) and not {"doc", "status"} & {*op.set, *op.remove}:
            return None  # counters beside the document: features read documents and status
        pk, sk = (op.item["pk"], op.item["sk"]) if isinstance(op, Put) else (op.pk, op.sk)
        if not self.store.watched(pk):
            return None
        if pk not in found:
            found[pk] = self.store.watchers(pk)
        if not found[pk]:
            return None
        if not isinstance(op, Put):
            return (pk, sk, None, None)
        before = inner.get(pk, sk)
        after = _without_none(op.item)
        if before is not None and "doc" in after and before.get("doc") == after["doc"]:
            return None  # only counters or keys beside the document moved
        return (pk, sk, before, after)


class FootprintTracker:
    """A `FeatureSource` that leaves each extraction's footprint in a `FootprintStore`,
    and the `RescoreCandidates` of the re-score sweep: referrals whose inputs changed.

    With `listen`, it also marks from the writes through `table` (a replay); a deployed
    function's table marks by itself (`marking_table`)."""

    def __init__(
        self,
        extractor: FeatureSource,
        table: WatchedTable,
        store: FootprintStore | None = None,
        *,
        listen: bool = True,
        lifetime: Callable[[Referral], timedelta] | None = None,
    ) -> None:
        self._extractor = extractor
        self._table = table
        self.store: FootprintStore = store if store is not None else MemoryFootprintStore()
        self._lifetime = lifetime or (lambda _referral: FOOTPRINT_LIFETIME)
        self._subjects: dict[str, Referral] = {}
        self.extractions = 0
        if listen:
            table.listen(FootprintMarker(self.store, self._subject))

    # --- FeatureSource ------------------------------------------------------------------------

    def extract(
        self, referral_id: str, as_of: datetime, referral: Referral | None = None
    ) -> Features:
        self.extractions += 1
        subject = referral or self._read_subject(referral_id)
        lifetime = FOOTPRINT_LIFETIME
        if subject is not None:
            self._subjects[referral_id] = subject
            lifetime = self._lifetime(subject)
        with self._table.recording() as reads:
            try:
                return self._extractor.extract(referral_id, as_of, referral)
            except Exception:
                self.store.mark([referral_id])
                raise
            finally:
                # The referral's own item too: an erasure or a correction changes its inputs.
                pk, sk = keys.referral(referral_id)
                footprint = [*reads, Read(pk, sk=sk)]
                self.store.remember(referral_id, footprint, as_of + lifetime)

    def _subject(self, referral_id: str) -> Referral | None:
        return self._subjects.get(referral_id) or self._read_subject(referral_id)

    def _read_subject(self, referral_id: str) -> Referral | None:
        item = self._table.inner.get(*keys.referral(referral_id))
        return Referral.model_validate(item["doc"]) if item else None

    # --- RescoreCandidates --------------------------------------------------------------------

    def take(self) -> set[str]:
        return self.store.take()

    def start_run(self) -> None:
        self.store.start_run()

    def put_back(self, referral_ids: Iterable[str]) -> None:
        self.store.put_back(referral_ids)

    def forget(self, referral_id: str) -> None:
        self.store.forget(referral_id)


# --- wiring for the deployed functions ------------------------------------------------------


def marking_table(table: Table) -> WatchedTable:
    """`table` for a function that writes: each committed write marks the referrals whose
    footprints it changed (marks and footprints live in `table` itself)."""
    watched = WatchedTable(table)
    referrals = ReferralRepository(table)
    watched.listen(FootprintMarker(TableFootprintStore(table), referrals.get))
    return watched


def tracked_extractor(table: Table, hasher: PiiHasher) -> FootprintTracker:
    """The feature extractor of scoring and re-scoring: it leaves footprints in the table.
    A `marking_table` marks from the writes by itself; any other table is wrapped to
    record reads, and marks nothing."""
    watched = table if isinstance(table, WatchedTable) else WatchedTable(table)
    store = TableFootprintStore(watched.inner)
    lifetime = ProgramLifetime(ProgramRepository(watched.inner))
    extractor = FeatureExtractor(ScoringEvidence(watched), hasher)
    return FootprintTracker(extractor, watched, store, listen=False, lifetime=lifetime)


class ProgramLifetime:
    """How long a referral's watches are kept: past its release under its program's terms
    (a holding period, then a review's timeout should a re-score open one), plus a week.
    A period lengthened later may outlive them; the pre-release re-score covers that.

    Terms are remembered for the life of one tracker: one request, or one hourly run."""

    MARGIN = timedelta(days=7)

    def __init__(self, programs: ProgramRepository) -> None:
        self._programs = programs
        self._known: dict[str, timedelta] = {}

    def __call__(self, referral: Referral) -> timedelta:
        known = self._known.get(referral.program_id)
        if known is None:
            program = self._programs.terms(referral.program_id)
            if program is None:
                return FOOTPRINT_LIFETIME
            days = program.holding_period_days + program.review_timeout_days
            known = self._known[referral.program_id] = timedelta(days=days) + self.MARGIN
        return known


def table_rescore_candidates(table: Table) -> TableFootprintStore:
    """The marks one run of the hourly job takes. On a `marking_table` it is the store its
    writes mark, so the run picks up what its own re-scores mark, as a full run would;
    on any other table the run's own marks wait for the next run."""
    if not isinstance(table, WatchedTable):
        return TableFootprintStore(table)
    for listener in table.listeners:
        if isinstance(listener, FootprintMarker) and isinstance(
            listener.store, TableFootprintStore
        ):
            return listener.store
    return TableFootprintStore(table.inner)
