"""Commissions: an advocate reward that is a share of each qualifying order.

A commission pays `percent_of_order` of an order's amount, rounded to the currency's
minor unit (half-even) and clamped to `[min, max]`. With the program's `recurring_months`,
the referee's later purchases within that many months of the first qualifying one each
earn their own entry, `<referral_id>-advocate-order-<order_id>`. A refund of such an
order claws back the share of the entry the refund is of the order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from pydantic import BaseModel, ConfigDict

from shared.money import MINOR_UNITS

ORDER_SLOT = "advocate-order-"
# A month of a recurring commission, counted in days (30): a calendar-free window.
MONTH = timedelta(days=30)
MAX_RECURRING_MONTHS = 36


class Commission(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    percent_of_order: Decimal
    min: Decimal | None = None
    max: Decimal | None = None


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


def commission_for(order_amount: Decimal, commission: Commission, currency: str) -> Decimal:
    """The commission on one order: its percent, rounded half-even, within [min, max]."""
    share = (order_amount * commission.percent_of_order / Decimal(100)).quantize(
        _unit(currency), rounding=ROUND_HALF_EVEN
    )
    if commission.min is not None:
        share = max(share, commission.min)
    if commission.max is not None:
        share = min(share, commission.max)
    return share


def clawback_for(
    entry_amount: Decimal, order_amount: Decimal, refunded: Decimal, currency: str
) -> Decimal:
    """What a refund of `refunded` (all refunds of the order so far) takes back of an entry
    of `entry_amount` paid on an order of `order_amount`: the refunded share, rounded down
    to the minor unit (never more than the entry), and the whole entry once the whole order
    is refunded."""
    if order_amount <= 0 or refunded >= order_amount:
        return entry_amount
    share = (entry_amount * refunded / order_amount).quantize(_unit(currency), rounding=ROUND_DOWN)
    return min(max(share, Decimal(0)), entry_amount)


def order_slot(order_id: str) -> str:
    return f"{ORDER_SLOT}{order_id}"


def recurring_until(first_qualified_at: datetime, months: int) -> datetime:
    """The last moment a later purchase earns a recurring commission."""
    return first_qualified_at + MONTH * months
