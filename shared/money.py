"""Money: Decimal amounts in ISO 4217 currencies, never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Active ISO 4217 codes and their minor units (digits after the decimal point).
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VES "
    "WST XCD XCG YER ZAR ZMW ZWG"
)
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}

_AMOUNT = re.compile(r"^(0|[1-9]\d{0,14})(\.\d+)?$")


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


def check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise MoneyError(f"'{code}' is not an ISO 4217 currency code")
    return code


def parse_amount(text: str) -> Decimal:
    """A non-negative decimal string such as "10.00"; JSON numbers are refused upstream."""
    if not _AMOUNT.match(text):
        raise MoneyError('amount must be a non-negative decimal string such as "10.00"')
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guards this
        raise MoneyError("amount is not a decimal number") from exc


def check_scale(amount: Decimal, currency: str) -> Decimal:
    digits = MINOR_UNITS[check_currency(currency)]
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        raise MoneyError(f"{currency} amounts have at most {digits} decimal places")
    return amount


def format_amount(amount: Decimal, currency: str) -> str:
    digits = MINOR_UNITS.get(currency, 2)
    return f"{amount.quantize(Decimal(1).scaleb(-digits)):f}"


@dataclass(frozen=True, order=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise MoneyError("Money amounts are Decimal")
        check_currency(self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def text(self) -> str:
        return format_amount(self.amount, self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)
