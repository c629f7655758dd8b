"""Pays cash rewards from their queue exactly once (see shared.services.fulfilment)."""

from __future__ import annotations

from shared import wiring
from shared.runtime.fulfilment import fulfilment_handler

lambda_handler = fulfilment_handler(
    "cash",
    service=lambda: wiring.fulfilment_service("cash"),
    visibility=lambda: wiring.queue_visibility("cash"),
    clock=wiring.clock,
)
