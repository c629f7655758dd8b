"""Referrals, the one-referral-per-referee guard, and the events reported on them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from shared.atomic_changes import Changes
from shared.clock import iso
from shared.domain.changes import ReferralMoved
from shared.domain.events import DuplicateEvent, ReferralEvent
from shared.domain.referees import DuplicateReferee
from shared.domain.referrals import Referral, ReferralStatus
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.repositories.sharded import merged_items, merged_page
from shared.repositories.unit_of_work import UnitOfWork
from shared.storage.table import (
    ConditionFailed,
    Equals,
    Item,
    KeyRange,
    NotExists,
    Put,
    Table,
    WriteOp,
    query_all,
)

# The referral changed since it was read (the domain's name for it is `ReferralMoved`).
StaleReferral = ReferralMoved

__all__ = ["DuplicateReferee", "ReferralRepository", "StaleReferral", "status_due"]


def status_due(referral: Referral) -> str:
    """Sort key within a status partition: the time a scheduled job should look at it."""
    at = referral.qualified_at or referral.occurred_at
    return f"{iso(at)}#{referral.referral_id}"


class ReferralRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def _item(self, referral: Referral) -> Item:
        pk, sk = keys.referral(referral.referral_id)
        shard = keys.shard_of(referral.referral_id, keys.REFERRAL_SHARDS)
        return {
            "pk": pk,
            "sk": sk,
            "type": "referral",
            "gsi1pk": keys.program_referrals(referral.program_id, shard),
            "gsi1sk": f"{iso(referral.occurred_at)}#{referral.referral_id}",
            "gsi2pk": keys.status_partition(referral.status.value, referral.program_id, shard),
            "gsi2sk": status_due(referral),
            "status": referral.status.value,
            # Beside the status so the risk features read an outcome without the document.
            "clawed_back": referral.clawed_back_at is not None,
            "version": referral.version,
            "doc": to_doc(referral),
        }

    def add(self, referral: Referral, *, within: Changes | None = None) -> None:
        """Record a new referral (with `within`, or on its own), and the guard that lets a
        customer be referred once per program: the commit raises `DuplicateReferee` naming
        the referral recorded first."""
        changes = within if within is not None else UnitOfWork(self._table).begin()
        program_id, customer_id = referral.program_id, referral.referee_customer_id
        referee_pk, referee_sk = keys.referee(program_id, customer_id)
        changes.stage(Put(self._item(referral), NotExists()))
        changes.stage(
            Put(
                {
                    "pk": referee_pk,
                    "sk": referee_sk,
                    "type": "referee",
                    "referral_id": referral.referral_id,
                    "gsi2pk": keys.customer(customer_id),
                    "gsi2sk": f"REFERRAL#{referral.referral_id}",
                },
                NotExists(),
            ),
            lambda: DuplicateReferee(self._referred_by(program_id, customer_id)),
        )
        if within is None:
            changes.commit()

    def _referred_by(self, program_id: str, customer_id: str) -> str:
        item = self._table.get(*keys.referee(program_id, customer_id))
        return str(item["referral_id"]) if item else ""

    def get(self, referral_id: str) -> Referral | None:
        item = self._table.get(*keys.referral(referral_id))
        return from_item(Referral, item) if item else None

    def find_by_referee(self, program_id: str, customer_id: str) -> Referral | None:
        item = self._table.get(*keys.referee(program_id, customer_id))
        return self.get(item["referral_id"]) if item else None

    def save_op(self, referral: Referral, expected_version: int) -> Put:
        """A conditional write of the new state, for use inside a larger transaction."""
        return Put(self._item(referral), Equals("version", expected_version))

    def stage_save(self, referral: Referral, expected_version: int, *, within: Changes) -> None:
        """Save the new state with `within`, if the stored one is still `expected_version`;
        otherwise the commit raises `ReferralMoved`."""
        referral_id = referral.referral_id
        within.stage(self.save_op(referral, expected_version), lambda: ReferralMoved(referral_id))

    def save(
        self, referral: Referral, expected_version: int, extra: Sequence[WriteOp] = ()
    ) -> None:
        try:
            self._table.write([self.save_op(referral, expected_version), *extra])
        except ConditionFailed as exc:
            if exc.index == 0:
                raise StaleReferral(referral.referral_id) from exc
            raise

    def event_op(self, event: ReferralEvent) -> Put:
        pk, sk = keys.event(event.referral_id, event.dedupe_key)
        return Put({"pk": pk, "sk": sk, "type": "event", "doc": to_doc(event)}, NotExists())

    def add_event(self, event: ReferralEvent, *, within: Changes) -> None:
        """Record the event with `within`; the commit raises `DuplicateEvent` when one with
        its dedupe key is recorded already."""
        within.stage(
            self.event_op(event), lambda: DuplicateEvent(event.referral_id, event.dedupe_key)
        )

    def get_event(self, referral_id: str, dedupe_key: str) -> ReferralEvent | None:
        item = self._table.get(*keys.event(referral_id, dedupe_key))
        return from_item(ReferralEvent, item) if item else None

    def events(self, referral_id: str) -> list[ReferralEvent]:
        pk, _ = keys.referral(referral_id)
        items = query_all(self._table, pk, key_range=KeyRange(begins_with=keys.EVENT_PREFIX))
        events = [from_item(ReferralEvent, item) for item in items]
        return sorted(events, key=lambda e: (e.occurred_at, e.dedupe_key))

    def with_status(
        self,
        status: ReferralStatus,
        *,
        due_before: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Referral], str | None]:
        """A page of every program's referrals in `status`, in due order (all shards)."""
        shards = [p for pid in self.program_ids() for p in keys.status_shards(status.value, pid)]
        page = merged_page(
            self._table,
            shards,
            index="gsi2",
            key_range=_due_range(None, due_before),
            limit=limit,
            cursor=cursor,
        )
        return [from_item(Referral, item) for item in page.items], page.cursor

    def each_with_status(
        self,
        status: ReferralStatus,
        program_ids: Sequence[str],
        *,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
    ) -> Iterator[Referral]:
        """The programs' referrals in `status` due in the range, in due order, read lazily."""
        partitions = [p for pid in program_ids for p in keys.status_shards(status.value, pid)]
        items = merged_items(
            self._table, partitions, index="gsi2", key_range=_due_range(due_after, due_before)
        )
        return (from_item(Referral, item) for item in items)

    def program_ids(self) -> list[str]:
        """Every program, for the jobs that walk each program's status shards."""
        items = query_all(self._table, keys.PROGRAMS_INDEX, index="gsi1")
        return [str(item["pk"]).removeprefix("PROGRAM#") for item in items]

    def of_program(
        self, program_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Referral], str | None]:
        page = merged_page(
            self._table,
            keys.program_referral_shards(program_id),
            index="gsi1",
            limit=limit,
            cursor=cursor,
        )
        return [from_item(Referral, item) for item in page.items], page.cursor

    def page_of_program(
        self,
        program_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Referral], str | None]:
        """A page of the program's referrals that occurred in [since, until], oldest first
        (the program index is sorted by occurrence time)."""
        page = merged_page(
            self._table,
            keys.program_referral_shards(program_id),
            index="gsi1",
            key_range=_due_range(since, until),
            limit=limit,
            cursor=cursor,
        )
        return [from_item(Referral, item) for item in page.items], page.cursor

    def page_in_status(
        self,
        status: ReferralStatus,
        program_id: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Referral], str | None]:
        """A page of the program's referrals in `status`, in due order (its status shards)."""
        page = merged_page(
            self._table,
            keys.status_shards(status.value, program_id),
            index="gsi2",
            limit=limit,
            cursor=cursor,
        )
        return [from_item(Referral, item) for item in page.items], page.cursor


def _due_range(after: datetime | None, before: datetime | None) -> KeyRange | None:
    if after is None and before is None:
        return None
    # "~" sorts after every id, so `before` itself is included.
    return KeyRange(low=iso(after) if after else None, high=f"{iso(before)}~" if before else None)
