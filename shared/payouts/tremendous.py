"""Gift cards and charity donations through the Tremendous REST API v2 (`/api/v2/orders`).

What the adapter relies on, from Tremendous's published API reference and SDKs:

- `POST /orders` with `external_id`, `payment.funding_source_id` ("balance" = the
  account balance), and one `reward` with `value: {denomination, currency_code}`,
  `delivery: {method: "EMAIL"}`, `recipient: {name, email}` and `products` (or a
  `campaign_id`). Authentication is `Authorization: Bearer <API key>`.
- `external_id` makes the order idempotent: a new order answers 200, and a repeat with
  a known `external_id` answers **201 with the original order and creates nothing**,
  whatever the new body says. Tremendous does not compare the bodies, so this adapter
  does: a repeat whose amount, currency or recipient differ raises `ProviderConflict`.
- `GET /orders/{id}` reads one order; `GET /orders?external_id=...` filters the list
  by key (answering `{"orders": [...], "total_count": n}`); the list also takes
  `created_at[gte]`, `limit` (max 100) and `offset`.
- Order `status`: CANCELED, OPEN, EXECUTED, FAILED, PENDING APPROVAL, PENDING INTERNAL
  PAYMENT APPROVAL, PENDING SETTLEMENT. Each reward's `delivery.status`: SCHEDULED,
  PENDING, SUCCEEDED, FAILED. See `status_from_tremendous` for the mapping.
- Errors answer `{"errors": {"message": ..., "payload": {...}}}`.
- A charity donation is a single-product reward whose one product is the charity's
  product (category `charity` in `GET /products`, e.g. Save the Children); the reward's
  `charity` is that product id. The recipient (the advocate or referee) is told by email
  that a donation was made in their name; the order's value goes to the charity.

Uncertain, to check against the live sandbox before going to production:

- `denomination` is a JSON *number* in Tremendous's schema. It is sent as the exact
  decimal literal (`10.00`), never through a float; whether Tremendous would also accept
  a string is not documented, so a number it is.
- The exact spelling of the created-at filter (`created_at[gte]`) comes from the SDKs'
  parameter names (`createdAtGte`), not from a recorded request.
- Whether list items always embed `rewards` is not stated; an item without them is
  re-read with `GET /orders/{id}`.
- Tremendous has no per-reward message field in v2 (the message belongs to the
  campaign), so `PayoutRequest.message` is not sent. `recipient.name` is sent only
  when known; a campaign that requires a name will refuse the order (`ProviderRejected`).
- `external_id` has no documented length limit; keys stay within 63 characters.
- Whether an order's reward echoes its `products` is not stated: when it does, a repeat
  of a donation key for another charity is a conflict; when not, only the amount,
  currency and recipient are compared.
- A delivery that FAILED (bounced email) maps to "failed", but Tremendous has already
  charged the balance and can resend the reward: finance must resend or cancel it
  there rather than pay again under a new key.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.payouts.amounts import quantize
from shared.payouts.http import HttpResponse, HttpTransport
from shared.payouts.port import (
    OrderNotFound,
    PayoutKind,
    PayoutOrder,
    PayoutRequest,
    PayoutStatus,
    PayoutTerms,
    ProviderConflict,
    ProviderError,
    ProviderMisconfigured,
    ProviderRejected,
    ProviderUnavailable,
)

TREMENDOUS_SANDBOX_URL = "https://testflight.tremendous.com/api/v2"
TREMENDOUS_LIVE_URL = "https://api.tremendous.com/api/v2"

PAGE_SIZE = 100

_PENDING_ORDER_STATUSES = frozenset(
    {"OPEN", "PENDING APPROVAL", "PENDING INTERNAL PAYMENT APPROVAL", "PENDING SETTLEMENT"}
)
_FAILED_ORDER_STATUSES = frozenset({"FAILED", "CANCELED"})


@dataclass(frozen=True)
class TremendousConfig:
    api_key: str = field(repr=False)
    funding_source_id: str = "balance"
    products: tuple[str, ...] = ()
    campaign_id: str | None = None
    base_url: str = TREMENDOUS_SANDBOX_URL
    timeout_seconds: float = 10.0
    # What this provider pays: gift cards (from `products` or the campaign) and/or charity
    # donations (each reward names its charity's product).
    kinds: tuple[PayoutKind, ...] = ("gift_card",)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("Tremendous needs an API key")
        if not set(self.kinds) <= {"gift_card", "charity_donation"}:
            raise ValueError(f"Tremendous pays gift cards and charity donations, not {self.kinds}")
        if "gift_card" in self.kinds and not self.products and not self.campaign_id:
            raise ValueError("Tremendous needs products or a campaign_id for a reward")
        if not self.base_url.startswith("https://"):
            raise ValueError("Tremendous base_url must be https")


def status_from_tremendous(order: Mapping[str, Any]) -> tuple[PayoutStatus, str | None]:
    """Port status and failure reason for a Tremendous order document.

    An unknown status maps to "pending": the order exists, and nothing should either
    count it as settled or pay it again until a person has looked.
    """
    order_status = str(order.get("status", ""))
    if order_status in _FAILED_ORDER_STATUSES:
        return "failed", f"order {order_status}"
    if order_status != "EXECUTED":
        return "pending", None
    rewards = order.get("rewards") or []
    delivery = str((rewards[0].get("delivery") or {}).get("status", "")) if rewards else ""
    if delivery == "SUCCEEDED":
        return "confirmed", None
    if delivery == "FAILED":
        return "failed", "delivery FAILED (resend or cancel the reward at Tremendous)"
    if delivery in ("SCHEDULED", "PENDING"):
        return "sent", None
    return "pending", None


class TremendousProvider:
    """`PayoutProvider` for gift cards and charity donations at Tremendous."""

    def __init__(self, config: TremendousConfig, transport: HttpTransport) -> None:
        self._config = config
        self._transport = transport

    @property
    def name(self) -> str:
        return "tremendous"

    def order_body(self, request: PayoutRequest) -> dict[str, Any]:
        """The `POST /orders` body for a request (public so tests can pin its shape)."""
        recipient: dict[str, Any] = {"email": request.recipient_email}
        if request.recipient_name:
            recipient = {"name": request.recipient_name, **recipient}
        reward: dict[str, Any] = {
            "value": {
                "denomination": quantize(request.amount, request.currency),
                "currency_code": request.currency,
            },
            "delivery": {"method": "EMAIL"},
            "recipient": recipient,
        }
        if request.kind == "charity_donation":
            # A single-product reward: the charity's product, and no campaign whose own
            # products could offer the recipient something else.
            reward["products"] = [request.charity]
        else:
            if self._config.campaign_id:
                reward["campaign_id"] = self._config.campaign_id
            if self._config.products:
                reward["products"] = list(self._config.products)
        return {
            "external_id": request.idempotency_key,
            "payment": {"funding_source_id": self._config.funding_source_id},
            "reward": reward,
        }

    def create_order(self, request: PayoutRequest) -> PayoutOrder:
        if request.kind not in self._config.kinds:
            raise ValueError(
                f"this Tremendous provider pays {self._config.kinds}, not {request.kind}"
            )
        response = self._call("POST", "/orders", json_body=self.order_body(request))
        if response.status not in (200, 201):
            raise self._error(response)
        document = _order_document(response)
        # 201 means "this external_id already has an order"; Tremendous returns it
        # whatever the new body asked for, so the terms are compared here.
        if _terms_of(document, request) != request.terms():
            raise ProviderConflict(
                f"external_id {request.idempotency_key} already has an order with other "
                f"terms ({_describe(document)})",
                provider=self.name,
            )
        return self._to_order(document)

    def find_order(self, idempotency_key: str) -> PayoutOrder | None:
        response = self._call("GET", "/orders", query={"external_id": idempotency_key})
        if response.status != 200:
            raise self._error(response)
        documents = list((response.json or {}).get("orders") or [])
        if not documents:
            return None
        if len(documents) > 1:
            references = [d.get("id") for d in documents]
            raise ProviderConflict(
                f"{len(documents)} orders share external_id {idempotency_key}: {references}",
                provider=self.name,
            )
        return self._to_order(self._with_rewards(documents[0]))

    def get_order(self, provider_reference: str) -> PayoutOrder:
        return self._to_order(self._read(provider_reference))

    def list_orders(self, since: datetime) -> Iterator[PayoutOrder]:
        offset = 0
        while True:
            query = {
                "created_at[gte]": since.isoformat(),
                "limit": str(PAGE_SIZE),
                "offset": str(offset),
            }
            response = self._call("GET", "/orders", query=query)
            if response.status != 200:
                raise self._error(response)
            page = list((response.json or {}).get("orders") or [])
            for document in page:
                yield self._to_order(self._with_rewards(document))
            offset += len(page)
            total = (response.json or {}).get("total_count")
            if len(page) < PAGE_SIZE or (isinstance(total, int) and offset >= total):
                return

    # --- internals ---

    def _read(self, provider_reference: str) -> Mapping[str, Any]:
        path = "/orders/" + urllib.parse.quote(provider_reference, safe="")
        response = self._call("GET", path)
        if response.status == 404:
            raise OrderNotFound(f"no order {provider_reference}", provider=self.name)
        if response.status != 200:
            raise self._error(response)
        return _order_document(response)

    def _with_rewards(self, document: Mapping[str, Any]) -> Mapping[str, Any]:
        if document.get("rewards"):
            return document
        return self._read(str(document["id"]))

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpResponse:
        url = self._config.base_url.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Authorization": f"Bearer {self._config.api_key}"}
        return self._transport.request(
            method,
            url,
            headers=headers,
            json_body=json_body,
            timeout=self._config.timeout_seconds,
        )

    def _to_order(self, document: Mapping[str, Any]) -> PayoutOrder:
        status, reason = status_from_tremendous(document)
        amount, currency = _value_of(document)
        return PayoutOrder(
            provider=self.name,
            idempotency_key=str(document.get("external_id") or ""),
            provider_reference=str(document["id"]),
            status=status,
            amount=amount,
            currency=currency,
            created_at=datetime.fromisoformat(str(document["created_at"])),
            failure_reason=reason,
        )

    def _error(self, response: HttpResponse) -> ProviderError:
        message = _error_message(response)
        if response.status in (401, 403):
            return ProviderMisconfigured(f"{response.status}: {message}", provider=self.name)
        if response.status == 404:
            return OrderNotFound(message, provider=self.name)
        if 400 <= response.status < 500:
            return ProviderRejected(f"{response.status}: {message}", provider=self.name)
        # 1xx/3xx/unexpected 2xx: the order may exist; make the caller look it up.
        return ProviderUnavailable(
            f"unexpected answer {response.status}: {message}", provider=self.name
        )


def _order_document(response: HttpResponse) -> Mapping[str, Any]:
    body = response.json
    if not isinstance(body, Mapping) or not isinstance(body.get("order"), Mapping):
        # A success status without a readable order: it may well exist, so look it up.
        raise ProviderUnavailable(
            f"answer {response.status} without an order", provider="tremendous"
        )
    order: Mapping[str, Any] = body["order"]
    return order


def _first_reward(document: Mapping[str, Any]) -> Mapping[str, Any]:
    rewards = document.get("rewards") or []
    if not rewards:
        raise ProviderError(f"order {document.get('id')} has no reward", provider="tremendous")
    reward: Mapping[str, Any] = rewards[0]
    return reward


def _value_of(document: Mapping[str, Any]) -> tuple[Decimal, str]:
    value = _first_reward(document).get("value") or {}
    currency = str(value.get("currency_code", ""))
    # Tremendous writes 10.0 for ten dollars; quantize restores "10.00" and refuses
    # anything that would need rounding.
    try:
        return quantize(Decimal(str(value.get("denomination"))), currency), currency
    except (ArithmeticError, ValueError) as error:
        raise ProviderError(f"unreadable reward value {value}", provider="tremendous") from error


def _terms_of(document: Mapping[str, Any], request: PayoutRequest) -> PayoutTerms:
    """The terms the order holds, in the request's kind (Tremendous knows no kinds); a
    donation's charity is the order's product when the order shows it."""
    reward = _first_reward(document)
    amount, currency = _value_of(document)
    email = str((reward.get("recipient") or {}).get("email", ""))
    charity = None
    if request.kind == "charity_donation":
        products = [
            str(p.get("id") if isinstance(p, Mapping) else p) for p in reward.get("products") or []
        ]
        charity = products[0] if len(products) == 1 else request.charity
    return PayoutTerms.of(request.kind, amount, currency, email, charity=charity)


def _describe(document: Mapping[str, Any]) -> str:
    amount, currency = _value_of(document)
    return f"order {document.get('id')}: {amount} {currency}"


def _error_message(response: HttpResponse) -> str:
    body = response.json
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, Mapping) and errors.get("message"):
            payload = errors.get("payload")
            return f"{errors['message']}" + (f" {payload}" if payload else "")
    return response.text[:200] or "no details"
