"""Cash through PayPal Payouts (`/v1/payments/payouts`), one reward per batch.

What the adapter relies on, from PayPal's Payouts API reference:

- An access token from `POST /v1/oauth2/token` (HTTP Basic with client id and secret,
  form `grant_type=client_credentials`), answering `access_token` and `expires_in`.
- `POST /v1/payments/payouts` with `sender_batch_header: {sender_batch_id,
  email_subject, recipient_type}` and `items: [{recipient_type: "EMAIL", amount:
  {value, currency}, receiver, sender_item_id, note}]`; amounts are decimal strings.
  It answers 201 with `batch_header: {payout_batch_id, batch_status: "PENDING", ...}`.
- `sender_batch_id` is PayPal's idempotency key: reused within **30 days**, the request
  is refused with HTTP 400 `USER_BUSINESS_ERROR`, detail `field: "SENDER_BATCH_ID"`,
  `issue: "Batch with given sender_batch_id already exists"`, and a `link` to the
  original batch (older answers say "Duplicate batch request" without a link). PayPal
  documents that after a 5xx the same `sender_batch_id` can be retried safely. The
  adapter follows the link, compares amount, currency and receiver with the request
  (`ProviderConflict` if they differ, the batch still recorded under the key) and
  returns the original order. A duplicate without a link, whose batch the index does not
  know either, is `ProviderDuplicateUnlocated`: the money may have gone out.
  `PayPal-Request-Id` is not used: PayPal's own issue tracker reports it is not
  enforced on this endpoint, and the batch id already is.
- `GET /v1/payments/payouts/{payout_batch_id}`: `batch_header.batch_status` is
  DENIED, PENDING, PROCESSING, SUCCESS or CANCELED; each item's `transaction_status` is
  SUCCESS, FAILED, PENDING, UNCLAIMED, RETURNED, ONHOLD, BLOCKED, REFUNDED or REVERSED.
  See `status_from_paypal` for the mapping.
- Limits: `sender_batch_id` 256 characters, `sender_item_id` 63 (the key is sent as
  both), `receiver` 127, `email_subject` 255, notes 1000 combined. HUF, JPY and TWD are
  paid in whole units only.

Lookup by key: PayPal has no "find batch by sender_batch_id" endpoint and no list of
batches. `find_order` and `list_orders` therefore go through a `PayoutReferenceIndex`
(key -> payout_batch_id) that this adapter fills whenever PayPal names a batch. After a
timeout the index may not know the batch yet; `find_order` then answers None, and the
caller's retry with the same key is still safe for 30 days because PayPal refuses the
duplicate and points at the original. Past 30 days only the index protects against a
second payment, so production should back it with durable storage (the reward ledger
already keeps `provider_reference`).
"""

from __future__ import annotations

import base64
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from shared.clock import Clock, SystemClock
from shared.payouts.amounts import format_amount, quantize
from shared.payouts.http import HttpResponse, HttpTransport
from shared.payouts.port import (
    OrderNotFound,
    PayoutOrder,
    PayoutRequest,
    PayoutStatus,
    PayoutTerms,
    ProviderConflict,
    ProviderDuplicateUnlocated,
    ProviderError,
    ProviderMisconfigured,
    ProviderRejected,
    ProviderUnavailable,
)

PAYPAL_SANDBOX_URL = "https://api-m.sandbox.paypal.com"
PAYPAL_LIVE_URL = "https://api-m.paypal.com"

PAYPAL_DEDUP_WINDOW = timedelta(days=30)
PAYPAL_WHOLE_UNIT_CURRENCIES = frozenset({"HUF", "JPY", "TWD"})
MAX_NOTE_LENGTH = 1000
# Renew the token this long before PayPal says it expires, so a call never carries a
# token that dies on the way.
TOKEN_RENEWAL_MARGIN = timedelta(minutes=5)

_CONFIRMED_ITEM_STATUSES = frozenset({"SUCCESS"})
# UNCLAIMED: paid to an address without a PayPal account yet; PayPal returns the money
# after 30 days unless it is claimed, which then shows as RETURNED.
_SENT_ITEM_STATUSES = frozenset({"PENDING", "UNCLAIMED"})
_FAILED_ITEM_STATUSES = frozenset({"FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED"})
_FAILED_BATCH_STATUSES = frozenset({"DENIED", "CANCELED"})


@dataclass(frozen=True)
class PayPalConfig:
    client_id: str
    client_secret: str = field(repr=False)
    base_url: str = PAYPAL_SANDBOX_URL
    email_subject: str = "You received a referral reward"
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError("PayPal needs a client id and a client secret")
        if not self.base_url.startswith("https://"):
            raise ValueError("PayPal base_url must be https")
        if len(self.email_subject) > 255:
            raise ValueError("PayPal email_subject allows 255 characters")


class PayoutReferenceIndex(Protocol):
    """Which PayPal batch paid which key: PayPal cannot be asked by key."""

    def remember(
        self, idempotency_key: str, payout_batch_id: str, created_at: datetime
    ) -> None: ...

    def reference_for(self, idempotency_key: str) -> str | None: ...

    def references_since(self, since: datetime) -> list[str]: ...


def paypal_amount(amount: Decimal, currency: str) -> str:
    """PayPal's amount string: "10.00"; whole units for HUF, JPY and TWD ("1500")."""
    if currency in PAYPAL_WHOLE_UNIT_CURRENCIES:
        whole = quantize(amount, currency).to_integral_value()
        if whole != amount:
            raise ValueError(f"PayPal pays {currency} in whole units only, not {amount}")
        return format(whole, "f")
    return format_amount(amount, currency)


def status_from_paypal(
    batch_status: str, item: Mapping[str, Any] | None
) -> tuple[PayoutStatus, str | None]:
    """Port status and failure reason from a batch status and its (only) item.

    An unknown status maps to "pending": neither settled nor failed until someone
    has looked, so it is never paid again by mistake.
    """
    if batch_status in _FAILED_BATCH_STATUSES:
        return "failed", f"batch {batch_status}"
    transaction = str(item.get("transaction_status", "")) if item else ""
    if not transaction:
        return ("sent", None) if batch_status == "SUCCESS" else ("pending", None)
    if transaction in _CONFIRMED_ITEM_STATUSES:
        return "confirmed", None
    if transaction in _SENT_ITEM_STATUSES:
        return "sent", None
    if transaction in _FAILED_ITEM_STATUSES:
        return "failed", _item_failure(transaction, item)
    return "pending", None


class PayPalPayoutsProvider:
    """`PayoutProvider` for cash through PayPal Payouts."""

    def __init__(
        self,
        config: PayPalConfig,
        transport: HttpTransport,
        *,
        clock: Clock | None = None,
        references: PayoutReferenceIndex,
    ) -> None:
        self._config = config
        self._transport = transport
        self._clock: Clock = clock or SystemClock()
        self._references = references
        self._token: str | None = None
        self._token_renew_at: datetime | None = None
        self._token_lock = threading.Lock()

    @property
    def name(self) -> str:
        return "paypal"

    def payout_body(self, request: PayoutRequest) -> dict[str, Any]:
        """The `POST /v1/payments/payouts` body (public so tests can pin its shape)."""
        item: dict[str, Any] = {
            "recipient_type": "EMAIL",
            "amount": {
                "value": paypal_amount(request.amount, request.currency),
                "currency": request.currency,
            },
            "receiver": request.recipient_email,
            "sender_item_id": request.idempotency_key,
        }
        if request.message:
            # The note only decorates PayPal's email; cutting it beats refusing to pay.
            item["note"] = request.message[:MAX_NOTE_LENGTH]
        return {
            "sender_batch_header": {
                "sender_batch_id": request.idempotency_key,
                "email_subject": self._config.email_subject,
                "recipient_type": "EMAIL",
            },
            "items": [item],
        }

    def create_order(self, request: PayoutRequest) -> PayoutOrder:
        if request.kind != "cash":
            raise ValueError(f"PayPal pays cash here, not {request.kind}")
        try:
            body = self.payout_body(request)
        except ValueError as error:
            raise ProviderRejected(str(error), provider=self.name) from error
        response = self._call("POST", "/v1/payments/payouts", json_body=body)
        if response.status in (200, 201):
            return self._accepted(request, response)
        duplicate, batch_id = _duplicate_batch(response)
        if duplicate:
            return self._adopt_original(request, batch_id)
        raise self._error(response)

    def find_order(self, idempotency_key: str) -> PayoutOrder | None:
        reference = self._references.reference_for(idempotency_key)
        return self.get_order(reference) if reference is not None else None

    def get_order(self, provider_reference: str) -> PayoutOrder:
        return self._to_order(self._read(provider_reference))

    def list_orders(self, since: datetime) -> Iterator[PayoutOrder]:
        for reference in self._references.references_since(since):
            yield self.get_order(reference)

    # --- internals ---

    def _accepted(self, request: PayoutRequest, response: HttpResponse) -> PayoutOrder:
        header = (response.json or {}).get("batch_header") or {}
        batch_id = header.get("payout_batch_id")
        if not batch_id:
            # Accepted, but unnamed: the batch may exist; the caller must look it up.
            raise ProviderUnavailable("payout accepted without a batch id", provider=self.name)
        # The creation answer usually carries no time; the clock stands in for it until
        # the batch is read, which gives PayPal's own `time_created`.
        created_at = _time(header.get("time_created")) or self._clock.now()
        self._references.remember(request.idempotency_key, str(batch_id), created_at)
        status, reason = status_from_paypal(str(header.get("batch_status", "")), None)
        return PayoutOrder(
            provider=self.name,
            idempotency_key=request.idempotency_key,
            provider_reference=str(batch_id),
            status=status,
            amount=quantize(request.amount, request.currency),
            currency=request.currency,
            created_at=created_at,
            failure_reason=reason,
        )

    def _adopt_original(self, request: PayoutRequest, batch_id: str | None) -> PayoutOrder:
        batch_id = batch_id or self._references.reference_for(request.idempotency_key)
        if batch_id is None:
            # A lost first answer or a concurrent duplicate: the money may have gone out.
            raise ProviderDuplicateUnlocated(
                f"PayPal refused a duplicate batch for {request.idempotency_key} without "
                "naming the original; the payout may have gone out, so the entry waits "
                "until the batch is known",
                provider=self.name,
            )
        document = self._read(batch_id)
        if _terms_of(document) != request.terms():
            # The key did pay that batch: a lookup by key must find it.
            created_at = _time((document.get("batch_header") or {}).get("time_created"))
            self._references.remember(
                request.idempotency_key, batch_id, created_at or self._clock.now()
            )
            raise ProviderConflict(
                f"sender_batch_id {request.idempotency_key} already paid batch {batch_id} "
                "with other terms",
                provider=self.name,
            )
        order = self._to_order(document)
        self._references.remember(request.idempotency_key, batch_id, order.created_at)
        return order

    def _read(self, payout_batch_id: str) -> Mapping[str, Any]:
        path = "/v1/payments/payouts/" + urllib.parse.quote(payout_batch_id, safe="")
        response = self._call("GET", path)
        if response.status == 404 or _error_name(response) == "INVALID_RESOURCE_ID":
            raise OrderNotFound(f"no payout batch {payout_batch_id}", provider=self.name)
        if response.status != 200 or not isinstance(response.json, Mapping):
            raise self._error(response)
        document: Mapping[str, Any] = response.json
        return document

    def _to_order(self, document: Mapping[str, Any]) -> PayoutOrder:
        header = document.get("batch_header") or {}
        item = _only_item(document)
        amount, currency = _item_amount(item)
        status, reason = status_from_paypal(str(header.get("batch_status", "")), item)
        sender_header = header.get("sender_batch_header") or {}
        return PayoutOrder(
            provider=self.name,
            idempotency_key=str(sender_header.get("sender_batch_id", "")),
            provider_reference=str(header.get("payout_batch_id", "")),
            status=status,
            amount=amount,
            currency=currency,
            created_at=_time(header.get("time_created")) or self._clock.now(),
            failure_reason=reason,
        )

    def _call(self, method: str, path: str, *, json_body: Any = None) -> HttpResponse:
        url = self._config.base_url.rstrip("/") + path
        # One renewal on 401: the token may have been revoked before its expiry. A 401
        # means nothing was processed, so sending the same request again is safe.
        for renew in (False, True):
            token = self._access_token(renew=renew)
            response = self._transport.request(
                method,
                url,
                headers={"Authorization": f"Bearer {token}"},
                json_body=json_body,
                timeout=self._config.timeout_seconds,
            )
            if response.status != 401:
                return response
        raise ProviderMisconfigured("PayPal refused a freshly issued token", provider=self.name)

    def _access_token(self, *, renew: bool) -> str:
        with self._token_lock:
            fresh = self._token_renew_at is not None and self._clock.now() < self._token_renew_at
            if self._token is not None and fresh and not renew:
                return self._token
            credentials = f"{self._config.client_id}:{self._config.client_secret}"
            basic = base64.b64encode(credentials.encode()).decode()
            response = self._transport.request(
                "POST",
                self._config.base_url.rstrip("/") + "/v1/oauth2/token",
                headers={"Authorization": f"Basic {basic}"},
                form_body={"grant_type": "client_credentials"},
                timeout=self._config.timeout_seconds,
            )
            body = response.json if isinstance(response.json, Mapping) else {}
            if response.status != 200 or not body.get("access_token"):
                raise ProviderMisconfigured(
                    f"token request answered {response.status}: {_error_text(response)}",
                    provider=self.name,
                )
            lifetime = timedelta(seconds=int(body.get("expires_in", 0)))
            self._token = str(body["access_token"])
            self._token_renew_at = self._clock.now() + max(
                lifetime - TOKEN_RENEWAL_MARGIN, lifetime / 2
            )
            return self._token

    def _error(self, response: HttpResponse) -> ProviderError:
        text = _error_text(response)
        if response.status == 403:
            return ProviderMisconfigured(f"403: {text}", provider=self.name)
        if 400 <= response.status < 500:
            return ProviderRejected(f"{response.status}: {text}", provider=self.name)
        # Anything else after a POST leaves the batch's existence open.
        return ProviderUnavailable(
            f"unexpected answer {response.status}: {text}", provider=self.name
        )


def _duplicate_batch(response: HttpResponse) -> tuple[bool, str | None]:
    """Whether PayPal refused a reused sender_batch_id, and the batch it points at."""
    if response.status != 400 or _error_name(response) != "USER_BUSINESS_ERROR":
        return False, None
    body = response.json if isinstance(response.json, Mapping) else {}
    for detail in body.get("details") or []:
        issue = str(detail.get("issue", "")).casefold()
        if str(detail.get("field", "")).upper() == "SENDER_BATCH_ID" or (
            "sender_batch_id" in issue or "duplicate batch" in issue
        ):
            for link in detail.get("link") or detail.get("links") or []:
                href = str(link.get("href", ""))
                if "/v1/payments/payouts/" in href:
                    return True, urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1]
            return True, None
    return False, None


def _only_item(document: Mapping[str, Any]) -> Mapping[str, Any]:
    items = document.get("items") or []
    if len(items) != 1:
        batch = (document.get("batch_header") or {}).get("payout_batch_id")
        raise ProviderError(f"batch {batch} has {len(items)} items, expected 1", provider="paypal")
    item: Mapping[str, Any] = items[0]
    return item


def _item_amount(item: Mapping[str, Any]) -> tuple[Decimal, str]:
    amount = (item.get("payout_item") or {}).get("amount") or {}
    currency = str(amount.get("currency", ""))
    try:
        return quantize(Decimal(str(amount.get("value"))), currency), currency
    except (ArithmeticError, ValueError) as error:
        raise ProviderError(f"unreadable item amount {amount}", provider="paypal") from error


def _terms_of(document: Mapping[str, Any]) -> PayoutTerms:
    item = _only_item(document)
    amount, currency = _item_amount(item)
    receiver = str((item.get("payout_item") or {}).get("receiver", ""))
    return PayoutTerms.of("cash", amount, currency, receiver)


def _item_failure(transaction: str, item: Mapping[str, Any] | None) -> str:
    errors = (item or {}).get("errors") or {}
    detail = errors.get("name") or errors.get("message")
    return f"{transaction}: {detail}" if detail else transaction


def _error_name(response: HttpResponse) -> str:
    body = response.json
    return str(body.get("name", "")) if isinstance(body, Mapping) else ""


def _error_text(response: HttpResponse) -> str:
    body = response.json
    if isinstance(body, Mapping):
        name = body.get("name") or body.get("error") or ""
        message = body.get("message") or body.get("error_description") or ""
        issues = [d.get("issue") for d in body.get("details") or [] if d.get("issue")]
        return " ".join(str(part) for part in (name, message, *issues) if part) or "no details"
    return response.text[:200] or "no details"


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
