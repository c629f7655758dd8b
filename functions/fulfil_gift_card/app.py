"""Pays gift card rewards from their queue exactly once (see shared.services.fulfilment)."""

from __future__ import annotations

from shared import wiring
from shared.runtime.fulfilment import fulfilment_handler

lambda_handler = fulfilment_handler(
    "gift_card",
    service=lambda: wiring.fulfilment_service("gift_card"),
    visibility=lambda: wiring.queue_visibility("gift_card"),
    clock=wiring.clock,
)
