"""The deployed re-score: writes mark the referrals whose feature inputs they changed, in
the table, and the hourly job reads only those and the ones due for release."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.backtest.ops import parse_lines
from shared.backtest.replay import Backtest
from shared.bootstrap import Services, bootstrap
from shared.domain.referrals import Referral
from shared.domain.referrals import ReferralStatus as S
from shared.repositories import keys
from shared.repositories.footprints import Read, TableFootprintStore
from shared.repositories.rescore_marks import (
    WatchedTable,
    marking_table,
    table_rescore_candidates,
    tracked_extractor,
)
from shared.scoring import rules
from shared.scoring.serving import load_judge
from shared.services.scoring import ScoringService
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Delete, Item, KeyRange, Page, Put, Table, WriteOp
from tests.support import T0
from tests.unit.scoring_support import World, codes

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
HOUR = timedelta(hours=1)


class CountingTable:
    """A `Table` that counts calls by kind, and the referral items read."""

    def __init__(self, inner: Table) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.referrals_read: set[str] = set()

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        self.calls["get"] += 1
        if sk == "REFERRAL":
            self.referrals_read.add(pk.removeprefix("REFERRAL#"))
        return self.inner.get(pk, sk, consistent=consistent)

    def query(self, pk: str, **kwargs: Any) -> Page:
        self.calls["query"] += 1
        return self.inner.query(pk, **kwargs)

    def write(self, ops: Sequence[WriteOp]) -> None:
        self.calls["write"] += 1
        for op in ops:
            self.calls[type(op).__name__.lower()] += 1
        self.inner.write(ops)


def writer(raw: Table) -> World:
    """The object graph of the functions that write (intake, events, reviews, scoring), as
    the deployed wiring builds it: every write marks."""
    live = World(table=marking_table(raw))  # type: ignore[arg-type]
    live.scoring = job(live.table, live)
    live.reviews = bootstrap(table=live.table, clock=live.clock, hasher=live.hasher).reviews_with(
        live.scoring.feature_snapshot
    )
    return live


def _deployed(table: Table, world: World) -> Services:
    """The services as the deployed wiring builds them on `table`: scoring reads through
    the extractor that records what each score read."""
    return bootstrap(
        table=table,
        clock=world.clock,
        hasher=world.hasher,
        blocklist=world.blocklist,
        extractor=tracked_extractor(table, world.hasher),
    )


def job(table: Table, world: World) -> ScoringService:
    """A scoring service as the deployed wiring builds it, on a table of its own."""
    return _deployed(table, world).scoring


def rescore(raw: Table, world: World) -> Any:
    """One run of the hourly job, from a fresh object graph (as a new Lambda would)."""
    table = marking_table(raw)
    return _deployed(table, world).sweep.rescore_unpaid(
        world.clock.now(), table_rescore_candidates(table), release_within=HOUR
    )


def _as_written(lines: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()


# --- the table store ------------------------------------------------------------------------


def test_a_take_hands_out_each_mark_once() -> None:
    # Given two marked referrals
    store = TableFootprintStore(MemoryTable())
    store.mark(["ref_a", "ref_b"])
    # When the job takes them twice
    first, second = store.take(), store.take()
    # Then the second take is empty
    assert (first, second) == ({"ref_a", "ref_b"}, set())


class MarksBeforeEachDelete(CountingTable):
    """A writer that marks a referral again between the job's read and its delete."""

    def write(self, ops: Sequence[WriteOp]) -> None:
        if isinstance(ops[0], Delete):
            TableFootprintStore(self.inner).mark([str(ops[0].sk)])
        super().write(ops)


def test_later_takes_of_a_run_hand_out_the_marks_its_own_writes_made() -> None:
    # Given a run that has taken every mark, and a mark another process makes meanwhile
    raw = MemoryTable()
    store = TableFootprintStore(raw)
    store.mark(["ref_a"])
    assert store.take() == {"ref_a"}
    TableFootprintStore(raw).mark(["ref_other"])
    # When the run's own write marks a referral
    store.mark(["ref_b"])
    # Then its next take hands out that one, and the next run the other's
    assert store.take() == {"ref_b"}
    store.start_run()
    assert store.take() == {"ref_other"}


def test_a_mark_made_while_the_job_takes_is_kept_for_the_next_take() -> None:
    # Given a marked referral
    raw = MemoryTable()
    TableFootprintStore(raw).mark(["ref_a"])
    # When it is marked again while the job takes it
    taken = TableFootprintStore(MarksBeforeEachDelete(raw)).take()
    # Then the new mark survives the take
    assert taken == {"ref_a"}
    assert TableFootprintStore(raw).take() == {"ref_a"}


def test_a_referral_that_read_an_index_is_always_handed_out_until_forgotten() -> None:
    store = TableFootprintStore(MemoryTable())
    store.remember("ref_a", [Read("X", index="gsi1")], expires_at=_far())
    first = store.take()
    store.start_run()
    assert (first, store.take()) == ({"ref_a"}, {"ref_a"})
    store.forget("ref_a")
    store.start_run()
    assert store.take() == set()


def test_watches_name_the_read_that_covers_a_key_and_expire_by_ttl() -> None:
    # Given a referral that read an evidence partition from a lower bound
    raw = MemoryTable()
    store = TableFootprintStore(raw)
    read = Read("EV#device#h1", low="2026-01-01")
    store.remember("ref_a", [read], expires_at=_far())
    # Then the partition's watchers name it with the bound, under a TTL
    assert store.watchers("EV#device#h1") == [("ref_a", read)]
    pk, sk = keys.watch("EV#device#h1", "ref_a", read.digest())
    assert raw.get(pk, sk)["expires_at"] == int(_far().timestamp())  # type: ignore[index]


def test_a_scored_referrals_watches_outlive_its_release_under_its_programs_terms() -> None:
    # Given a program holding 10 days with a 20-day review timeout
    raw = MemoryTable()
    live = writer(raw)
    referral = live.qualify(
        live.refer(live.advocate(live.program(holding_period_days=10, review_timeout_days=20)))
    )
    # Then every watch its scoring left expires 37 days after it was scored
    pk = keys.watch_partitions(keys.referral(referral.referral_id)[0])[0]
    expiries = {item["expires_at"] for item in raw.query(pk).items}
    assert expiries == {int((live.clock.now() + timedelta(days=37)).timestamp())}


def test_remembering_the_same_reads_again_writes_nothing() -> None:
    # Given a referral's footprint in the table
    counted = CountingTable(MemoryTable())
    store = TableFootprintStore(counted)
    reads = [Read("EV#ip#h1"), Read("REFERRAL#ref_a", sk="REFERRAL")]
    store.remember("ref_a", reads, expires_at=_far())
    counted.calls.clear()
    # When a re-score reads the same, and later one more partition
    store.remember("ref_a", reads, expires_at=_far() + timedelta(hours=1))
    same = dict(counted.calls)
    store.remember("ref_a", [*reads, Read("EV#device#h2")], expires_at=_far())
    # Then the first costs one get, the second one watch and the summary
    assert same == {"get": 1}
    assert store.watchers("EV#device#h2") == [("ref_a", Read("EV#device#h2"))]
    assert counted.calls["put"] == 2


def test_program_watches_are_sharded_by_referral() -> None:
    assert len(keys.watch_partitions("PROGRAM#p1")) == keys.WATCH_SHARDS
    assert keys.watch("PROGRAM#p1", "ref_a", "d")[0] in keys.watch_partitions("PROGRAM#p1")
    assert keys.watch_partitions("EV#ip#h") == ["WATCH#EV#ip#h"]


def _far() -> datetime:
    return T0 + timedelta(days=800)


# --- the deployed functions -----------------------------------------------------------------


def _chain(world: World, program: str, names: list[str]) -> list[Referral]:
    """names[0] -> names[1] -> ... -> names[-1], each qualified and scored."""
    advocates = [world.advocate(program, name) for name in names[:-1]]
    referrals = []
    for advocate, referee in zip(advocates, names[1:], strict=True):
        world.later(minutes=10)
        referrals.append(world.qualify(world.refer(advocate, referee)))
    return referrals


def test_marks_written_by_one_function_are_taken_by_the_job_in_another() -> None:
    # Given a -> b and b -> c in holding, written by the writer functions' object graph
    raw = MemoryTable()
    live = writer(raw)
    program = live.program()
    ab, bc = _chain(live, program, ["ma", "mb", "mc"])
    rescore(raw, live)  # what intake and scoring marked
    # When c -> a closes the ring through the writer graph
    live.later(minutes=10)
    c = live.advocate(program, "mc")
    live.qualify(live.refer(c, "ma"))
    # Then the job, built afresh on the same table, finds both edges marked and rejects them
    live.later(hours=1)
    report = rescore(raw, live)
    for referral in (ab, bc):
        stored = live.get(referral)
        assert stored.status == S.REJECTED
        assert rules.RING in codes(stored.risk)
    assert report.moves == {"holding->rejected": 2}


def test_a_mark_lost_after_its_write_is_made_up_for_before_release() -> None:
    # Given a holding referral two hours short of its release
    raw = MemoryTable()
    live = writer(raw)
    program = live.program(holding_period_days=1)
    ab, bc = _chain(live, program, ["la", "lb", "lc"])
    rescore(raw, live)
    # When c -> a closes the ring but its writes leave no marks (a crash after commit)
    unmarked = World(table=raw, clock=live.clock, blocklist=live.blocklist)
    unmarked.hasher = live.hasher
    live.clock.set(bc.qualified_at + timedelta(hours=23, minutes=10))  # type: ignore[operator]
    c = unmarked.advocate(program, "lc")
    unmarked.qualify(unmarked.refer(c, "la"))
    # Then the run before the release re-scores both anyway
    report = rescore(raw, live)
    assert live.get(ab).status == S.REJECTED
    assert live.get(bc).status == S.REJECTED
    assert report.moves == {"holding->rejected": 2}


def test_a_rescore_reads_only_the_marked_referrals_and_those_due_for_release() -> None:
    # Given 5 holding referrals of a program that releases at once (due at every run)
    raw = MemoryTable()
    live = writer(raw)
    due = [live.qualify(live.refer(live.advocate(live.program(holding_period_days=0))))]
    due += [live.qualify(live.refer(live.advocate(live.program(holding_period_days=0))))]
    instant = live.program(holding_period_days=0)
    due += [live.qualify(live.refer(live.advocate(instant))) for _ in range(3)]
    # and 2,000 holding or review referrals of a 14-day program, 3 of which used one tablet
    program = live.program()
    advocates = [live.advocate(program) for _ in range(400)]
    scored: list[Referral] = []
    for n in range(2_000):
        device = "shared-tablet" if n % 700 == 0 else None
        scored.append(live.refer(advocates[n % 400], device=device))
    live.later(hours=2)
    for referral in scored:
        live.buy(referral)
    live.score_queued()
    tablet = {scored[n].referral_id for n in (0, 700, 1_400)}
    assert len(tablet) == 3
    assert {live.get(r).status for r in scored} <= {S.HOLDING, S.REVIEW}
    rescore(raw, live)  # what intake and scoring marked
    # When one new referral from the tablet writes its evidence
    live.later(minutes=20)
    live.refer(live.advocate(program), device="shared-tablet")
    live.later(minutes=30)
    counted = CountingTable(raw)
    report = rescore(counted, live)
    # Then the run examines the 3 tablet referrals and the 5 due ones only
    assert report.examined == 8
    assert tablet | {r.referral_id for r in due} <= counted.referrals_read
    # (the features also read the status of each examined referral's advocate's others)
    assert len(counted.referrals_read) < 50


# --- the replay with the table store --------------------------------------------------------


def test_replaying_with_footprints_in_the_table_decides_as_a_full_rescore() -> None:
    # Given the first two weeks or so of the golden history
    with (GOLDEN / "events.jsonl").open(encoding="utf-8") as handle:
        ops = list(parse_lines(line for _, line in zip(range(400), handle, strict=False)))
    judge = load_judge(ROOT / "models")
    # When it is replayed re-scoring every unpaid referral, and with the deployed job's
    # marks in the table plus the pre-release check
    full = Backtest(judge, incremental=False).run(ops)
    marked = Backtest(
        judge, incremental=True, footprints=TableFootprintStore, release_within=HOUR
    ).run(ops)
    # Then both write the same bytes, and the marked one examines fewer referrals
    assert _as_written(full.lines) == _as_written(marked.lines)
    assert marked.stats["rescore_examined"] < full.stats["rescore_examined"]


def test_watched_table_caches_nothing() -> None:
    # Given a read made while recording
    raw = MemoryTable()
    table = WatchedTable(raw)
    raw.write([Put({"pk": "EV#ip#h", "sk": "1", "v": 1})])
    with table.recording() as reads:
        table.query("EV#ip#h", key_range=KeyRange(high="9"))
    # When another process writes beside it
    raw.write([Put({"pk": "EV#ip#h", "sk": "2", "v": 2})])
    # Then the next read sees the write, and the first read was noted without its upper bound
    with table.recording():
        assert len(table.query("EV#ip#h").items) == 2
    assert reads == [Read("EV#ip#h")]


def test_a_partition_with_many_watchers_is_marked_whole_and_the_job_takes_them_all() -> None:
    # Given more referrals than HOT_WATCHERS that read one /24's partition
    from shared.repositories.footprints import HOT_WATCHERS

    raw = MemoryTable()
    writer = TableFootprintStore(raw)
    read = Read("EV#ip_prefix#busy", low="2026-01-01")
    crowd = {f"ref_{n:03d}" for n in range(HOT_WATCHERS + 6)}
    for referral_id in sorted(crowd):
        writer.remember(referral_id, [read], expires_at=_far())
    # When a write to that partition asks for its watchers, twice
    first, second = writer.watchers("EV#ip_prefix#busy"), writer.watchers("EV#ip_prefix#busy")
    # Then it gets none to mark one by one, and one hot mark stands for them all
    assert first == [] and second == []
    hot = [i for p in keys.hot_partition_mark_shards() for i in raw.query(p).items]
    assert [item["watched"] for item in hot] == ["EV#ip_prefix#busy"]
    # And the job's first take hands out every one of them, once
    job = TableFootprintStore(raw)
    job.start_run()
    assert job.take() == crowd
    job.start_run()
    assert job.take() == set()


def test_a_partition_with_few_watchers_is_marked_referral_by_referral() -> None:
    raw = MemoryTable()
    store = TableFootprintStore(raw)
    read = Read("EV#ip_prefix#quiet", low="2026-01-01")
    store.remember("ref_a", [read], expires_at=_far())
    assert store.watchers("EV#ip_prefix#quiet") == [("ref_a", read)]
    assert all(not raw.query(p).items for p in keys.hot_partition_mark_shards())
