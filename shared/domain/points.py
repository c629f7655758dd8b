"""The points ledger: what one customer holds in one program, and every change to it.

A points reward credits the ledger when its entry is paid (`earn`); the customer spends
points with a redemption (`redeem`), which never takes the balance below zero; a refund or
a reversal of a paid points entry takes its points back (`claw_back`): what is still in
the balance goes, and what was already redeemed becomes `debt`, which the next earnings
repay before the balance grows again. So, at every moment:

    balance >= 0, debt >= 0, (balance == 0 or debt == 0),
    earned - redeemed - clawed_back == balance - debt.

Every change is a `Posting`: the account before and after, and the history entries it
adds. The repository writes a posting only if the account is still at the version read,
in the same transaction as whatever caused it (the entry's payment, its clawback, the
redemption's own record), so each change happens once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.changes import Contention
from shared.errors import Conflict, FieldError

PointsEntryKind = Literal["earned", "redeemed", "clawed_back", "debt_repaid"]


class PointsEntry(BaseModel):
    """One line of a customer's points history."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    # Derived from what caused it (`earned:<reward_id>`, `redeemed:<reference>`...): the
    # same cause can only ever write the same line.
    entry_id: str
    at: datetime
    kind: PointsEntryKind
    points: int
    reward_id: str | None = None
    reference: str | None = None


class PointsAccount(BaseModel):
    """A customer's points in one program; version 0 is an account never written yet."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    program_id: str
    customer_id: str
    balance: int = 0
    debt: int = 0
    earned: int = 0
    redeemed: int = 0
    clawed_back: int = 0
    version: int = 0
    updated_at: datetime | None = None

    def _next(self, at: datetime, **changes: int) -> PointsAccount:
        return self.model_copy(update={**changes, "version": self.version + 1, "updated_at": at})

    def earn(self, points: int, at: datetime, *, reward_id: str) -> Posting:
        """Credit a paid reward's points; any debt is repaid from them first."""
        _positive(points)
        repaid = min(self.debt, points)
        after = self._next(
            at,
            balance=self.balance + points - repaid,
            debt=self.debt - repaid,
            earned=self.earned + points,
        )
        entries = [
            PointsEntry(
                entry_id=f"earned:{reward_id}",
                at=at,
                kind="earned",
                points=points,
                reward_id=reward_id,
            )
        ]
        if repaid:
            entries.append(
                PointsEntry(
                    entry_id=f"debt_repaid:{reward_id}",
                    at=at,
                    kind="debt_repaid",
                    points=repaid,
                    reward_id=reward_id,
                )
            )
        return Posting(self, after, tuple(entries))

    def redeem(self, points: int, at: datetime, *, reference: str) -> Posting:
        """Spend points from the balance; refused (`PointsShort`) beyond it."""
        _positive(points)
        if points > self.balance:
            raise PointsShort(self, points)
        after = self._next(at, balance=self.balance - points, redeemed=self.redeemed + points)
        entry = PointsEntry(
            entry_id=f"redeemed:{reference}",
            at=at,
            kind="redeemed",
            points=points,
            reference=reference,
        )
        return Posting(self, after, (entry,))

    def claw_back(self, points: int, at: datetime, *, reward_id: str) -> Posting:
        """Take a clawed-back reward's points back: from the balance as far as it goes, the
        rest (already redeemed) as debt."""
        _positive(points)
        taken = min(self.balance, points)
        after = self._next(
            at,
            balance=self.balance - taken,
            debt=self.debt + points - taken,
            clawed_back=self.clawed_back + points,
        )
        entry = PointsEntry(
            entry_id=f"clawed_back:{reward_id}",
            at=at,
            kind="clawed_back",
            points=points,
            reward_id=reward_id,
        )
        return Posting(self, after, (entry,))

    def merged(self, other: PointsAccount, at: datetime) -> PointsAccount:
        """This account with `other`'s points added (two records of one customer joined):
        the sums, with one's balance settling the other's debt."""
        net = (self.balance - self.debt) + (other.balance - other.debt)
        return self._next(
            at,
            balance=max(net, 0),
            debt=max(-net, 0),
            earned=self.earned + other.earned,
            redeemed=self.redeemed + other.redeemed,
            clawed_back=self.clawed_back + other.clawed_back,
        )


@dataclass(frozen=True)
class Posting:
    """One change of an account: as read, as it will be, and the history lines it adds."""

    before: PointsAccount
    after: PointsAccount
    entries: tuple[PointsEntry, ...]

    def then(self, change: Posting) -> Posting:
        """This posting followed by `change` (made on `self.after`), as one write."""
        assert change.before == self.after, "postings chain from one account"
        return Posting(self.before, change.after, self.entries + change.entries)


def _positive(points: int) -> None:
    if points <= 0:
        raise ValueError("a posting moves a positive number of points")


@dataclass(frozen=True)
class RedeemPoints:
    """A client spends a customer's points; `reference` is its own id for it."""

    program_id: str
    points: int
    reference: str


@dataclass(frozen=True)
class Redemption:
    """A redemption as recorded: the same reference again returns this."""

    program_id: str
    customer_id: str
    reference: str
    points: int
    at: datetime
    balance_after: int
    debt_after: int


@dataclass(frozen=True)
class PointsStatement:
    """An account with one page of its history, newest first."""

    account: PointsAccount
    history: tuple[PointsEntry, ...]


class PointsShort(Conflict):
    """The balance cannot cover the redemption."""

    title = "Not enough points"

    def __init__(self, account: PointsAccount, points: int) -> None:
        super().__init__(f"the balance is {account.balance} points; {points} cannot be redeemed")
        self.balance = account.balance
        self.errors = [
            FieldError("points", f"is more than the balance ({account.balance})", "insufficient")
        ]


class PointsAccountChanged(Contention):
    """The account changed since it was read: read it again."""


class RedemptionTaken(Contention):
    """Another request recorded a redemption with this reference meanwhile."""
