"""Referral programs: reward terms, budget, caps and review settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from shared.domain.changes import Contention
from shared.domain.commissions import Commission, commission_for
from shared.money import Money

RewardKind = Literal["gift_card", "cash", "charity_donation", "points"]
# Over a monthly cap: hold the referral for next month, or withhold the side that is over.
OverCap = Literal["defer", "refuse"]
# Kinds paid by writing one of the service's own ledgers, not through a payout provider.
POINTS = "points"


class ProgramStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class RewardTerms(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: RewardKind
    # What the reward is worth in the program's currency; for points, the points priced at
    # the program's `point_value` (`points_reward`), so the budget, caps, dual approval and
    # fraud figures count every kind the same way.
    amount: Decimal
    currency: str
    # The charity a `charity_donation` pays (the provider's id for it); None otherwise.
    charity: str | None = None
    # The points a `points` reward credits; None for every other kind.
    points: int | None = None
    # A commission's percent of each qualifying order and its bounds; None for a fixed
    # reward. A commission's `amount` is its nominal worth (its max, else its min, else
    # zero) until an order prices it (`on_order`).
    commission: Commission | None = None

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    def on_order(self, order_amount: Decimal | None) -> RewardTerms:
        """The terms as one order pays them: a commission priced on the order's amount."""
        if self.commission is None:
            return self
        amount = commission_for(order_amount or Decimal(0), self.commission, self.currency)
        return self.model_copy(update={"amount": amount})


class MonthlyCaps(BaseModel):
    """How much a program releases in one calendar month (UTC), per advocate (advocate
    rewards and tier bonuses) and for the whole program (every reward); in its currency."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    per_advocate_per_month: Decimal | None = None
    program_per_month: Decimal | None = None
    over_cap: OverCap = "defer"


def points_reward(points: int, point_value: Money) -> RewardTerms:
    """A reward of `points`, worth `points` x `point_value` wherever money is counted."""
    return RewardTerms(
        kind=POINTS,
        amount=point_value.amount * points,
        currency=point_value.currency,
        points=points,
    )


class Tier(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    min_successful_referrals: int
    advocate_bonus: RewardTerms


DEFAULT_VARIANT = "default"


class Variant(BaseModel):
    """One arm of an incentive experiment: its share of new advocates and its rewards."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    weight: int
    advocate_reward: RewardTerms | None = None
    referee_reward: RewardTerms | None = None
    # False once an update dropped it: no new advocate gets it, its advocates keep its terms.
    active: bool = True


class Program(BaseModel):
    model_config = ConfigDict(defer_build=True)

    program_id: str
    name: str
    qualifying_event: Literal["signup", "purchase"]
    min_order_value: Decimal | None = None
    advocate_reward: RewardTerms | None = None
    referee_reward: RewardTerms | None = None
    tiers: list[Tier]
    attribution_window_days: int
    holding_period_days: int
    currency: str
    budget_total: Decimal
    budget_used: Decimal = Decimal(0)
    per_advocate_cap: int | None = None
    caps: MonthlyCaps | None = None
    dual_approval_over: Decimal | None = None
    # What one point is worth, in the program's currency (None: the program has no points).
    point_value: Decimal | None = None
    # A commission advocate reward also pays on the referee's later purchases for this many
    # months after the first qualifying one (None: only the qualifying order earns it).
    recurring_months: int | None = None
    review_timeout_days: int
    review_timeout_action: Literal["approve", "reject"]
    auto_reject: bool
    status: ProgramStatus = ProgramStatus.ACTIVE
    # When the program began taking referrals: the client's date for an imported history,
    # else when it was recorded. No referral may predate it.
    started_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int = 1
    variants: list[Variant] = []

    @model_validator(mode="before")
    @classmethod
    def _started_when_created(cls, data: Any) -> Any:
        """Programs stored before they carried a start began when they were recorded."""
        if isinstance(data, dict) and data.get("started_at") is None and "created_at" in data:
            return {**data, "started_at": data["created_at"]}
        return data

    @property
    def budget_left(self) -> Decimal:
        return self.budget_total - self.budget_used

    @property
    def is_active(self) -> bool:
        return self.status == ProgramStatus.ACTIVE

    def qualifies(self, event_type: str, amount: Decimal | None) -> bool:
        """Whether an event of this type and amount is the program's qualifying event."""
        if event_type != self.qualifying_event:
            return False
        if event_type == "purchase" and self.min_order_value is not None:
            return amount is not None and amount >= self.min_order_value
        return True

    def rewards_of(self, variant: str) -> tuple[RewardTerms | None, RewardTerms | None]:
        """The advocate's and the referee's reward terms of `variant`; `default` (or a
        name the program never had) is the program's own rewards."""
        for candidate in self.variants:
            if candidate.name == variant:
                return candidate.advocate_reward, candidate.referee_reward
        return self.advocate_reward, self.referee_reward

    def tier_bonus_for(self, successful_referrals: int) -> Tier | None:
        """The tier crossed exactly when the advocate reaches `successful_referrals`."""
        for tier in self.tiers:
            if tier.min_successful_referrals == successful_referrals:
                return tier
        return None


class ProgramChanged(Contention):
    """The program changed since it was read."""
