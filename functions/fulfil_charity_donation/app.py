"""Pays charity donations from their queue exactly once (see shared.services.fulfilment)."""

from __future__ import annotations

from shared import wiring
from shared.runtime.fulfilment import fulfilment_handler

lambda_handler = fulfilment_handler(
    "charity_donation",
    service=lambda: wiring.fulfilment_service("charity_donation"),
    visibility=lambda: wiring.queue_visibility("charity_donation"),
    clock=wiring.clock,
)
