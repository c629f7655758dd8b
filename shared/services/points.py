"""The points ledger as clients and the reward machinery use it.

- Paying a points entry is a posting on the customer's ledger (`PointsPayout.paying`),
  staged by fulfilment in the same transaction as the entry's move to `confirmed`: the
  entry's version guards the credit, so duplicate deliveries credit once.
- Clawing a paid points entry back (a refund, finance's reversal) takes its points back in
  the reversal's transaction (`PointsPayout.stage_claw_back`); what was already redeemed
  becomes debt, repaid by later earnings first.
- A redemption spends the balance, never below zero, once per client reference: the
  redemption's record and the account's new version are one transaction, so of two
  redemptions that together exceed the balance only the first to commit is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from shared.atomic_changes import Changes, UnitOfWork
from shared.clock import Clock
from shared.domain.changes import Contention
from shared.domain.points import (
    PointsAccount,
    PointsEntry,
    PointsStatement,
    Posting,
    RedeemPoints,
    Redemption,
)
from shared.domain.programs import Program
from shared.domain.rewards import Reward
from shared.errors import Conflict, NotFound

ATTEMPTS = 8
# The provider name a points entry is paid through (its `provider`).
POINTS_LEDGER = "points_ledger"


class PointsAccounts(Protocol):
    def account(self, program_id: str, customer_id: str) -> PointsAccount: ...
    def history(
        self, program_id: str, customer_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[PointsEntry], str | None]: ...
    def redemption(
        self, program_id: str, customer_id: str, reference: str
    ) -> Redemption | None: ...
    def post(self, posting: Posting, *, within: Changes) -> None: ...
    def record_redemption(self, redemption: Redemption, *, within: Changes) -> None: ...


class Programs(Protocol):
    def get(self, program_id: str) -> Program | None: ...


class PointsService:
    def __init__(
        self, *, ledger: PointsAccounts, programs: Programs, units: UnitOfWork, clock: Clock
    ) -> None:
        self._ledger = ledger
        self._programs = programs
        self._units = units
        self._clock = clock

    def statement(
        self, customer_id: str, program_id: str, *, limit: int, cursor: str | None
    ) -> tuple[PointsStatement, str | None]:
        """The customer's balance and debt, with one page of history (newest first)."""
        self._program(program_id)
        account = self._ledger.account(program_id, customer_id)
        history, next_cursor = self._ledger.history(
            program_id, customer_id, limit=limit, cursor=cursor
        )
        return PointsStatement(account, tuple(history)), next_cursor

    def redeem(self, customer_id: str, command: RedeemPoints) -> tuple[Redemption, bool]:
        """Spend the points; the redemption and whether this call recorded it (False: the
        same reference again). Raises `PointsShort` beyond the balance."""
        program_id, reference = command.program_id, command.reference
        self._program(program_id)
        for _ in range(ATTEMPTS):
            earlier = self._ledger.redemption(program_id, customer_id, reference)
            if earlier is not None:
                return _replayed(earlier, command), False
            now = self._clock.now()
            account = self._ledger.account(program_id, customer_id)
            posting = account.redeem(command.points, now, reference=reference)
            redemption = Redemption(
                program_id=program_id,
                customer_id=customer_id,
                reference=reference,
                points=command.points,
                at=now,
                balance_after=posting.after.balance,
                debt_after=posting.after.debt,
            )
            changes = self._units.begin()
            self._ledger.post(posting, within=changes)
            self._ledger.record_redemption(redemption, within=changes)
            try:
                changes.commit()
            except Contention:
                # Another posting, or this reference, got in first: read again.
                continue
            return redemption, True
        raise Conflict(  # pragma: no cover - needs sustained contention
            "the customer's points are changing too fast; retry the redemption"
        )

    def _program(self, program_id: str) -> Program:
        program = self._programs.get(program_id)
        if program is None:
            raise NotFound(f"no program {program_id}")
        return program


def _replayed(earlier: Redemption, command: RedeemPoints) -> Redemption:
    if earlier.points != command.points:
        raise Conflict(
            f"reference {command.reference} already names a redemption of {earlier.points} points"
        )
    return earlier


class PointsPayout:
    """The points kind's 'provider': a payment is a posting on the customer's ledger,
    staged with the entry's own change (see `shared.services.fulfilment`)."""

    name = POINTS_LEDGER

    def __init__(self, ledger: PointsAccounts) -> None:
        self._ledger = ledger

    @staticmethod
    def reference(reward: Reward) -> str:
        return f"points:{reward.reward_id}"

    def paying(self, reward: Reward, at: datetime) -> Callable[[Changes], None]:
        """What credits the entry's points, to stage with its move to `confirmed`."""

        def stage(changes: Changes) -> None:
            account = self._ledger.account(reward.program_id, reward.customer_id)
            posting = account.earn(_points_of(reward), at, reward_id=reward.reward_id)
            self._ledger.post(posting, within=changes)

        return stage

    def stage_claw_back(self, rewards: Iterable[Reward], at: datetime, *, within: Changes) -> None:
        """Take the paid entries' points back, one posting per customer's account (an
        advocate's reward and tier bonus share one)."""
        by_account: dict[tuple[str, str], list[Reward]] = {}
        for reward in rewards:
            by_account.setdefault((reward.program_id, reward.customer_id), []).append(reward)
        for (program_id, customer_id), paid in by_account.items():
            account = self._ledger.account(program_id, customer_id)
            posting: Posting | None = None
            for reward in paid:
                current = posting.after if posting else account
                change = current.claw_back(_points_of(reward), at, reward_id=reward.reward_id)
                posting = posting.then(change) if posting else change
            if posting is not None:
                self._ledger.post(posting, within=within)


def _points_of(reward: Reward) -> int:
    if not reward.points:
        raise ValueError(f"points entry {reward.reward_id} names no points")
    return reward.points
