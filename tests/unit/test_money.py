"""Money is Decimal, validated against its currency's minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import MINOR_UNITS, Money, MoneyError, check_scale, format_amount, parse_amount

currencies = st.sampled_from(sorted(MINOR_UNITS))


@given(currency=currencies, minor=st.integers(min_value=0, max_value=10**12))
def test_formatted_amounts_parse_back_to_the_same_value(currency: str, minor: int) -> None:
    amount = Decimal(minor).scaleb(-MINOR_UNITS[currency])
    text = format_amount(amount, currency)
    assert parse_amount(text) == amount
    assert check_scale(parse_amount(text), currency) == amount


@given(currency=currencies)
def test_one_decimal_more_than_the_minor_unit_is_refused(currency: str) -> None:
    digits = MINOR_UNITS[currency] + 1
    with pytest.raises(MoneyError):
        check_scale(Decimal("1." + "1" * digits), currency)


@given(
    a=st.integers(min_value=0, max_value=10**9),
    b=st.integers(min_value=0, max_value=10**9),
)
def test_addition_is_exact(a: int, b: int) -> None:
    total = Money(Decimal(a) / 100, "USD") + Money(Decimal(b) / 100, "USD")
    assert total.amount * 100 == a + b


@pytest.mark.parametrize("text", ["10", "10.5", "0.01", "0"])
def test_decimal_strings_are_amounts(text: str) -> None:
    assert parse_amount(text) == Decimal(text)


@pytest.mark.parametrize("text", ["-1.00", "1e3", "01.00", " 1.00", "1.", ".5", "NaN", ""])
def test_other_strings_are_not_amounts(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text)


def test_currencies_do_not_mix() -> None:
    with pytest.raises(MoneyError):
        Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")


def test_floats_are_not_money() -> None:
    with pytest.raises(MoneyError):
        Money(1.0, "USD")  # type: ignore[arg-type]
