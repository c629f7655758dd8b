"""Webhooks, their deliveries and the events they deliver, on the table."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from shared.clock import iso
from shared.domain.webhooks import DeliveryOrder, Webhook, WebhookDelivery, WebhookEvent
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import (
    ConditionFailed,
    Delete,
    Equals,
    Exists,
    Item,
    KeyRange,
    NotExists,
    Put,
    Table,
    query_all,
)

# Deliveries and the events they deliver are kept for 30 days after the event (DynamoDB's
# TTL removes them): the retry schedule ends within 3, the rest is there to be read.
KEPT_FOR = timedelta(days=30)


def _expiry(event_created_at: datetime) -> int:
    return int((event_created_at + KEPT_FOR).timestamp())


class WebhookRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def _item(self, webhook: Webhook) -> Item:
        pk, sk = keys.webhook(webhook.webhook_id)
        return {
            "pk": pk,
            "sk": sk,
            "type": "webhook",
            "secret_version": webhook.secret_version,
            "doc": to_doc(webhook),
        }

    def add(self, webhook: Webhook) -> None:
        self._table.write([Put(self._item(webhook), NotExists())])

    def get(self, webhook_id: str) -> Webhook | None:
        item = self._table.get(*keys.webhook(webhook_id))
        return from_item(Webhook, item) if item else None

    def all(self) -> list[Webhook]:
        found = query_all(self._table, keys.WEBHOOKS, key_range=KeyRange(begins_with="WEBHOOK#"))
        return [from_item(Webhook, item) for item in found]

    def remove(self, webhook_id: str) -> bool:
        try:
            self._table.write([Delete(*keys.webhook(webhook_id), Exists())])
        except ConditionFailed:
            return False
        return True

    def replace(self, webhook: Webhook, expected_version: int) -> bool:
        """Save a rotated secret, unless another rotation got in first."""
        try:
            self._table.write(
                [Put(self._item(webhook), Equals("secret_version", expected_version))]
            )
        except ConditionFailed:
            return False
        return True


class WebhookDeliveries:
    """Each delivery is one versioned item: every attempt is claimed, then answered, by a
    conditional write on its version."""

    def __init__(self, table: Table) -> None:
        self._table = table

    @staticmethod
    def _item(delivery: WebhookDelivery) -> Item:
        pk, sk = keys.webhook_delivery(
            delivery.webhook_id, delivery.event_created_at, delivery.event_id
        )
        return {
            "pk": pk,
            "sk": sk,
            "type": "webhook_delivery",
            "state": delivery.state.value,
            "version": delivery.version,
            "expires_at": _expiry(delivery.event_created_at),
            "doc": to_doc(delivery),
        }

    def create(self, delivery: WebhookDelivery) -> bool:
        try:
            self._table.write([Put(self._item(delivery), NotExists())])
        except ConditionFailed:
            return False
        return True

    def get(self, order: DeliveryOrder) -> WebhookDelivery | None:
        key = keys.webhook_delivery(order.webhook_id, order.event_created_at, order.event_id)
        item = self._table.get(*key)
        return from_item(WebhookDelivery, item) if item else None

    def save(self, delivery: WebhookDelivery, expected_version: int) -> bool:
        try:
            self._table.write([Put(self._item(delivery), Equals("version", expected_version))])
        except ConditionFailed:
            return False
        return True

    def of_webhook(self, webhook_id: str) -> list[WebhookDelivery]:
        found = query_all(self._table, keys.webhook_deliveries(webhook_id))
        return [from_item(WebhookDelivery, item) for item in found]


class WebhookEvents:
    def __init__(self, table: Table) -> None:
        self._table = table

    def keep(self, event: WebhookEvent) -> None:
        pk, sk = keys.webhook_event(event.event_id, event.referral_id, event.program_id)
        item = {
            "pk": pk,
            "sk": sk,
            "type": "webhook_event",
            "created_at": iso(event.created_at),
            "expires_at": _expiry(event.created_at),
            "doc": to_doc(event),
        }
        # Published before: the stored copy (perhaps erased since) stands.
        with contextlib.suppress(ConditionFailed):
            self._table.write([Put(item, NotExists())])

    def get(self, order: DeliveryOrder) -> WebhookEvent | None:
        item = self._table.get(
            *keys.webhook_event(order.event_id, order.referral_id, order.program_id)
        )
        return from_item(WebhookEvent, item) if item else None
