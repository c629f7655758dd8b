"""Monthly caps on a program: counted by the release's calendar month (UTC), deferred to
the next month or refused, and never exceeded by parallel releases."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.domain.referrals import ReferralStatus
from shared.repositories.audit import AuditLog
from shared.repositories.period_counters import PeriodCounters
from shared.services.release import HOLD_MONTHLY_CAP
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Update, WriteOp
from tests.unit.rewards.conftest import World

NOVEMBER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LAST_INSTANT_OF_NOVEMBER = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def capped(world: World, over_cap: str, **caps: Any) -> str:
    """A program paying $10 to each side, with the given monthly caps."""
    return world.program(tiers=[], per_advocate_cap=None, caps={"over_cap": over_cap, **caps})


def audit_of(world: World, referral_id: str, action: str) -> list[Any]:
    entries, _ = AuditLog(world.table).for_referral(referral_id, limit=100)
    return [e for e in entries if e.action == action]


def month_spent(world: World, program_id: str, advocate_id: str, month: str) -> Any:
    return PeriodCounters(world.table).spent(program_id, advocate_id, month)


def test_a_referral_over_the_programs_month_waits_held_for_the_next_month(world: World) -> None:
    # Given a program releasing at most $20 a month, and two referrals of $20 each
    program_id = capped(world, "defer", program_per_month=usd("20.00"))
    first = world.approved(program_id, world.advocate(program_id)[1])
    second = world.approved(program_id, world.advocate(program_id)[1])

    # When both are due in November
    released = world.release.release(first, NOVEMBER)
    deferred = world.release.release(second, NOVEMBER)

    # Then the second stays holding, saying why, until the first run in December
    assert (released.result, deferred.result) == ("released", "held")
    assert deferred.reason == HOLD_MONTHLY_CAP
    referral = world.referral_repo.get(second)
    assert referral is not None and referral.hold_reason == HOLD_MONTHLY_CAP
    assert world.release.release(second, LAST_INSTANT_OF_NOVEMBER).result == "held"
    assert world.release.release(second, DECEMBER).result == "released"
    assert world.status(second) == ReferralStatus.REWARDING


def test_the_release_job_picks_a_deferred_referral_up_in_the_next_month(world: World) -> None:
    # Given an advocate allowed $10 a month, with two referrals due
    program_id = capped(world, "defer", per_advocate_per_month=usd("10.00"))
    advocate_id, code = world.advocate(program_id)
    referral_ids = [world.approved(program_id, code) for _ in range(2)]

    # When the release job runs in November, and again in December
    november = world.release.run(NOVEMBER)
    december = world.release.run(DECEMBER)

    # Then one goes out in each month, and each month counted $10 for the advocate
    assert len(november.released) == 1 and list(november.held.values()) == [HOLD_MONTHLY_CAP]
    assert december.released == list(november.held)
    assert {world.status(r) for r in referral_ids} == {ReferralStatus.REWARDING}
    for month in ("2026-11", "2026-12"):
        assert month_spent(world, program_id, advocate_id, month).advocate == Decimal("10.00")


def test_a_deferral_is_noted_once_in_the_audit_trail(world: World) -> None:
    program_id = capped(world, "defer", program_per_month=usd("20.00"))
    world.release.release(world.approved(program_id, world.advocate(program_id)[1]), NOVEMBER)
    second = world.approved(program_id, world.advocate(program_id)[1])

    for _ in range(3):
        world.release.release(second, NOVEMBER)

    notes = audit_of(world, second, "referral.release_held")
    assert len(notes) == 1
    assert notes[0].details == {"month": "2026-11", "caps": ["program_per_month"]}


def test_refuse_withholds_the_advocate_side_over_its_monthly_cap(world: World) -> None:
    # Given an advocate allowed $10 a month, refusing what is over
    program_id = capped(world, "refuse", per_advocate_per_month=usd("10.00"))
    advocate_id, code = world.advocate(program_id)
    first, second = world.approved(program_id, code), world.approved(program_id, code)

    # When both are released in November
    world.release.release(first, NOVEMBER)
    outcome = world.release.release(second, NOVEMBER)

    # Then the second pays its referee only, and says what the monthly cap withheld
    assert [r.beneficiary for r in outcome.rewards] == ["referee"]
    released = audit_of(world, second, "referral.released")
    assert released[0].details["withheld_by_monthly_cap"] == ["advocate"]
    spent = month_spent(world, program_id, advocate_id, "2026-11")
    assert (spent.advocate, spent.program) == (Decimal("10.00"), Decimal("30.00"))


def test_refuse_withholds_the_referee_side_that_no_longer_fits_the_programs_month(
    world: World,
) -> None:
    # Given a program releasing at most $30 a month, refusing what is over
    program_id = capped(world, "refuse", program_per_month=usd("30.00"))
    first = world.approved(program_id, world.advocate(program_id)[1])
    second = world.approved(program_id, world.advocate(program_id)[1])
    third = world.approved(program_id, world.advocate(program_id)[1])

    # When three $20 referrals are released in one month
    outcomes = [world.release.release(r, NOVEMBER) for r in (first, second, third)]

    # Then the second keeps only its advocate reward, the third nothing, and it is closed
    paid = [sorted(r.beneficiary for r in o.rewards) for o in outcomes]
    assert paid == [["advocate", "referee"], ["advocate"], []]
    assert world.status(third) == ReferralStatus.REWARDED
    assert world.budget_left(program_id) == Decimal("5000.00") - Decimal("30.00")


def test_a_release_at_the_last_instant_of_a_month_counts_for_that_month(world: World) -> None:
    program_id = capped(world, "defer", program_per_month=usd("20.00"))
    advocate_id, code = world.advocate(program_id)
    world.release.release(world.approved(program_id, code), LAST_INSTANT_OF_NOVEMBER)

    assert month_spent(world, program_id, advocate_id, "2026-11").program == Decimal("20.00")
    assert month_spent(world, program_id, advocate_id, "2026-12").program == Decimal(0)


class AllReadBeforeAnyCommits:
    """The table under every release thread: each thread's first commit that counts a
    month waits until every thread has read the month's counters and planned, so the
    commits race for the room that all of them saw."""

    def __init__(self, table: MemoryTable, threads: int) -> None:
        self._table = table
        self._barrier = threading.Barrier(threads, timeout=10)
        self._waited = threading.local()

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Any:
        return self._table.get(pk, sk, consistent=consistent)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        return self._table.query(*args, **kwargs)

    def write(self, ops: Sequence[WriteOp]) -> None:
        counts_a_month = any(isinstance(op, Update) and "#MONTH#" in op.pk for op in ops)
        if counts_a_month and not getattr(self._waited, "done", False):
            self._waited.done = True
            self._barrier.wait()
        self._table.write(ops)


def test_parallel_releases_never_exceed_the_programs_month(world: World) -> None:
    # Given eight approved $20 referrals under a $70 month (room for three and a half)
    program_id = capped(world, "defer", program_per_month=usd("70.00"))
    referral_ids = [world.approved(program_id, world.advocate(program_id)[1]) for _ in range(8)]
    racing = AllReadBeforeAnyCommits(world.table, threads=8)
    release = world.services(table=racing).release  # type: ignore[arg-type]

    # When eight threads release them at once, each having seen an empty month
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(referral_id: str) -> None:
        result = release.release(referral_id, NOVEMBER).result
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(r,)) for r in referral_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly three are released, the month counted $60, and the rest wait
    assert sorted(outcomes) == ["held"] * 5 + ["released"] * 3
    assert month_spent(world, program_id, "nobody", "2026-11").program == Decimal("60.00")
    created = sum((r.amount for rid in referral_ids for r in world.rewards(rid)), Decimal(0))
    assert created == Decimal("60.00")


def test_parallel_releases_of_one_advocate_never_exceed_its_month(world: World) -> None:
    # Given one advocate with twelve approved referrals, allowed $50 a month, refusing
    program_id = capped(world, "refuse", per_advocate_per_month=usd("50.00"))
    advocate_id, code = world.advocate(program_id)
    referral_ids = [world.approved(program_id, code) for _ in range(12)]

    # When six threads release them at once
    threads = [
        threading.Thread(
            target=lambda ids: [world.release.release(r, NOVEMBER) for r in ids],
            args=(referral_ids[i::6],),
        )
        for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then five advocate rewards exist ($50), and every referee is paid
    rewards = [r for rid in referral_ids for r in world.rewards(rid)]
    assert sum(r.beneficiary == "advocate" for r in rewards) == 5
    assert sum(r.beneficiary == "referee" for r in rewards) == 12
    assert month_spent(world, program_id, advocate_id, "2026-11").advocate == Decimal("50.00")
