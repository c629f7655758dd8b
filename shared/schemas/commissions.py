"""Commission rewards: the advocate's percent of each qualifying order."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from shared.domain.commissions import Commission
from shared.domain.programs import RewardTerms
from shared.money import Money
from shared.schemas.common import Amount, Currency, Strict, money_scale

HUNDRED = Decimal(100)


class CommissionRewardIn(Strict):
    """A share of each qualifying order's amount, rounded to the currency's minor unit
    (half-even) and kept within [min, max]."""

    kind: Literal["cash", "gift_card"]
    percent_of_order: Amount = Field(
        description="Percent of the order's amount, above 0, at most 100"
    )
    currency: Currency
    min: Amount | None = Field(default=None, description="The least one order's commission pays")
    max: Amount | None = Field(default=None, description="The most one order's commission pays")

    @field_validator("percent_of_order")
    @classmethod
    def _a_percent(cls, percent: Decimal) -> Decimal:
        if not Decimal(0) < percent <= HUNDRED:
            raise ValueError("percent_of_order is above 0 and at most 100")
        return percent

    _scale = field_validator("min", "max")(money_scale)

    @field_validator("max")
    @classmethod
    def _not_below_min(cls, ceiling: Decimal | None, info: ValidationInfo) -> Decimal | None:
        floor = info.data.get("min")
        if ceiling is not None and floor is not None and ceiling < floor:
            raise ValueError("max must not be below min")
        return ceiling

    def terms(self, point_value: Money | None = None) -> RewardTerms:
        nominal = self.max if self.max is not None else self.min
        return RewardTerms(
            kind=self.kind,
            amount=nominal if nominal is not None else Decimal(0),
            currency=self.currency,
            commission=Commission(
                percent_of_order=self.percent_of_order, min=self.min, max=self.max
            ),
        )
