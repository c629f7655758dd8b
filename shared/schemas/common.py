"""Building blocks shared by the request and response models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from shared.clock import iso, parse_iso
from shared.domain.commands import ClientContext
from shared.money import MoneyError, check_currency, check_scale, format_amount, parse_amount

# Validators are built on a model's first use, not at import (defer_build): the catalogue
# imports every route's models, and building them all took about 60 ms of each HTTP
# function's cold import, though a function uses only its own routes' few.


def _takes_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_takes_null(o) for o in schema.get("anyOf", []))


def _optional_fields_take_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The document says what the validator accepts: every field a client may leave out
    may also be sent as null."""
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if name in required or _takes_null(prop):
            continue
        meta = {k: prop.pop(k) for k in ("title", "description", "default") if k in prop}
        if "anyOf" in prop:
            prop["anyOf"].append({"type": "null"})
            prop.update(meta)
        else:
            alternatives = [dict(prop), {"type": "null"}]
            prop.clear()
            prop.update({"anyOf": alternatives, **meta})


# Tags of the union members a body field may take (a reward by kind): part of pydantic's
# error paths, never of a field's name, so `field_errors` drops them.
KIND_TAG = "kind:"


class Strict(BaseModel):
    """Request bodies: unknown fields are refused; null for an optional field is the same
    as leaving it out (a PATCH included: null changes nothing)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=False,
        json_schema_extra=_optional_fields_take_null,
        defer_build=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {
            name: value
            for name, value in data.items()
            if not (value is None and name in fields and not fields[name].is_required())
        }


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


def _amount(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise ValueError('amount must be a decimal string such as "10.00", not a JSON number')
    try:
        return parse_amount(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


def _currency(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("currency must be an ISO 4217 code string")
    try:
        return check_currency(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("timestamp must be an ISO 8601 string")
    text = value.strip()
    if len(text) < 20 or "T" not in text.upper():
        raise ValueError(
            "timestamp must be ISO 8601 with date, time and zone, e.g. 2026-01-31T12:00:00Z"
        )
    try:
        return parse_iso(text)
    except ValueError as exc:
        raise ValueError(
            "timestamp must be ISO 8601 with a timezone, e.g. 2026-01-31T12:00:00Z"
        ) from exc


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    PlainSerializer(lambda v: f"{v:f}", return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^(0|[1-9]\d{0,14})(\.\d+)?$", "example": "10.00"}
    ),
]
Currency = Annotated[
    str,
    BeforeValidator(_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$", "example": "USD"}),
]
Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp),
    PlainSerializer(iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-01-31T12:00:00Z"}),
]
Text = Annotated[str, Field(min_length=1, max_length=512)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.:@\-]+$")]
Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        json_schema_extra={"format": "email"},
    ),
]


def money_scale(amount: Decimal | None, info: ValidationInfo) -> Decimal | None:
    """Field validator body: the amount has no more decimals than its sibling currency allows."""
    currency = info.data.get("currency")
    if amount is None or currency is None:
        return amount
    try:
        return check_scale(amount, currency)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


class MoneyIn(Strict):
    currency: Currency
    amount: Amount

    _scale = field_validator("amount")(money_scale)


class MoneyOut(Out):
    amount: str
    currency: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> MoneyOut:
        return cls(amount=format_amount(amount, currency), currency=currency)


class Context(Strict):
    """Where a request came from: the evidence scoring links accounts by."""

    ip: Text | None = None
    device_id: Text | None = None
    user_agent: Text | None = None
    country: Text | None = None

    def command(self) -> ClientContext:
        return ClientContext(
            ip=self.ip, device_id=self.device_id, user_agent=self.user_agent, country=self.country
        )


T = TypeVar("T")


class PageOut(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None


class FieldErrorOut(Out):
    field: str
    message: str
    code: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldErrorOut] | None = None
