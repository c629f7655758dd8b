"""The conversion itself: how soon after the referral, and how large an order; an order of
exactly the minimum is what a script buys, and fewer people than one in twenty do."""

from __future__ import annotations

from decimal import Decimal

from shared.scoring.evidence.source import EvidenceView, Found, flag


def conversion(view: EvidenceView) -> Found:
    referral = view.referral
    converted = referral.qualified_at or view.as_of
    minimum = view.program.min_order_value
    values = {
        "seconds_to_conversion": max((converted - view.t).total_seconds(), 0.0),
        "order_value_ratio": order_value_ratio(referral.qualifying_amount, minimum),
        "order_at_minimum": flag(bool(minimum) and referral.qualifying_amount == minimum),
    }
    return Found(values, {"qualifying_event": view.program.qualifying_event})


def order_value_ratio(amount: Decimal | None, minimum: Decimal | None) -> float:
    if amount is None or not minimum:
        return 1.0
    return round(float(amount / minimum), 6)
