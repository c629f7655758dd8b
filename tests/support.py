"""Builders shared by the test suites: bodies as a client would send them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def program_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Give 10 get 10",
        "qualifying_event": "purchase",
        "min_order_value": "20.00",
        "rewards": {
            "advocate": {"kind": "gift_card", "amount": "10.00", "currency": "USD"},
            "referee": {"kind": "cash", "amount": "10.00", "currency": "USD"},
        },
        "tiers": [
            {
                "min_successful_referrals": 5,
                "advocate_bonus": {"kind": "gift_card", "amount": "25.00", "currency": "USD"},
            }
        ],
        "attribution_window_days": 30,
        "holding_period_days": 14,
        "budget": {"amount": "5000.00", "currency": "USD"},
        "per_advocate_cap": 20,
        "dual_approval_over": "100.00",
        "review_timeout_days": 30,
        "review_timeout_action": "reject",
        "auto_reject": True,
    }
    body.update(overrides)
    return body


def advocate_body(customer_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    customer = customer_id or unique("adv")
    body: dict[str, Any] = {
        "customer_id": customer,
        "email": f"{customer}@example.com",
        "context": {"ip": "203.0.113.7", "device_id": unique("dev"), "country": "US"},
    }
    body.update(overrides)
    return body


def referral_body(program_id: str, code: str, **overrides: Any) -> dict[str, Any]:
    referee = unique("ref")
    body: dict[str, Any] = {
        "program_id": program_id,
        "referral_code": code,
        "referee": {"customer_id": referee, "email": f"{referee}@example.org"},
        "context": {"ip": "198.51.100.23", "device_id": unique("dev"), "country": "US"},
    }
    body.update(overrides)
    return body


def purchase_body(
    order_id: str | None = None, amount: str = "45.00", **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "purchase",
        "order_id": order_id or unique("ord"),
        "amount": amount,
        "currency": "USD",
        "payment_fingerprint": unique("card"),
    }
    body.update(overrides)
    return body
