"""Program requests and responses."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from shared.domain.commands import CreateProgram, UpdateProgram
from shared.domain.programs import (
    DEFAULT_VARIANT,
    Program,
    ProgramStatus,
    RewardKind,
    RewardTerms,
    Tier,
    Variant,
)
from shared.money import Money
from shared.schemas.common import Amount, Currency, MoneyIn, MoneyOut, Out, Strict, Timestamp


class RewardIn(MoneyIn):
    kind: RewardKind

    @field_validator("amount")
    @classmethod
    def _pays_something(cls, amount: Decimal) -> Decimal:
        # A reward of nothing cannot be paid out: a provider refuses it, and the referral
        # would wait in `rewarding` for ever.
        if amount <= 0:
            raise ValueError("a reward pays a positive amount")
        return amount

    def terms(self) -> RewardTerms:
        return RewardTerms(kind=self.kind, amount=self.amount, currency=self.currency)


class RewardsIn(Strict):
    advocate: RewardIn | None = None
    referee: RewardIn | None = None

    @model_validator(mode="after")
    def _one_side(self) -> RewardsIn:
        if self.advocate is None and self.referee is None:
            raise ValueError("a program rewards the advocate, the referee, or both")
        return self


class VariantIn(Strict):
    """One arm of an incentive experiment: new advocates are assigned by weight."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description='Unique in the program; not "default" (the program\'s own rewards)',
    )
    weight: int = Field(ge=1, le=1_000_000, strict=True, description="Relative share")
    rewards: RewardsIn

    @field_validator("name")
    @classmethod
    def _not_default(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("a variant needs a name")
        if name.strip().lower() == DEFAULT_VARIANT:
            raise ValueError('"default" names the program\'s own rewards')
        return name

    def variant(self) -> Variant:
        advocate, referee = self.rewards.advocate, self.rewards.referee
        return Variant(
            name=self.name,
            weight=self.weight,
            advocate_reward=advocate.terms() if advocate else None,
            referee_reward=referee.terms() if referee else None,
        )


Variants = Annotated[list[VariantIn], Field(min_length=1, max_length=20)]


def _distinct_names(variants: list[VariantIn] | None) -> list[VariantIn] | None:
    names = [v.name for v in variants or ()]
    if len(set(names)) != len(names):
        raise ValueError("variant names must be unique")
    return variants


class TierIn(Strict):
    min_successful_referrals: int = Field(ge=1, le=100_000, strict=True)
    advocate_bonus: RewardIn


class ProgramCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    qualifying_event: Literal["signup", "purchase"]
    min_order_value: Amount | None = None
    rewards: RewardsIn
    tiers: list[TierIn] = Field(default_factory=list, max_length=20)
    attribution_window_days: int = Field(default=30, ge=1, le=365, strict=True)
    holding_period_days: int = Field(default=14, ge=0, le=365, strict=True)
    budget: MoneyIn
    per_advocate_cap: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)
    dual_approval_over: Amount | None = None
    review_timeout_days: int = Field(default=30, ge=1, le=365, strict=True)
    review_timeout_action: Literal["approve", "reject"] = "reject"
    auto_reject: bool = Field(default=True, strict=True)
    occurred_at: Timestamp | None = None
    variants: Variants | None = None

    _variant_names = field_validator("variants")(_distinct_names)

    @field_validator("tiers")
    @classmethod
    def _distinct_tiers(cls, tiers: list[TierIn]) -> list[TierIn]:
        thresholds = [t.min_successful_referrals for t in tiers]
        if len(set(thresholds)) != len(thresholds):
            raise ValueError("tiers need distinct min_successful_referrals")
        return sorted(tiers, key=lambda t: t.min_successful_referrals)

    def command(self) -> CreateProgram:
        advocate, referee = self.rewards.advocate, self.rewards.referee
        return CreateProgram(
            name=self.name,
            qualifying_event=self.qualifying_event,
            min_order_value=self.min_order_value,
            advocate_reward=advocate.terms() if advocate else None,
            referee_reward=referee.terms() if referee else None,
            tiers=tuple(
                Tier(
                    min_successful_referrals=t.min_successful_referrals,
                    advocate_bonus=t.advocate_bonus.terms(),
                )
                for t in self.tiers
            ),
            attribution_window_days=self.attribution_window_days,
            holding_period_days=self.holding_period_days,
            budget=Money(self.budget.amount, self.budget.currency),
            per_advocate_cap=self.per_advocate_cap,
            dual_approval_over=self.dual_approval_over,
            review_timeout_days=self.review_timeout_days,
            review_timeout_action=self.review_timeout_action,
            auto_reject=self.auto_reject,
            occurred_at=self.occurred_at,
            variants=tuple(v.variant() for v in self.variants or ()),
        )


class BudgetTopUp(MoneyIn):
    pass


class ProgramUpdate(Strict):
    status: Literal["active", "paused"] | None = None
    budget_top_up: BudgetTopUp | None = None
    holding_period_days: int | None = Field(default=None, ge=0, le=365, strict=True)
    review_timeout_days: int | None = Field(default=None, ge=1, le=365, strict=True)
    review_timeout_action: Literal["approve", "reject"] | None = None
    dual_approval_over: Amount | None = None
    auto_reject: bool | None = Field(default=None, strict=True)
    variants: list[VariantIn] | None = Field(
        default=None,
        max_length=20,
        description="The active variants from now on: weights may change and variants be "
        "added; one left out is retired (its advocates keep its rewards; [] retires every "
        "one, so new advocates are on default); a variant's rewards never change",
    )

    _variant_names = field_validator("variants")(_distinct_names)

    @model_validator(mode="after")
    def _something(self) -> ProgramUpdate:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        return self

    def command(self) -> UpdateProgram:
        top_up = self.budget_top_up
        return UpdateProgram(
            status=ProgramStatus(self.status) if self.status is not None else None,
            budget_top_up=Money(top_up.amount, top_up.currency) if top_up else None,
            holding_period_days=self.holding_period_days,
            review_timeout_days=self.review_timeout_days,
            review_timeout_action=self.review_timeout_action,
            dual_approval_over=self.dual_approval_over,
            auto_reject=self.auto_reject,
            variants=None if self.variants is None else tuple(v.variant() for v in self.variants),
        )


class RewardOut(Out):
    kind: RewardKind
    amount: str
    currency: Currency


class RewardsOut(Out):
    advocate: RewardOut | None
    referee: RewardOut | None


class VariantOut(Out):
    name: str
    weight: int
    rewards: RewardsOut


class TierOut(Out):
    min_successful_referrals: int
    advocate_bonus: RewardOut


class ProgramOut(Out):
    program_id: str
    name: str
    status: ProgramStatus
    qualifying_event: Literal["signup", "purchase"]
    min_order_value: str | None
    rewards: RewardsOut
    tiers: list[TierOut]
    attribution_window_days: int
    holding_period_days: int
    budget: MoneyOut
    budget_used: MoneyOut
    budget_left: MoneyOut
    per_advocate_cap: int | None
    dual_approval_over: str | None
    review_timeout_days: int
    review_timeout_action: Literal["approve", "reject"]
    auto_reject: bool
    variants: list[VariantOut] = Field(
        description="The active incentive variants (empty: every advocate is on default)"
    )
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, program: Program) -> ProgramOut:
        cur = program.currency

        def reward(terms: RewardTerms | None) -> RewardOut | None:
            if terms is None:
                return None
            return RewardOut(
                kind=terms.kind, amount=MoneyOut.of(terms.amount, cur).amount, currency=cur
            )

        def text(amount: Decimal | None) -> str | None:
            return None if amount is None else MoneyOut.of(amount, cur).amount

        return cls(
            program_id=program.program_id,
            name=program.name,
            status=program.status,
            qualifying_event=program.qualifying_event,
            min_order_value=text(program.min_order_value),
            rewards=RewardsOut(
                advocate=reward(program.advocate_reward), referee=reward(program.referee_reward)
            ),
            tiers=[
                TierOut(
                    min_successful_referrals=t.min_successful_referrals,
                    advocate_bonus=RewardOut(
                        kind=t.advocate_bonus.kind,
                        amount=MoneyOut.of(t.advocate_bonus.amount, cur).amount,
                        currency=cur,
                    ),
                )
                for t in program.tiers
            ],
            attribution_window_days=program.attribution_window_days,
            holding_period_days=program.holding_period_days,
            budget=MoneyOut.of(program.budget_total, cur),
            budget_used=MoneyOut.of(program.budget_used, cur),
            budget_left=MoneyOut.of(program.budget_left, cur),
            per_advocate_cap=program.per_advocate_cap,
            dual_approval_over=text(program.dual_approval_over),
            review_timeout_days=program.review_timeout_days,
            review_timeout_action=program.review_timeout_action,
            auto_reject=program.auto_reject,
            variants=[
                VariantOut(
                    name=v.name,
                    weight=v.weight,
                    rewards=RewardsOut(
                        advocate=reward(v.advocate_reward), referee=reward(v.referee_reward)
                    ),
                )
                for v in program.variants
                if v.active
            ],
            created_at=program.created_at,
            updated_at=program.updated_at,
        )


class CodeCheckOut(Out):
    program_id: str
    code: str
    valid: bool
    reason: str | None
    referee_reward: RewardOut | None
