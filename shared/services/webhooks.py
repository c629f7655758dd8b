"""Merchant webhooks: registration, and the delivery of each event to each subscriber.

Registration checks the URL against the guard (in AWS only public `https` targets) and
answers the signing secret once. The secret is kept sealed: XORed with a pad derived from
the personal-data key (an HMAC keyed by the SSM SecureString, per webhook and rotation),
so a table dump or backup alone does not reveal it; the delivery function unseals it only
to sign.

Delivery is two steps on the webhook queue. A published event is fanned out: stored once
(in its referral's partition, where erasure finds it) and one delivery record created per
subscribed webhook, each with a message for attempt 1. An attempt is claimed on the record
before anything is posted (a conditional write on its version), so a duplicate queue
message of the same attempt posts nothing; a failure schedules the next attempt on
`RETRY_DELAYS_S` and, after the last, sends the message to the dead-letter queue.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from shared.clock import Clock
from shared.domain.programs import Program
from shared.domain.webhook_signature import HEADER, sign
from shared.domain.webhooks import (
    EVENT_TYPES,
    MAX_QUEUE_DELAY_S,
    RETRY_DELAYS_S,
    DeliveryOrder,
    DeliveryState,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookNotFound,
)
from shared.errors import Conflict, FieldError, InvalidRequest
from shared.ids import new_id

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix every secret is shown with, not a secret
SECRET_BYTES = 16
# Longer than any attempt takes (a 10 s post in a 60 s invocation), shorter than the
# queue's visibility timeout (360 s), after which a dead consumer's message comes back.
STALE_CLAIM = timedelta(seconds=120)


class UnsafeUrl(ValueError):
    """A webhook URL (or the address it resolves to) the guard refuses."""


class DeliveryFailed(Exception):
    """The attempt reached no answer: refused target, connection error, timeout."""


class Webhooks(Protocol):
    def add(self, webhook: Webhook) -> None: ...
    def get(self, webhook_id: str) -> Webhook | None: ...
    def all(self) -> list[Webhook]: ...
    def remove(self, webhook_id: str) -> bool: ...
    def replace(self, webhook: Webhook, expected_version: int) -> bool: ...


class Deliveries(Protocol):
    def create(self, delivery: WebhookDelivery) -> bool: ...
    def get(self, order: DeliveryOrder) -> WebhookDelivery | None: ...
    def save(self, delivery: WebhookDelivery, expected_version: int) -> bool: ...
    def of_webhook(self, webhook_id: str) -> list[WebhookDelivery]: ...


class Events(Protocol):
    def keep(self, event: WebhookEvent) -> None: ...
    def get(self, order: DeliveryOrder) -> WebhookEvent | None: ...


class Programs(Protocol):
    def get(self, program_id: str) -> Program | None: ...


class UrlGuard(Protocol):
    def check(self, url: str) -> None:
        """Raise `UnsafeUrl` for a URL deliveries must never reach."""
        ...


class Sender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST `body`; the status code, or `DeliveryFailed` when no answer came."""
        ...


class DeliveryQueue(Protocol):
    def schedule(self, order: DeliveryOrder, delay_s: float) -> None: ...
    def dead_letter(self, order: DeliveryOrder) -> None: ...


# The pad a secret is sealed with: `pad(webhook_id, secret_version)`, SECRET_BYTES long.
Pad = Callable[[str, int], bytes]


@dataclass(frozen=True)
class WebhookPorts:
    webhooks: Webhooks
    deliveries: Deliveries
    events: Events
    programs: Programs
    guard: UrlGuard
    pad: Pad


@dataclass(frozen=True)
class DeliveryAdapters:
    """What the delivery side needs besides the stores: how to post, where to queue."""

    sender: Sender
    queue: DeliveryQueue
    delays: tuple[float, ...] = RETRY_DELAYS_S


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


class WebhookService:
    def __init__(self, ports: WebhookPorts, clock: Clock) -> None:
        self._webhooks = ports.webhooks
        self._deliveries = ports.deliveries
        self._programs = ports.programs
        self._guard = ports.guard
        self._pad = ports.pad
        self._clock = clock

    def register(
        self, url: str, events: list[str], program_id: str | None, actor: str
    ) -> tuple[Webhook, str]:
        """The new webhook and its secret (shown this once)."""
        errors = self._refusals(url, events, program_id)
        if errors:
            raise InvalidRequest(errors)
        webhook_id = new_id("wh")
        raw = secrets.token_bytes(SECRET_BYTES)
        webhook = Webhook(
            webhook_id=webhook_id,
            url=url,
            events=list(dict.fromkeys(events)),
            program_id=program_id,
            created_at=self._clock.now(),
            created_by=actor,
            sealed_secret=_xor(raw, self._pad(webhook_id, 1)).hex(),
        )
        self._webhooks.add(webhook)
        return webhook, SECRET_PREFIX + raw.hex()

    def _refusals(self, url: str, events: list[str], program_id: str | None) -> list[FieldError]:
        errors = []
        try:
            self._guard.check(url)
        except UnsafeUrl as exc:
            errors.append(FieldError("url", str(exc), "unsafe_url"))
        unknown = [e for e in events if e not in EVENT_TYPES]
        if not events or unknown:
            shown = ", ".join(unknown) if unknown else "none"
            errors.append(
                FieldError(
                    "events",
                    f"unknown event types: {shown}; known: {', '.join(EVENT_TYPES)}",
                    "unknown_event_type",
                )
            )
        if program_id is not None and self._programs.get(program_id) is None:
            errors.append(FieldError("program_id", f"no program {program_id}", "unknown_program"))
        return errors

    def all(self) -> list[Webhook]:
        return sorted(self._webhooks.all(), key=lambda w: w.created_at)

    def get(self, webhook_id: str) -> Webhook:
        webhook = self._webhooks.get(webhook_id)
        if webhook is None:
            raise WebhookNotFound(f"no webhook {webhook_id}")
        return webhook

    def delete(self, webhook_id: str) -> Webhook:
        webhook = self.get(webhook_id)
        self._webhooks.remove(webhook_id)
        return webhook

    def rotate_secret(self, webhook_id: str) -> tuple[Webhook, str]:
        """A new secret for the webhook (shown this once); the old one stops signing."""
        webhook = self.get(webhook_id)
        version = webhook.secret_version + 1
        raw = secrets.token_bytes(SECRET_BYTES)
        rotated = webhook.model_copy(
            update={
                "sealed_secret": _xor(raw, self._pad(webhook_id, version)).hex(),
                "secret_version": version,
            }
        )
        if not self._webhooks.replace(rotated, webhook.secret_version):
            raise Conflict(f"webhook {webhook_id} changed meanwhile; rotate again")
        return rotated, SECRET_PREFIX + raw.hex()

    def deliveries(self, webhook_id: str) -> list[WebhookDelivery]:
        self.get(webhook_id)
        found = self._deliveries.of_webhook(webhook_id)
        return sorted(found, key=lambda d: (d.event_created_at, d.event_id), reverse=True)

    def secret_of(self, webhook: Webhook) -> str:
        sealed = bytes.fromhex(webhook.sealed_secret)
        return (
            SECRET_PREFIX
            + _xor(sealed, self._pad(webhook.webhook_id, webhook.secret_version)).hex()
        )


@dataclass(frozen=True)
class Attempted:
    """What one queue message did: `action` is fanned_out, delivered, retry_scheduled,
    dead_lettered, duplicate, not_due, stale or cancelled."""

    action: str
    deliveries: int = 0
    status_code: int | None = None
    event_id: str = ""
    attempt: int | None = None


class WebhookDispatcher:
    """The webhook queue's consumer side: fan an event out, make one attempt."""

    def __init__(
        self,
        ports: WebhookPorts,
        service: WebhookService,
        adapters: DeliveryAdapters,
        clock: Clock,
    ) -> None:
        self._webhooks = ports.webhooks
        self._deliveries = ports.deliveries
        self._events = ports.events
        self._guard = ports.guard
        self._service = service
        self._sender = adapters.sender
        self._queue = adapters.queue
        self._clock = clock
        self._delays = adapters.delays

    def handle(self, event: WebhookEvent | None, order: DeliveryOrder | None) -> Attempted:
        """One webhook queue message: an event to fan out, or an attempt to make."""
        if event is not None:
            return replace(self.fan_out(event), event_id=event.event_id)
        if order is None:
            raise ValueError("a webhook message carries an event or an order")
        return replace(self.attempt(order), event_id=order.event_id, attempt=order.attempt)

    def fan_out(self, event: WebhookEvent) -> Attempted:
        subscribers = [w for w in self._webhooks.all() if w.wants(event)]
        if not subscribers:
            return Attempted("fanned_out")
        self._events.keep(event)
        now = self._clock.now()
        for webhook in subscribers:
            delivery = WebhookDelivery(
                webhook_id=webhook.webhook_id,
                event_id=event.event_id,
                event_type=event.type,
                event_created_at=event.created_at,
                referral_id=event.referral_id,
                program_id=event.program_id,
            )
            order = DeliveryOrder.first(delivery, now)
            if not self._deliveries.create(delivery):
                # Published again (or a repeated fan-out): only a delivery never tried
                # is asked for again; the attempt claim makes a second message harmless.
                existing = self._deliveries.get(order)
                if existing is None or existing.attempts:
                    continue
            self._queue.schedule(order, 0)
        return Attempted("fanned_out", deliveries=len(subscribers))

    def attempt(self, order: DeliveryOrder) -> Attempted:
        delivery = self._deliveries.get(order)
        if delivery is None:
            return Attempted("stale")
        now = self._clock.now()
        if len(delivery.attempts) == order.attempt:
            return self._again(delivery, order, now)
        if delivery.state != DeliveryState.PENDING or len(delivery.attempts) > order.attempt:
            return Attempted("duplicate")
        if len(delivery.attempts) != order.attempt - 1:
            return Attempted("stale")
        if order.due_at > now:
            wait = (order.due_at - now).total_seconds()
            self._queue.schedule(order, min(wait, MAX_QUEUE_DELAY_S))
            return Attempted("not_due")
        webhook = self._webhooks.get(order.webhook_id)
        event = self._events.get(order)
        if webhook is None or event is None:
            cancelled = delivery.model_copy(
                update={"state": DeliveryState.CANCELLED, "version": delivery.version + 1}
            )
            self._deliveries.save(cancelled, delivery.version)
            return Attempted("cancelled")
        claimed = delivery.claimed(order.attempt, now)
        if not self._deliveries.save(claimed, delivery.version):
            return Attempted("duplicate")
        return self._post(webhook, event, claimed, order)

    def _again(self, delivery: WebhookDelivery, order: DeliveryOrder, now: datetime) -> Attempted:
        """Another copy of an order whose attempt is claimed: its follow-up is made again
        if the first copy answered (its consumer may have failed to queue the next attempt
        or the dead letter; a second of either is harmless), recovered if the claim was
        never answered, and nothing else is posted."""
        last = delivery.attempts[-1]
        if last.finished and delivery.state in (DeliveryState.PENDING, DeliveryState.FAILED):
            self._follow_up(delivery, order, last.status_code)
            return Attempted("duplicate", status_code=last.status_code)
        if delivery.state == DeliveryState.PENDING and self._interrupted(delivery, now):
            return self._recover(delivery, order, now)
        return Attempted("duplicate")

    @staticmethod
    def _interrupted(delivery: WebhookDelivery, now: datetime) -> bool:
        """The last attempt was claimed but never answered, longer ago than any post takes:
        its consumer died mid-post, and this is the queue's redelivery of its order."""
        last = delivery.attempts[-1] if delivery.attempts else None
        return last is not None and not last.finished and now - last.at > STALE_CLAIM

    def _recover(self, delivery: WebhookDelivery, order: DeliveryOrder, now: datetime) -> Attempted:
        error = "interrupted: no answer was recorded"
        answered = delivery.answered(status_code=None, error=error, at=now, delays=self._delays)
        if not self._deliveries.save(answered, delivery.version):
            return Attempted("duplicate")
        return self._follow_up(answered, order, None)

    def _post(
        self, webhook: Webhook, event: WebhookEvent, claimed: WebhookDelivery, order: DeliveryOrder
    ) -> Attempted:
        body = event.body()
        status: int | None = None
        error: str | None = None
        try:
            self._guard.check(webhook.url)
            headers = {
                "Content-Type": "application/json",
                HEADER: sign(self._service.secret_of(webhook), body, self._clock.now()),
                "Rewards-Event-Id": event.event_id,
                "Rewards-Event-Type": event.type,
            }
            status = self._sender.post(webhook.url, body, headers)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except (UnsafeUrl, DeliveryFailed) as exc:
            error = str(exc)[:200] or type(exc).__name__
        answered = claimed.answered(
            status_code=status, error=error, at=self._clock.now(), delays=self._delays
        )
        self._deliveries.save(answered, claimed.version)
        return self._follow_up(answered, order, status)

    def _follow_up(
        self, answered: WebhookDelivery, order: DeliveryOrder, status: int | None
    ) -> Attempted:
        if answered.state == DeliveryState.DELIVERED:
            return Attempted("delivered", status_code=status)
        if answered.state == DeliveryState.FAILED:
            self._queue.dead_letter(order)
            return Attempted("dead_lettered", status_code=status)
        due = answered.attempts[-1].next_attempt_at or self._clock.now()
        following = order.next(due)
        wait = max(0.0, (due - self._clock.now()).total_seconds())
        self._queue.schedule(following, min(wait, MAX_QUEUE_DELAY_S))
        return Attempted("retry_scheduled", status_code=status)
