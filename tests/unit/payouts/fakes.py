"""Test doubles for the payout tests: a clock that moves only when told, and recordings."""

from __future__ import annotations

import copy
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.clock import FixedClock
from shared.payouts.http import (
    HttpResponse,
    decode_json,
    raise_for_transient_status,
)
from shared.payouts.port import PayoutKind, PayoutRequest, ProviderTimeout
from shared.payouts.sandbox_faults import FaultPlan
from tests.payout_doubles import RecordedTransport

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "payouts"

START = datetime(2025, 3, 14, 9, 26, 50, tzinfo=UTC)


def clock_at_start() -> FixedClock:
    return FixedClock(START)


def recording(name: str, clock: FixedClock | None = None) -> RecordedTransport:
    """The recorded exchanges in tests/fixtures/payouts/<name>.json."""
    return RecordedTransport.from_files(FIXTURES / f"{name}.json", clock=clock or clock_at_start())


def exchanges(name: str) -> list[dict[str, Any]]:
    """The exchanges of a recording, to extend with more in a test."""
    recorded: list[dict[str, Any]] = decode_json(
        (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    )["exchanges"]
    return recorded


def payout_request(
    *,
    key: str = "rwd-reward-1",
    reward_id: str = "reward-1",
    kind: PayoutKind = "gift_card",
    amount: str = "10.00",
    currency: str = "USD",
    email: str = "ada@example.com",
    name: str | None = "Ada Advocate",
    message: str | None = None,
    charity: str | None = None,
) -> PayoutRequest:
    return PayoutRequest(
        idempotency_key=key,
        reward_id=reward_id,
        kind=kind,
        amount=Decimal(amount),
        currency=currency,
        recipient_email=email,
        recipient_name=name,
        message=message,
        charity=charity,
    )


class FakeTremendousApi:
    """An in-memory Tremendous behind the `HttpTransport` port, with injected faults.

    It keeps the one promise the adapter depends on: a POST with a known `external_id`
    answers 201 with the original order and creates nothing.
    """

    def __init__(self, faults: FaultPlan, clock: FixedClock) -> None:
        self._faults = faults
        self._clock = clock
        self.orders: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: Any = None,
        form_body: Mapping[str, str] | None = None,
        timeout: float,
    ) -> HttpResponse:
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        if method == "POST" and parts.path == "/api/v2/orders":
            response = self._create(json_body)
        elif method == "GET" and parts.path == "/api/v2/orders":
            fault = self._faults.next_lookup_fault()
            matching = [o for o in self.orders if o["external_id"] == query.get("external_id")]
            response = self._answer(503 if fault else 200, {"orders": matching})
        else:
            raise AssertionError(f"unexpected {method} {url}")
        raise_for_transient_status(
            response, what=f"{method} {url}", now=self._clock.now(), default_retry_after=1.0
        )
        return response

    def _create(self, body: Mapping[str, Any]) -> HttpResponse:
        fault = self._faults.next_create_fault()
        existing = next((o for o in self.orders if o["external_id"] == body["external_id"]), None)
        if fault is not None and not fault.happens_after_processing:
            if fault.kind == "rate_limit":
                return HttpResponse(429, {"retry-after": str(fault.retry_after_seconds)}, None)
            if fault.kind == "error_5xx_before_processing":
                return self._answer(503, None)
            if existing is None:  # a refusal only ever meets a new order
                return self._answer(400, {"errors": {"message": fault.reason}})
        status = 201 if existing is not None else 200
        if existing is None:
            existing = {
                "id": f"ORDER{len(self.orders):07d}",
                "external_id": body["external_id"],
                "created_at": self._clock.now().isoformat(),
                "status": "EXECUTED",
                "rewards": [
                    {
                        "value": body["reward"]["value"],
                        "recipient": body["reward"]["recipient"],
                        "delivery": {"method": "EMAIL", "status": "SCHEDULED"},
                    }
                ],
            }
            self.orders.append(existing)
        if fault is not None and fault.kind == "timeout_after_processing":
            raise ProviderTimeout("fake Tremendous timed out after creating the order")
        if fault is not None and fault.kind == "error_5xx_after_processing":
            return self._answer(502, None)
        return self._answer(status, {"order": existing})

    @staticmethod
    def _answer(status: int, body: Any) -> HttpResponse:
        return HttpResponse(status, {"content-type": "application/json"}, copy.deepcopy(body))
