"""Pays points rewards from their queue onto the customer's points ledger, exactly once
(see shared.services.fulfilment and shared.services.points)."""

from __future__ import annotations

from shared import wiring
from shared.runtime.fulfilment import fulfilment_handler

lambda_handler = fulfilment_handler(
    "points",
    service=lambda: wiring.fulfilment_service("points"),
    visibility=lambda: wiring.queue_visibility("points"),
    clock=wiring.clock,
)
