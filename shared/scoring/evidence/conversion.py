"""The conversion itself: how soon after the referral, and how large an order."""

from __future__ import annotations

from decimal import Decimal

from shared.scoring.evidence.source import EvidenceView, Found


def conversion(view: EvidenceView) -> Found:
    referral = view.referral
    converted = referral.qualified_at or view.as_of
    values = {
        "seconds_to_conversion": max((converted - view.t).total_seconds(), 0.0),
        "order_value_ratio": order_value_ratio(
            referral.qualifying_amount, view.program.min_order_value
        ),
    }
    return Found(values, {"qualifying_event": view.program.qualifying_event})


def order_value_ratio(amount: Decimal | None, minimum: Decimal | None) -> float:
    if amount is None or not minimum:
        return 1.0
    return round(float(amount / minimum), 6)
