"""The points ledger's items: one account per customer and program, its history lines and
its redemptions' records, all in the account's partition (`POINTS#<program>#<customer>`).

The account is a versioned document: a posting writes it only if it is still at the
version read (or, for the first, only if there is none yet), with its history lines, in
the caller's transaction, so a credit, a clawback or a redemption happens once and never
on top of a change it did not see. The account carries the customer index key, so erasure
finds it (and moves it last: see `shared.repositories.customers`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.atomic_changes import Changes
from shared.clock import iso, parse_iso
from shared.domain.points import (
    PointsAccount,
    PointsAccountChanged,
    PointsEntry,
    Posting,
    Redemption,
    RedemptionTaken,
)
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import (
    Condition,
    Delete,
    Equals,
    Item,
    KeyRange,
    NotExists,
    Put,
    Table,
    WriteOp,
)

ACCOUNT_TYPE = "points"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def account_item(account: PointsAccount) -> Item:
    pk, sk = keys.points_account(account.program_id, account.customer_id)
    return {
        "pk": pk,
        "sk": sk,
        "type": ACCOUNT_TYPE,
        "gsi2pk": keys.customer(account.customer_id),
        "gsi2sk": keys.customer_points(account.program_id),
        "program_id": account.program_id,
        "version": account.version,
        "doc": to_doc(account),
    }


def _written_at(version: int) -> Condition:
    return NotExists() if version == 0 else Equals("version", version)


def posting_ops(posting: Posting) -> list[WriteOp]:
    """The account as it will be (if still as read) and each new history line (once)."""
    after = posting.after
    ops: list[WriteOp] = [Put(account_item(after), _written_at(posting.before.version))]
    for line, entry in enumerate(posting.entries):
        pk, sk = keys.points_history(
            after.program_id, after.customer_id, after.version, line, entry.entry_id
        )
        item = {"pk": pk, "sk": sk, "type": "points_entry", "doc": to_doc(entry)}
        ops.append(Put(item, NotExists()))
    return ops


def merge_ops(raw: Item, into: Item) -> list[WriteOp]:
    """Erasure met the account already under the pseudonym (a credit raced it): one
    account of the two, each as read, and the raw one gone."""
    there, moving = from_item(PointsAccount, into), from_item(PointsAccount, raw)
    times = [t for t in (there.updated_at, moving.updated_at) if t is not None]
    merged = there.merged(moving, max(times)) if times else there.merged(moving, _EPOCH)
    return [
        Put(account_item(merged), Equals("version", into["version"])),
        Delete(raw["pk"], raw["sk"], Equals("version", raw["version"])),
    ]


class PointsLedger:
    def __init__(self, table: Table) -> None:
        self._table = table

    # --- reads ---------------------------------------------------------------------------

    def account(self, program_id: str, customer_id: str) -> PointsAccount:
        """The account as stored, or an empty one (version 0) if nothing was ever posted."""
        item = self._table.get(*keys.points_account(program_id, customer_id))
        if item is None:
            return PointsAccount(program_id=program_id, customer_id=customer_id)
        return from_item(PointsAccount, item)

    def history(
        self, program_id: str, customer_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[PointsEntry], str | None]:
        """History lines, newest first."""
        page = self._table.query(
            keys.points(program_id, customer_id),
            key_range=KeyRange(begins_with=keys.POINTS_HISTORY_PREFIX),
            forward=False,
            limit=limit,
            cursor=cursor,
        )
        return [from_item(PointsEntry, item) for item in page.items], page.cursor

    def redemption(self, program_id: str, customer_id: str, reference: str) -> Redemption | None:
        item = self._table.get(*keys.redemption(program_id, customer_id, reference))
        if item is None:
            return None
        doc = item["doc"]
        return Redemption(
            program_id=program_id,
            customer_id=customer_id,
            reference=reference,
            points=int(doc["points"]),
            at=parse_iso(doc["at"]),
            balance_after=int(doc["balance_after"]),
            debt_after=int(doc["debt_after"]),
        )

    # --- writes --------------------------------------------------------------------------

    @staticmethod
    def post(posting: Posting, *, within: Changes) -> None:
        """Stage the posting; the commit raises `PointsAccountChanged` if the account moved
        since it was read."""
        ops = posting_ops(posting)
        within.stage(ops[0], PointsAccountChanged)
        for op in ops[1:]:
            within.stage(op)

    @staticmethod
    def record_redemption(redemption: Redemption, *, within: Changes) -> None:
        """Stage the redemption's record, once per reference (`RedemptionTaken` otherwise)."""
        pk, sk = keys.redemption(
            redemption.program_id, redemption.customer_id, redemption.reference
        )
        doc = {
            "points": redemption.points,
            "at": iso(redemption.at),
            "balance_after": redemption.balance_after,
            "debt_after": redemption.debt_after,
        }
        within.stage(
            Put({"pk": pk, "sk": sk, "type": "redemption", "doc": doc}, NotExists()),
            RedemptionTaken,
        )
