"""Payout amounts: exact decimals in the currency's minor unit, never rounded.

Amounts travel as `Decimal` and become text only at the provider edge ("10.00", or
"1000" for JPY). Unlike `shared.money.format_amount`, nothing here rounds: an amount
with more decimals than its currency allows is refused, because a payout silently
rounded is a payout of a different amount.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from shared.money import MINOR_UNITS, check_currency


def is_currency(code: str) -> bool:
    """True for an ISO 4217 code the service handles."""
    return code in MINOR_UNITS


def minor_units(currency: str) -> int:
    """Number of decimals of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return MINOR_UNITS[check_currency(currency)]


def quantize(amount: Decimal, currency: str) -> Decimal:
    """The amount with exactly the currency's decimals; refuses to round anything away."""
    places = minor_units(currency)
    try:
        exact = amount.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation as error:
        raise ValueError(f"not a payable amount: {amount!r}") from error
    if exact != amount:
        raise ValueError(f"{amount} has more decimals than {currency} allows ({places})")
    return exact


def format_amount(amount: Decimal, currency: str) -> str:
    """Decimal string in the currency's minor unit: Decimal("10") USD -> "10.00"."""
    return format(quantize(amount, currency), "f")
