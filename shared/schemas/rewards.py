"""Reward ledger and refund requests and responses.

The entry model is `RewardEntryOut` (not `RewardOut`): `shared.schemas.programs` already
names a program's reward *terms* `RewardOut`, and the OpenAPI components are keyed by
class name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shared.domain.programs import RewardKind
from shared.domain.referrals import ReferralStatus
from shared.domain.reward_commands import RecordRefund, Reissue, Reverse
from shared.domain.rewards import RefundRecord, Reward, RewardStatus
from shared.money import format_amount
from shared.schemas.common import (
    Amount,
    Currency,
    Email,
    Identifier,
    Out,
    PageOut,
    Strict,
    Timestamp,
    money_scale,
)


class RefundCreate(Strict):
    order_id: Identifier
    currency: Currency
    amount: Amount
    occurred_at: Timestamp | None = None
    refund_id: Identifier | None = Field(
        default=None,
        description="The refund's own id: sent again (for this order) it is the same "
        "refund, a replay; without it a refund is known by its body and occurred_at",
    )

    _scale = field_validator("amount")(money_scale)

    @field_validator("amount")
    @classmethod
    def _positive(cls, amount: object) -> object:
        if amount is not None and amount == 0:
            raise ValueError("a refund amount is more than zero")
        return amount

    def command(self) -> RecordRefund:
        return RecordRefund(
            order_id=self.order_id,
            currency=self.currency,
            amount=self.amount,
            occurred_at=self.occurred_at,
            refund_id=self.refund_id,
        )


class ReissueIn(Strict):
    recipient_email: Email | None = Field(
        default=None,
        description="Pay this attempt to this address instead of the recipient's own",
    )
    note: str = Field(min_length=1, max_length=2000, description="Why it is reissued (audited)")

    def command(self) -> Reissue:
        return Reissue(note=self.note, recipient_email=self.recipient_email)


class ReverseIn(Strict):
    note: str = Field(min_length=1, max_length=2000, description="Why it is reversed (audited)")

    def command(self) -> Reverse:
        return Reverse(note=self.note)


class ClawbackOut(Out):
    at: Timestamp
    reason: str
    amount: str


class RewardEntryOut(Out):
    reward_id: str
    referral_id: str | None = Field(description="The referral paid for; null on a campaign reward")
    program_id: str
    beneficiary: Literal["advocate", "referee"]
    customer_id: str
    kind: RewardKind
    amount: str
    currency: str
    status: RewardStatus
    provider: str | None
    provider_reference: str | None
    created_at: Timestamp
    updated_at: Timestamp
    tier: int | None = Field(
        default=None, description="The tier's min_successful_referrals, for a tier bonus"
    )
    points: int | None = Field(
        default=None,
        description="The points a points entry credits (`amount` is their money value)",
    )
    clawback: ClawbackOut | None = None
    # Shown on donations only, so every other entry reads as it always did.
    charity: str | None = Field(
        default=None,
        exclude_if=lambda charity: charity is None,
        description="The charity a charity_donation pays (donations only)",
    )
    # Shown on campaign rewards only (`<campaign_id>-<advocate_id>`, referral_id null).
    campaign_id: str | None = Field(
        default=None,
        exclude_if=lambda campaign_id: campaign_id is None,
        description="The group-goal campaign a campaign reward pays (campaign rewards only)",
    )
    order_id: str | None = Field(
        default=None,
        exclude_if=lambda order_id: order_id is None,
        description="The later order a recurring commission entry pays on (those entries only)",
    )

    @classmethod
    def of(cls, reward: Reward) -> RewardEntryOut:
        clawback = None
        if reward.clawback is not None:
            clawback = ClawbackOut(
                at=reward.clawback.at,
                reason=reward.clawback.reason,
                amount=format_amount(reward.clawback.amount, reward.currency),
            )
        return cls(
            reward_id=reward.reward_id,
            referral_id=reward.referral_id,
            campaign_id=reward.campaign_id,
            program_id=reward.program_id,
            beneficiary=reward.beneficiary,
            customer_id=reward.customer_id,
            kind=reward.kind,
            amount=format_amount(reward.amount, reward.currency),
            currency=reward.currency,
            status=reward.status,
            provider=reward.provider,
            provider_reference=reward.provider_reference,
            created_at=reward.created_at,
            updated_at=reward.updated_at,
            tier=reward.tier,
            points=reward.points,
            clawback=clawback,
            charity=reward.charity,
            order_id=reward.order_id,
        )


RewardEntryPage = PageOut[RewardEntryOut]


class ReissuedOut(RewardEntryOut):
    attempt: int = Field(description="The new attempt: n after the n-th reissue of the entry")

    @classmethod
    def of_attempt(cls, reward: Reward) -> ReissuedOut:
        return cls(**RewardEntryOut.of(reward).model_dump(), attempt=reward.attempt)


class RewardListQuery(Strict):
    referral_id: Identifier | None = None
    status: RewardStatus | None = None


class RefundOut(Out):
    referral_id: str
    refund_id: str | None
    order_id: str
    amount: str
    currency: str
    occurred_at: Timestamp
    order_amount_left: str
    reversed: bool = Field(description="Whether this refund reversed the referral")
    status: ReferralStatus
    rewards: list[RewardEntryOut]

    @classmethod
    def of(cls, record: RefundRecord, status: ReferralStatus, rewards: list[Reward]) -> RefundOut:
        return cls(
            referral_id=record.referral_id,
            refund_id=record.refund_id,
            order_id=record.order_id,
            amount=format_amount(record.amount, record.currency),
            currency=record.currency,
            occurred_at=record.occurred_at,
            order_amount_left=format_amount(record.order_amount_left, record.currency),
            reversed=record.reversed,
            status=status,
            rewards=[RewardEntryOut.of(r) for r in rewards],
        )


class ReversalOut(Out):
    referral_id: str
    status: ReferralStatus
    rewards: list[RewardEntryOut]
