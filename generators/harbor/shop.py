"""The harbor shop: its referral programs, its catalogue and the rhythm of its traffic."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from random import Random

CENT = Decimal("0.01")
# Fixed start so a seed always means the same calendar: a Monday just before fall term.
EPOCH = datetime(2026, 8, 24, tzinfo=UTC)
DAY = 86_400
HOUR = 3_600


@dataclass(frozen=True)
class ProgramSpec:
    ref: str
    currency: str
    min_order: Decimal
    holding_days: int
    window_days: int
    price_factor: Decimal  # catalogue price in this currency per USD list price
    tax_rates: tuple[str, ...]
    body: dict


def _reward(kind: str, amount: str, currency: str) -> dict:
    return {"kind": kind, "amount": amount, "currency": currency}


def _spec(ref: str, name: str, currency: str, minimum: str, *, rewards: tuple[tuple, tuple],
          tiers: list[tuple[int, str, str]], window: int, holding: int, cap: int, dual: str,
          price_factor: str, tax_rates: tuple[str, ...]) -> ProgramSpec:  # fmt: skip
    (advocate_kind, advocate_amount), (referee_kind, referee_amount) = rewards
    body = {
        "name": name,
        "qualifying_event": "purchase",
        "min_order_value": minimum,
        "rewards": {
            "advocate": _reward(advocate_kind, advocate_amount, currency),
            "referee": _reward(referee_kind, referee_amount, currency),
        },
        "tiers": [
            {"min_successful_referrals": count, "advocate_bonus": _reward(kind, amount, currency)}
            for count, kind, amount in tiers
        ],
        "attribution_window_days": window,
        "holding_period_days": holding,
        "budget": {"amount": "2500000.00", "currency": currency},
        "per_advocate_cap": cap,
        "dual_approval_over": dual,
        "review_timeout_days": 30,
        "review_timeout_action": "reject",
        "auto_reject": True,
    }
    return ProgramSpec(ref, currency, Decimal(minimum), holding, window, Decimal(price_factor),
                       tax_rates, body)  # fmt: skip


US_TAX = ("0.0000", "0.0625", "0.0700", "0.0725", "0.0825", "0.0888", "0.0600", "0.0400")
CA_TAX = ("0.0500", "0.1300", "0.1300", "0.1200", "0.1498", "0.1500", "0.1100")

PROGRAMS = {
    "p1": _spec(
        "p1", "Trail Crew: give $15, get $20", "USD", "50.00",
        rewards=(("gift_card", "20.00"), ("cash", "15.00")),
        tiers=[(5, "gift_card", "25.00")],
        window=30, holding=14, cap=25, dual="100.00", price_factor="1.00", tax_rates=US_TAX,
    ),
    "p2": _spec(
        "p2", "Northern Outfitters Canada: give $20, get $25", "CAD", "75.00",
        rewards=(("cash", "25.00"), ("gift_card", "20.00")),
        tiers=[(3, "cash", "15.00"), (10, "cash", "50.00")],
        window=45, holding=21, cap=15, dual="150.00", price_factor="1.35", tax_rates=CA_TAX,
    ),
    "p3": _spec(
        "p3", "Campus Crew: $10 for you, $10 for them", "USD", "30.00",
        rewards=(("gift_card", "10.00"), ("gift_card", "10.00")),
        tiers=[],
        window=14, holding=7, cap=10, dual="100.00", price_factor="1.00", tax_rates=US_TAX,
    ),
}  # fmt: skip

# USD list prices of the catalogue, cheapest first (socks to down parkas).
CATALOGUE = (
    "14.95 18.95 22.00 24.95 28.00 29.95 34.00 38.00 44.95 49.95 54.00 64.95 "
    "69.00 79.00 89.95 99.00 119.00 129.00 139.95 159.95 179.00 189.00 229.00 279.00 349.00"
).split()


def price(item_usd: str, spec: ProgramSpec) -> Decimal:
    """The item's shelf price in the program's currency (CAD prices end in .99 or .00)."""
    raw = Decimal(item_usd) * spec.price_factor
    if spec.currency == "USD":
        return raw.quantize(CENT)
    return (raw.to_integral_value(rounding=ROUND_CEILING) - Decimal("0.01")).quantize(CENT)


def order_total(rng: Random, spec: ProgramSpec, items: list[Decimal]) -> Decimal:
    """Subtotal plus sales tax, plus shipping under the free-shipping line."""
    subtotal = sum(items, Decimal("0"))
    tax = (subtotal * Decimal(rng.choice(spec.tax_rates))).quantize(CENT, ROUND_HALF_UP)
    shipping = Decimal("0") if subtotal >= spec.min_order * 2 else Decimal("7.95")
    return (subtotal + tax + shipping).quantize(CENT)


def basket(rng: Random, spec: ProgramSpec, lean: float = 0.0) -> list[Decimal]:
    """A shopper's basket; ``lean`` > 0 favours cheap items, < 0 big-ticket ones."""
    count = rng.choices((1, 2, 3, 4, 5), weights=(38, 31, 17, 9, 5))[0]
    top = len(CATALOGUE) - 1
    picks = []
    for _ in range(count):
        position = rng.betavariate(1.6 + max(-lean, 0) * 3, 2.2 + max(lean, 0) * 3)
        picks.append(price(CATALOGUE[min(top, int(position * len(CATALOGUE)))], spec))
    return picks


class Timeline:
    """Turns 'some day, at a human hour' into seconds since the epoch."""

    # Share of a shopper's activity per local hour (evening peak, lunch bump, quiet night).
    HOURLY = (
        2,
        1,
        1,
        1,
        1,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        7,
        6,
        6,
        6,
        7,
        8,
        10,
        11,
        11,
        8,
        4,
    )

    def __init__(self, rng: Random, days: int) -> None:
        self.rng = rng
        self.days = days
        self.end = days * DAY

    def at(self, day: float, utc_offset: int, hours: tuple[int, ...] | None = None) -> int:
        """A moment on ``day`` (days since epoch) at a local hour drawn from the rhythm."""
        weights = hours or self.HOURLY
        hour = self.rng.choices(range(24), weights=weights)[0]
        local = math.floor(day) * DAY + hour * HOUR + self.rng.randrange(HOUR)
        return local + utc_offset * HOUR

    def day(self, low: float = 0.0, high: float | None = None) -> float:
        """A day in [low, high), weekends slightly busier for a shop like this."""
        high = self.days if high is None else high
        while True:
            day = self.rng.uniform(low, max(low, high - 1e-6))
            weekday = int(day) % 7  # epoch is a Monday
            if weekday >= 5 or self.rng.random() < 0.82:
                return day

    def later(self, start: int, median_hours: float, spread: float = 1.1) -> int:
        """A log-normal delay after ``start`` (at least a minute)."""
        delay = self.rng.lognormvariate(math.log(median_hours * HOUR), spread)
        return start + max(60, int(delay))


def iso(seconds: int) -> str:
    stamp = datetime.fromtimestamp(EPOCH.timestamp() + seconds, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
