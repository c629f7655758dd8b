"""Program requests and responses."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from shared.domain.commands import CreateProgram, UpdateProgram
from shared.domain.commissions import MAX_RECURRING_MONTHS
from shared.domain.programs import (
    DEFAULT_VARIANT,
    POINTS,
    MonthlyCaps,
    OverCap,
    Program,
    ProgramStatus,
    RewardKind,
    RewardTerms,
    Tier,
    Variant,
)
from shared.money import Money
from shared.schemas.commissions import CommissionRewardIn
from shared.schemas.common import (
    KIND_TAG,
    Amount,
    Currency,
    MoneyIn,
    MoneyOut,
    Out,
    Strict,
    Timestamp,
)
from shared.schemas.points import PointsRewardIn


def _positive(amount: Decimal) -> Decimal:
    # A reward of nothing cannot be paid out: a provider refuses it, and the referral
    # would wait in `rewarding` for ever.
    if amount <= 0:
        raise ValueError("a reward pays a positive amount")
    return amount


class RewardIn(MoneyIn):
    kind: RewardKind
    # Validated after `kind` (and also when left out), so a donation without one is named.
    charity: str | None = Field(
        default=None,
        max_length=128,
        validate_default=True,
        description="charity_donation only: the charity's id at the payout provider",
    )

    _pays_something = field_validator("amount")(_positive)

    @field_validator("charity")
    @classmethod
    def _charity_for_donations(cls, charity: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if kind == "charity_donation" and (charity is None or not charity.strip()):
            raise ValueError("a charity_donation names its charity (a non-empty id)")
        if kind not in (None, "charity_donation") and charity is not None:
            raise ValueError("only a charity_donation names a charity")
        return charity

    def terms(self, point_value: Money | None = None) -> RewardTerms:
        return RewardTerms(
            kind=self.kind, amount=self.amount, currency=self.currency, charity=self.charity
        )


class CapAmountIn(MoneyIn):
    @field_validator("amount")
    @classmethod
    def _positive_cap(cls, amount: Decimal) -> Decimal:
        if amount <= 0:
            raise ValueError("a monthly cap is a positive amount")
        return amount


class CapsIn(Strict):
    """Monthly allowances, counted by calendar month (UTC) of the release."""

    per_advocate_per_month: CapAmountIn | None = Field(
        default=None,
        description="What one advocate's rewards (advocate rewards and tier bonuses) may "
        "total in a calendar month (UTC)",
    )
    program_per_month: CapAmountIn | None = Field(
        default=None,
        description="What the program's rewards (both sides) may total in a calendar month (UTC)",
    )
    over_cap: OverCap = Field(
        default="defer",
        description="defer: the referral waits, held, for the next month with room; "
        "refuse: the side over the cap is withheld",
    )

    def caps(self) -> MonthlyCaps:
        advocate, program = self.per_advocate_per_month, self.program_per_month
        return MonthlyCaps(
            per_advocate_per_month=advocate.amount if advocate else None,
            program_per_month=program.amount if program else None,
            over_cap=self.over_cap,
        )

    def currencies(self) -> dict[str, str]:
        """Each cap's currency, by the field that names it."""
        named = {
            "caps.per_advocate_per_month.currency": self.per_advocate_per_month,
            "caps.program_per_month.currency": self.program_per_month,
        }
        return {field: cap.currency for field, cap in named.items() if cap is not None}


def _reward_shape(value: Any) -> str:
    """Which model reads a reward: points have their own; every other kind is money."""
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return f"{KIND_TAG}points" if kind == "points" else f"{KIND_TAG}money"


# The tags never reach a client: `field_errors` drops them from error paths.
AnyRewardIn = Annotated[
    Annotated[RewardIn, Tag(f"{KIND_TAG}money")]
    | Annotated[PointsRewardIn, Tag(f"{KIND_TAG}points")],
    Discriminator(_reward_shape),
]


def _advocate_shape(value: Any) -> str:
    """The advocate may also earn a commission: a percent of each qualifying order."""
    has_percent = (
        "percent_of_order" in value
        if isinstance(value, dict)
        else hasattr(value, "percent_of_order")
    )
    return f"{KIND_TAG}commission" if has_percent else _reward_shape(value)


AdvocateRewardIn = Annotated[
    Annotated[RewardIn, Tag(f"{KIND_TAG}money")]
    | Annotated[PointsRewardIn, Tag(f"{KIND_TAG}points")]
    | Annotated[CommissionRewardIn, Tag(f"{KIND_TAG}commission")],
    Discriminator(_advocate_shape),
]


def _has_points(data: dict[str, Any]) -> bool:
    rewards = data.get("rewards")
    terms = [rewards.advocate, rewards.referee] if isinstance(rewards, RewardsIn) else []
    terms += [t.advocate_bonus for t in data.get("tiers") or []]
    terms += [
        t for v in data.get("variants") or [] for t in (v.rewards.advocate, v.rewards.referee)
    ]
    return any(isinstance(t, PointsRewardIn) for t in terms)


def _variant_terms(
    reward: RewardIn | PointsRewardIn | CommissionRewardIn | None, point_value: Money | None
) -> RewardTerms | None:
    if reward is None:
        return None
    if isinstance(reward, PointsRewardIn) and point_value is None:
        # An update's points variant is priced at the program's point_value when it is
        # applied (`ProgramService.update`); until then it is worth nothing.
        return RewardTerms(kind=POINTS, amount=Decimal(0), currency="", points=reward.points)
    return reward.terms(point_value)


class RewardsIn(Strict):
    advocate: AdvocateRewardIn | None = None
    referee: AnyRewardIn | None = None

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

    def variant(self, point_value: Money | None = None) -> Variant:
        return Variant(
            name=self.name,
            weight=self.weight,
            advocate_reward=_variant_terms(self.rewards.advocate, point_value),
            referee_reward=_variant_terms(self.rewards.referee, point_value),
        )


Variants = Annotated[list[VariantIn], Field(min_length=1, max_length=20)]


def _distinct_names(variants: list[VariantIn] | None) -> list[VariantIn] | None:
    names = [v.name for v in variants or ()]
    if len(set(names)) != len(names):
        raise ValueError("variant names must be unique")
    return variants


class TierIn(Strict):
    min_successful_referrals: int = Field(ge=1, le=100_000, strict=True)
    advocate_bonus: AnyRewardIn


class ProgramCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    qualifying_event: Literal["signup", "purchase"]
    min_order_value: Amount | None = None
    rewards: RewardsIn
    tiers: list[TierIn] = Field(default_factory=list, max_length=20)
    variants: Variants | None = None
    # After rewards, tiers and variants: its check reads them.
    point_value: MoneyIn | None = Field(
        default=None,
        validate_default=True,
        description="What one point is worth; required when a reward is points",
    )
    attribution_window_days: int = Field(default=30, ge=1, le=365, strict=True)
    holding_period_days: int = Field(default=14, ge=0, le=365, strict=True)
    budget: MoneyIn
    per_advocate_cap: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)
    caps: CapsIn | None = Field(
        default=None, description="Monthly allowances (calendar month, UTC)"
    )
    dual_approval_over: Amount | None = None
    review_timeout_days: int = Field(default=30, ge=1, le=365, strict=True)
    review_timeout_action: Literal["approve", "reject"] = "reject"
    auto_reject: bool = Field(default=True, strict=True)
    occurred_at: Timestamp | None = None
    recurring_months: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RECURRING_MONTHS,
        strict=True,
        validate_default=True,
        description="A commission also pays on the referee's later purchases for this many "
        "months (30 days each) after the first qualifying one",
    )

    @field_validator("recurring_months")
    @classmethod
    def _recurs_a_commission(cls, months: int | None, info: ValidationInfo) -> int | None:
        rewards = info.data.get("rewards")
        advocate = rewards.advocate if isinstance(rewards, RewardsIn) else None
        if months is not None and not isinstance(advocate, CommissionRewardIn):
            raise ValueError("only a commission advocate reward recurs")
        return months

    _variant_names = field_validator("variants")(_distinct_names)

    @field_validator("point_value")
    @classmethod
    def _prices_points(cls, value: MoneyIn | None, info: ValidationInfo) -> MoneyIn | None:
        if value is None and _has_points(info.data):
            raise ValueError("is required when a reward is points: what one point is worth")
        if value is not None and value.amount <= 0:
            raise ValueError("a point is worth a positive amount")
        return value

    @field_validator("tiers")
    @classmethod
    def _distinct_tiers(cls, tiers: list[TierIn]) -> list[TierIn]:
        thresholds = [t.min_successful_referrals for t in tiers]
        if len(set(thresholds)) != len(thresholds):
            raise ValueError("tiers need distinct min_successful_referrals")
        return sorted(tiers, key=lambda t: t.min_successful_referrals)

    def command(self) -> CreateProgram:
        advocate, referee = self.rewards.advocate, self.rewards.referee
        value = self.point_value
        point_value = Money(value.amount, value.currency) if value else None
        return CreateProgram(
            name=self.name,
            qualifying_event=self.qualifying_event,
            min_order_value=self.min_order_value,
            advocate_reward=advocate.terms(point_value) if advocate else None,
            referee_reward=referee.terms(point_value) if referee else None,
            tiers=tuple(
                Tier(
                    min_successful_referrals=t.min_successful_referrals,
                    advocate_bonus=t.advocate_bonus.terms(point_value),
                )
                for t in self.tiers
            ),
            attribution_window_days=self.attribution_window_days,
            holding_period_days=self.holding_period_days,
            budget=Money(self.budget.amount, self.budget.currency),
            per_advocate_cap=self.per_advocate_cap,
            caps=self.caps.caps() if self.caps else None,
            cap_currencies=self.caps.currencies() if self.caps else {},
            dual_approval_over=self.dual_approval_over,
            point_value=point_value,
            review_timeout_days=self.review_timeout_days,
            review_timeout_action=self.review_timeout_action,
            auto_reject=self.auto_reject,
            occurred_at=self.occurred_at,
            variants=tuple(v.variant(point_value) for v in self.variants or ()),
            recurring_months=self.recurring_months,
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
    # Replaces the program's monthly caps from the next release on.
    caps: CapsIn | None = None
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
            caps=self.caps.caps() if self.caps else None,
            cap_currencies=self.caps.currencies() if self.caps else {},
            variants=None if self.variants is None else tuple(v.variant() for v in self.variants),
        )


class RewardOut(Out):
    kind: RewardKind
    amount: str = Field(description="What the reward is worth (for points: points x point_value)")
    currency: Currency
    charity: str | None = Field(
        default=None,
        exclude_if=lambda charity: charity is None,
        description="The charity a charity_donation pays (donations only)",
    )
    points: int | None = Field(default=None, description="The points a points reward credits")
    percent_of_order: str | None = Field(
        default=None,
        exclude_if=lambda percent: percent is None,
        description="A commission's percent of each qualifying order (commissions only)",
    )
    min: str | None = Field(
        default=None,
        exclude_if=lambda amount: amount is None,
        description="The least one order's commission pays (commissions only)",
    )
    max: str | None = Field(
        default=None,
        exclude_if=lambda amount: amount is None,
        description="The most one order's commission pays (commissions only)",
    )

    @classmethod
    def of(cls, terms: RewardTerms, currency: str) -> RewardOut:
        commission = terms.commission

        def bound(amount: Decimal | None) -> str | None:
            return None if amount is None else MoneyOut.of(amount, currency).amount

        return cls(
            kind=terms.kind,
            amount=MoneyOut.of(terms.amount, currency).amount,
            currency=currency,
            charity=terms.charity,
            points=terms.points,
            percent_of_order=f"{commission.percent_of_order:f}" if commission else None,
            min=bound(commission.min) if commission else None,
            max=bound(commission.max) if commission else None,
        )


class CapsOut(Out):
    per_advocate_per_month: MoneyOut | None
    program_per_month: MoneyOut | None
    over_cap: OverCap

    @classmethod
    def of(cls, caps: MonthlyCaps | None, currency: str) -> CapsOut | None:
        if caps is None:
            return None

        def money(amount: Decimal | None) -> MoneyOut | None:
            return None if amount is None else MoneyOut.of(amount, currency)

        return cls(
            per_advocate_per_month=money(caps.per_advocate_per_month),
            program_per_month=money(caps.program_per_month),
            over_cap=caps.over_cap,
        )


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
    caps: CapsOut | None
    dual_approval_over: str | None
    point_value: MoneyOut | None = None
    recurring_months: int | None = None
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
            return None if terms is None else RewardOut.of(terms, cur)

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
                    advocate_bonus=RewardOut.of(t.advocate_bonus, cur),
                )
                for t in program.tiers
            ],
            attribution_window_days=program.attribution_window_days,
            holding_period_days=program.holding_period_days,
            budget=MoneyOut.of(program.budget_total, cur),
            budget_used=MoneyOut.of(program.budget_used, cur),
            budget_left=MoneyOut.of(program.budget_left, cur),
            per_advocate_cap=program.per_advocate_cap,
            caps=CapsOut.of(program.caps, cur),
            dual_approval_over=text(program.dual_approval_over),
            point_value=(
                MoneyOut.of(program.point_value, cur) if program.point_value is not None else None
            ),
            recurring_months=program.recurring_months,
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
