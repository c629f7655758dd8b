"""Pays cash rewards from their queue exactly once (see shared.services.fulfilment)."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.adapters.fulfilment_batch import fulfilment_handler
from shared.adapters.logging import make_logger

logger = make_logger("fulfil-cash")
# Only the cash provider is built here: this function may not read the other
# provider's secrets.
_handle = fulfilment_handler(
    "cash", logger, partial(wiring.fulfilment_service, "cash"), wiring.queue_visibility
)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _handle(event, context)
