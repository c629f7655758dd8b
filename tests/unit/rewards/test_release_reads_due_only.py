"""The release job reads the referrals whose holding period has ended, and no others."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.domain.referrals import Referral, ReferralStatus
from shared.ids import new_id
from shared.schemas.programs import ProgramUpdate
from shared.storage.table import Item, Page, Table, WriteOp
from tests.support import T0, unique
from tests.unit.rewards.conftest import World

NOT_DUE = 1970
DUE = 30


class ReadCountingTable:
    """A table that remembers every referral item it handed out."""

    def __init__(self, inner: Table) -> None:
        self.inner = inner
        self.referrals_read: list[str] = []

    def _seen(self, items: Sequence[Item]) -> None:
        self.referrals_read += [str(i["pk"]) for i in items if i.get("type") == "referral"]

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        item = self.inner.get(pk, sk, consistent=consistent)
        self._seen([item] if item else [])
        return item

    def query(self, pk: str, **kwargs: Any) -> Page:
        page = self.inner.query(pk, **kwargs)
        self._seen(page.items)
        return page

    def write(self, ops: Sequence[WriteOp]) -> None:
        self.inner.write(ops)


def _holding_copy(world: World, template: Referral, qualified_at: datetime) -> str:
    referral = template.model_copy(
        update={
            "referral_id": new_id("ref"),
            "referee_customer_id": unique("ref"),
            "qualified_at": qualified_at,
            "qualifying_order_id": unique("ord"),
        }
    )
    world.referral_repo.add(referral)
    return referral.referral_id


def _holding_world(world: World) -> tuple[str, list[str], list[str]]:
    """30 referrals qualified by T0 and 1,970 qualified after, ten minutes apart."""
    program_id = world.program(holding_period_days=14, per_advocate_cap=5000)
    _, code = world.advocate(program_id)
    first = world.approved(program_id, code)
    template = world.referral_repo.get(first)
    assert template is not None and template.status == ReferralStatus.HOLDING
    template = template.model_copy(update={"qualified_at": T0})
    due = [first] + [
        _holding_copy(world, template, T0 - timedelta(minutes=n)) for n in range(1, DUE)
    ]
    later = [
        _holding_copy(world, template, T0 + timedelta(hours=2, minutes=10 * n))
        for n in range(NOT_DUE)
    ]
    return program_id, due, later


def _read_ids(counting: ReadCountingTable) -> set[str]:
    return {pk.removeprefix("REFERRAL#") for pk in counting.referrals_read}


def test_a_release_run_reads_only_the_referrals_whose_holding_period_has_ended(
    world: World,
) -> None:
    # Given 2,000 holding referrals of which 30 qualified 14 days (the holding period) ago
    _, due, _ = _holding_world(world)
    counting = ReadCountingTable(world.table)
    release = world.services(table=counting).release

    # When the release job runs
    report = release.run(T0 + timedelta(days=14, hours=1))

    # Then it released the 30 and read no other referral
    assert sorted(report.released) == sorted(due)
    assert _read_ids(counting) == set(due)
    assert len(counting.referrals_read) <= 3 * DUE


def test_a_shorter_holding_period_makes_the_referrals_it_covers_due_at_the_next_run(
    world: World,
) -> None:
    # Given the 30 due referrals released, and the holding period then cut to 13 days
    program_id, _, later = _holding_world(world)
    now = T0 + timedelta(days=14, hours=1)
    world.release.run(now)
    world.programs.update(
        program_id, ProgramUpdate.model_validate({"holding_period_days": 13}).command()
    )
    counting = ReadCountingTable(world.table)
    release = world.services(table=counting).release

    # When the release job runs again
    report = release.run(now)

    # Then exactly the referrals qualified 13 days before are released, and only they read
    cutoff = now - timedelta(days=13)
    newly_due = [
        rid for n, rid in enumerate(later) if T0 + timedelta(hours=2, minutes=10 * n) <= cutoff
    ]
    assert len(newly_due) == 139
    assert sorted(report.released) == sorted(newly_due)
    assert _read_ids(counting) == set(newly_due)


def test_a_run_short_of_time_stops_between_referrals_and_the_next_run_carries_on(
    world: World,
) -> None:
    # Given 30 due referrals and an invocation whose time runs out after ten releases
    _, due, _ = _holding_world(world)
    now = T0 + timedelta(days=14, hours=1)
    seconds = iter([60.0] * 10 + [5.0] * 100)

    # When the job runs with that time budget, then again with time to spare
    first = world.release.run(now, time_left=lambda: next(seconds))
    second = world.release.run(now)

    # Then the first run says it stopped early, and together they released each one once
    assert first.stopped_early and first.summary()["stopped_early"] is True
    assert len(first.released) == 10
    assert not second.stopped_early
    assert sorted(first.released + second.released) == sorted(due)
