"""Points: the reward kind credited to a customer's points ledger, its balance and redemptions."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from shared.domain.points import PointsStatement, RedeemPoints, Redemption
from shared.domain.programs import RewardTerms, points_reward
from shared.money import Money
from shared.schemas.common import Identifier, Out, Strict, Timestamp

# A trillion points is more than any program gives; the bound keeps the arithmetic honest.
MAX_POINTS = 10**12
_WHOLE = re.compile(r"^[0-9]+$")


def _points(value: Any) -> int:
    """A positive whole number of points, as a string such as "100" (or a JSON integer)."""
    if isinstance(value, bool):
        raise ValueError('points must be a positive whole number such as "100"')
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _WHOLE.match(value):
        number = int(value)
    else:
        raise ValueError('points must be a positive whole number such as "100"')
    if number <= 0:
        raise ValueError("points must be a positive whole number, not zero")
    if number > MAX_POINTS:
        raise ValueError(f"points must be at most {MAX_POINTS}")
    return number


Points = Annotated[
    int,
    BeforeValidator(_points),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^[1-9][0-9]{0,12}$", "example": "100"},
                {"type": "integer", "minimum": 1, "maximum": MAX_POINTS},
            ]
        }
    ),
]


class PointsRewardIn(Strict):
    """A reward of points: credited to the customer's points ledger once paid, and worth
    `points` x the program's `point_value` for the budget, caps and dual approval."""

    kind: Literal["points"]
    points: Points

    def terms(self, point_value: Money | None) -> RewardTerms:
        # ProgramCreate refuses points rewards without a point_value before this is asked.
        assert point_value is not None, "a points reward needs the program's point_value"
        return points_reward(self.points, point_value)


class PointsQuery(Strict):
    program_id: Identifier


class RedemptionIn(Strict):
    program_id: Identifier
    points: Points
    reference: Identifier = Field(
        description="The client's own id for this redemption: the same reference again "
        "returns the first redemption (200); with other points, 409"
    )

    def command(self) -> RedeemPoints:
        return RedeemPoints(
            program_id=self.program_id, points=self.points, reference=self.reference
        )


class PointsHistoryOut(Out):
    at: Timestamp
    kind: Literal["earned", "redeemed", "clawed_back", "debt_repaid"]
    points: int
    reward_id: str | None = None
    reference: str | None = None


class PointsOut(Out):
    customer_id: str
    program_id: str
    balance: int = Field(description="Points the customer may redeem now (never below zero)")
    points_debt: int = Field(
        description="Points clawed back after they were redeemed; later earnings repay it "
        "before the balance grows"
    )
    history: list[PointsHistoryOut] = Field(
        description="The ledger's entries, newest first, at most `limit` (default 50); "
        "`next_cursor` pages on"
    )
    next_cursor: str | None

    @classmethod
    def of(cls, statement: PointsStatement, cursor: str | None) -> PointsOut:
        account = statement.account
        return cls(
            customer_id=account.customer_id,
            program_id=account.program_id,
            balance=account.balance,
            points_debt=account.debt,
            history=[
                PointsHistoryOut(
                    at=e.at,
                    kind=e.kind,
                    points=e.points,
                    reward_id=e.reward_id,
                    reference=e.reference,
                )
                for e in statement.history
            ],
            next_cursor=cursor,
        )


class RedemptionOut(Out):
    customer_id: str
    program_id: str
    reference: str
    points: int
    redeemed_at: Timestamp
    balance: int = Field(description="The balance right after this redemption")
    points_debt: int

    @classmethod
    def of(cls, redemption: Redemption) -> RedemptionOut:
        return cls(
            customer_id=redemption.customer_id,
            program_id=redemption.program_id,
            reference=redemption.reference,
            points=redemption.points,
            redeemed_at=redemption.at,
            balance=redemption.balance_after,
            points_debt=redemption.debt_after,
        )
