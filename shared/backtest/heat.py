"""Hot keys: a history replayed with time compressed to 1,000 referrals a second, metered
the way DynamoDB bills it, per partition key of the table and of each index.

DynamoDB serves at most 1,000 WCU/s and 3,000 RCU/s on one partition key (a key is never
split across partitions), so a key that a share of every referral writes caps the whole
product. `MeteringTable` wraps the replay's table and counts, per (second, index, key):

- a write: ceil(item size / 1 KB) WCU, twice inside a transaction; an update or delete is
  billed on the larger of the item before and after; plus, per index the item is in
  before or after, one ordinary write of ceil(size / 1 KB) on the index key (two when an
  update moves it from one index key to another: a delete and a put);
- a read: ceil(size / 4 KB) RCU strongly consistent (the base table), half of it
  eventually consistent (indexes); a query sums its items' sizes, then rounds, at least 1;
- an item's size: the lengths of its attribute names and values (DynamoDB's rule: a
  number ~ half its digits plus one, a map or list 3 bytes plus its elements).

Requests (intake, events, refunds, review decisions, the scoring queue consumer) fall in
seconds of the compressed clock. A scheduled job runs at its own pace, not the traffic's:
one worker issuing one table call after another, `JOB_CALLS_PER_SECOND` of them a second
(~10 ms a call), so its seconds are counted by its own calls. A key's peak is its busiest
request second plus its busiest job second (as if they coincided: an upper bound).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.backtest.ops import Op, read_ops
from shared.backtest.replay import Backtest
from shared.http.idempotency import record_key
from shared.repositories.footprints import TableFootprintStore
from shared.storage.memory_table import MemoryTable
from shared.storage.table import (
    INDEX_KEYS,
    Check,
    Delete,
    Item,
    KeyRange,
    Page,
    Put,
    Table,
    Update,
    WriteOp,
)

REFERRALS_PER_SECOND = 1_000
# As the deployed rescore job: referrals due for release before its next run are checked.
RELEASE_WITHIN = timedelta(hours=1)
WCU_LIMIT = 1_000
RCU_LIMIT = 3_000
JOB_CALLS_PER_SECOND = 100
INDEXES = ("base", "gsi1", "gsi2")
# Operations that arrive as a POST, each with an Idempotency-Key record.
_POSTS = frozenset({"program", "advocate", "referral", "event", "refund", "review"})


def value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | Decimal | float):
        digits = len(str(value).lstrip("-").replace(".", ""))
        return 1 + math.ceil(digits / 2)
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + value_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(value_size(v) for v in value)
    return len(str(value).encode())


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _read_units(size: int, strongly: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if strongly else units / 2


def _index_key(item: Item | None, index: str) -> str | None:
    pk_name, sk_name = INDEX_KEYS[None if index == "base" else index]
    if item is None or pk_name not in item or sk_name not in item:
        return None
    return str(item[pk_name])


Bucket = tuple[str, ...]
Usage = dict[Bucket, dict[tuple[str, str, str], float]]  # bucket -> (unit, index, key)


class MeteringTable:
    """A `Table` that bills every call to the bucket `bucket()` names."""

    def __init__(self, inner: Table, bucket: Callable[[], Bucket]) -> None:
        self.inner = inner
        self.bucket = bucket
        self.usage: Usage = defaultdict(lambda: defaultdict(float))
        self.calls = 0

    def _bill(self, unit: str, index: str, key: str, amount: float) -> None:
        self.usage[self.bucket()][(unit, index, key)] += amount

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        found = self.inner.get(pk, sk, consistent=consistent)
        self._bill("RCU", "base", pk, _read_units(item_size(found), strongly=consistent))
        self.calls += 1
        return found

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
        page = self.inner.query(
            pk, index=index, key_range=key_range, forward=forward, limit=limit, cursor=cursor
        )
        size = sum(item_size(item) for item in page.items)
        self._bill("RCU", index or "base", pk, _read_units(size, strongly=index is None))
        self.calls += 1
        return page

    def write(self, ops: Sequence[WriteOp]) -> None:
        before = {_key(op): self.inner.get(*_key(op)) for op in ops}
        self.inner.write(ops)
        self.calls += 1
        factor = 2 if len(ops) > 1 else 1
        for op in ops:
            old, new = before[_key(op)], self.inner.get(*_key(op))
            size = max(item_size(old), item_size(new), 1)
            self._bill("WCU", "base", _key(op)[0], factor * _write_units(size))
            if isinstance(op, Check):
                continue
            for index in ("gsi1", "gsi2"):
                was, now = _index_key(old, index), _index_key(new, index)
                if was is not None and was != now:
                    self._bill("WCU", index, was, _write_units(item_size(old)))
                if now is not None:
                    self._bill("WCU", index, now, _write_units(item_size(new)))


def _key(op: WriteOp) -> tuple[str, str]:
    if isinstance(op, Put):
        return (op.item["pk"], op.item["sk"])
    assert isinstance(op, Update | Delete | Check)
    return (op.pk, op.sk)


@dataclass
class KeyPeak:
    index: str
    key: str
    wcu: float
    rcu: float

    @property
    def load(self) -> float:
        """The share of the per-key limit used: above 1 the key is throttled."""
        return max(self.wcu / WCU_LIMIT, self.rcu / RCU_LIMIT)


@dataclass
class HeatReport:
    referrals: int
    compression: float  # compressed seconds per simulated second
    peaks: list[KeyPeak] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(peak.load <= 1 for peak in self.peaks)

    def top(self, index: str, count: int = 5) -> list[KeyPeak]:
        rows = [p for p in self.peaks if p.index == index]
        return sorted(rows, key=lambda p: (-p.load, p.key))[:count]


class _HeatBacktest(Backtest):
    """The replay with its jobs told apart from requests, for the meter's buckets."""

    def __init__(self, model: Any, inner: MemoryTable, compression: float) -> None:
        self.meter = MeteringTable(inner, self._bucket)
        self._compression = compression
        self._start: datetime | None = None
        self._job: str | None = None
        self._job_runs = 0
        self._job_first_call = 0
        # Footprints and marks kept in the table, as the deployed functions keep them, so
        # their watch and mark items are metered too.
        super().__init__(
            model,
            table=inner,
            outer=self._metered,
            footprints=lambda _: TableFootprintStore(self.meter),
            release_within=RELEASE_WITHIN,
        )

    def _metered(self, table: Table) -> Table:
        self.meter.inner = table
        return self.meter

    def _bucket(self) -> Bucket:
        if self._job is not None:
            second = (self.meter.calls - self._job_first_call) // JOB_CALLS_PER_SECOND
            return ("job", self._job, str(self._job_runs), str(second))
        start = self._start or self.clock.now()
        elapsed = (self.clock.now() - start).total_seconds()
        return ("request", str(math.floor(elapsed * self._compression)))

    def _timed(self, name: str, job: Any) -> None:
        self._job, self._job_runs, self._job_first_call = name, self._job_runs + 1, self.meter.calls
        try:
            super()._timed(name, job)
        finally:
            self._job = None

    def apply(self, op: Op) -> None:
        if self._start is None:
            self._start = op.at
        if op.op in _POSTS:
            self._run_jobs_until(op.at)
            self.clock.set(op.at)
            self._idempotency_record(op)
        super().apply(op)

    def _idempotency_record(self, op: Op) -> None:
        """What the HTTP layer writes for a POST: an in-progress record, then its result."""
        digest = hashlib.md5(f"{op.line}:{op.op}".encode(), usedforsecurity=False).hexdigest()
        pk, sk = record_key(f"rewards-api.execute#{digest}")
        body = json.dumps(op.body, sort_keys=True, default=str)
        record = {"pk": pk, "sk": sk, "expires_at": 1, "status": "INPROGRESS", "validation": sk}
        self.table.write([Put(record)])
        self.table.write([Update(pk, sk, set={"status": "COMPLETED", "data": body})])


def run_heat(events_path: Path, models: Path | None = Path("models")) -> HeatReport:
    from shared.scoring.serving import load_judge

    ops = read_ops(events_path)
    referral_times = [op.at for op in ops if op.op == "referral"]
    span = (max(referral_times) - min(referral_times)).total_seconds() if referral_times else 0
    compression = len(referral_times) / REFERRALS_PER_SECOND / span if span else 1.0
    judge = load_judge(models) if models is not None else None
    replay = _HeatBacktest(judge, MemoryTable(), compression)
    replay.run(ops)
    return HeatReport(len(referral_times), compression, _peaks(replay.meter.usage))


def _peaks(usage: Usage) -> list[KeyPeak]:
    best: dict[tuple[str, str, str, str], float] = defaultdict(float)  # kind, unit, index, key
    for bucket, units in usage.items():
        kind = bucket[0]
        for (unit, index, key), amount in units.items():
            slot = (kind, unit, index, key)
            best[slot] = max(best[slot], amount)
    totals: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (_kind, unit, index, key), amount in best.items():
        totals[(index, key)][unit] += amount
    return [
        KeyPeak(index, key, units.get("WCU", 0.0), units.get("RCU", 0.0))
        for (index, key), units in totals.items()
    ]


def heat_figures(events_path: Path | str) -> list[dict[str, Any]]:
    """The hottest key of the table and of each index, as bench figures."""
    report = run_heat(Path(events_path))
    figures: list[dict[str, Any]] = []
    for index in INDEXES:
        rows = [p for p in report.peaks if p.index == index]
        for unit, goal in (("WCU", WCU_LIMIT), ("RCU", RCU_LIMIT)):

            def units(peak: KeyPeak, unit: str = unit) -> float:
                return peak.wcu if unit == "WCU" else peak.rcu

            hottest = max(rows, key=units, default=None)
            value = round(units(hottest), 1) if hottest else 0.0
            where = f" ({hottest.key})" if hottest else ""
            figures.append(
                {
                    "name": f"heat {index} peak {unit}/s on one key{where}",
                    "value": value,
                    "unit": f"{unit}/s",
                    "goal": goal,
                    "met": value <= goal,
                }
            )
    return figures


def report_lines(report: HeatReport, count: int = 5) -> Iterator[str]:
    yield (
        f"heat: {report.referrals} referrals at {REFERRALS_PER_SECOND}/s "
        f"(time x{report.compression:.6g}); limits {WCU_LIMIT} WCU/s, {RCU_LIMIT} RCU/s a key"
    )
    for index in INDEXES:
        yield f"{index}:"
        for peak in report.top(index, count):
            met = "met" if peak.load <= 1 else "EXCEEDED"
            yield f"  {peak.wcu:9.1f} WCU/s {peak.rcu:9.1f} RCU/s  {met:8}  {peak.key}"
