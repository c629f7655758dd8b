"""The shop's four markets and the timeline every pattern writes its operations into."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from generators.lantern.identities import Device, IdentityFactory, Person, weighted

START = datetime(2025, 9, 8, tzinfo=UTC)  # a Monday; EU clocks go back on 26 October
DST_END = datetime(2025, 10, 26, 1, tzinfo=UTC)
CENT = Decimal("0.01")
WESTERN_ZONE = frozenset({"GB", "IE", "PT"})
EASTERN_ZONE = frozenset({"RO", "LT", "BG", "GR"})

# Local hour of day when people share codes and order: evening menu planning dominates.
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2, 2.5, 3, 3.5, 4, 3.5, 3, 3, 3.5,
                4.5, 6, 7, 7, 6, 4, 2)  # fmt: skip
# Monday..Sunday: the weekly box is chosen on Sunday evening.
WEEKDAY_WEIGHTS = (1.1, 1.0, 1.0, 1.0, 0.9, 0.8, 1.4)


@dataclass(frozen=True)
class Market:
    ref: str
    country: str
    currency: str
    min_order: Decimal
    shipping: Decimal
    boxes: tuple[Decimal, ...]  # list prices: 2 people x 3/4(/5) meals, then 4 people
    share: float
    program: dict[str, object]

    @property
    def holding_days(self) -> int:
        days = self.program["holding_period_days"]
        assert isinstance(days, int)
        return days


def _money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def _program(
    name: str,
    currency: str,
    minimum: str,
    advocate: tuple[str, str],
    referee: tuple[str, str],
    tiers: list[tuple[int, str]],
    window: int,
    holding: int,
    cap: int,
    dual: str,
    timeout: int,
) -> dict[str, object]:
    return {
        "name": name,
        "qualifying_event": "purchase",
        "min_order_value": minimum,
        "rewards": {
            "advocate": {"kind": advocate[0], **_money(advocate[1], currency)},
            "referee": {"kind": referee[0], **_money(referee[1], currency)},
        },
        "tiers": [
            {
                "min_successful_referrals": n,
                "advocate_bonus": {"kind": "gift_card", **_money(a, currency)},
            }
            for n, a in tiers
        ],
        "attribution_window_days": window,
        "holding_period_days": holding,
        "budget": _money("500000.00", currency),
        "per_advocate_cap": cap,
        "dual_approval_over": dual,
        "review_timeout_days": timeout,
        "review_timeout_action": "reject",
        "auto_reject": True,
    }


def _prices(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


MARKETS: dict[str, Market] = {
    "DE": Market("p-de", "DE", "EUR", Decimal("30.00"), Decimal("5.99"),
                 _prices("59.99", "72.99", "84.99", "94.99", "114.99"), 0.35,
                 _program("Freunde werben: 20 € Gutschein, 15 € für Freunde", "EUR", "30.00",
                          ("gift_card", "20.00"), ("cash", "15.00"), [(5, "30.00")],
                          30, 14, 25, "150.00", 30)),
    "GB": Market("p-gb", "GB", "GBP", Decimal("25.00"), Decimal("4.99"),
                 _prices("49.99", "61.99", "79.99", "96.99"), 0.30,
                 _program("Give £10, get £20", "GBP", "25.00", ("gift_card", "20.00"),
                          ("cash", "10.00"), [(5, "25.00")], 45, 28, 20, "100.00", 30)),
    "FR": Market("p-fr", "FR", "EUR", Decimal("35.00"), Decimal("4.99"),
                 _prices("62.90", "76.90", "99.90", "119.90"), 0.20,
                 _program("Parrainage : 25 € offerts", "EUR", "35.00", ("cash", "25.00"),
                          ("cash", "10.00"), [], 30, 21, 15, "100.00", 21)),
    "NL": Market("p-nl", "NL", "EUR", Decimal("25.00"), Decimal("4.49"),
                 _prices("54.99", "67.99", "89.99", "109.99"), 0.15,
                 _program("Vriendenkorting 15/15", "EUR", "25.00", ("gift_card", "15.00"),
                          ("gift_card", "15.00"), [(3, "10.00"), (10, "40.00")],
                          21, 14, 30, "120.00", 30)),
}  # fmt: skip

FIRST_BOX_DISCOUNTS = ((Decimal("0"), 10), (Decimal("0.25"), 20), (Decimal("0.40"), 30),
                       (Decimal("0.50"), 25), (Decimal("0.60"), 15))  # fmt: skip


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def utc_offset_hours(country: str, at: datetime) -> int:
    base = 0 if country in WESTERN_ZONE else 2 if country in EASTERN_ZONE else 1
    return base + (1 if at < DST_END else 0)


class World:
    """Collects operations and labels; keeps the invariants the product's intake expects."""

    def __init__(self, seed: int, days: int) -> None:
        self.rng = random.Random(seed)
        self.ids = IdentityFactory(self.rng)
        self.days = days
        self.start = START
        self.end = START + timedelta(days=days)
        self._ops: list[tuple[datetime, int, dict[str, object]]] = []
        self.labels: list[dict[str, str]] = []
        self._enrolled: dict[tuple[str, str], datetime] = {}
        self._referred: dict[tuple[str, str], datetime] = {}
        self._enrolment_op: dict[tuple[str, str], int] = {}
        self.happy_referees: dict[str, list[tuple[Person, datetime]]] = {m: [] for m in MARKETS}
        for market in MARKETS.values():
            self._add(
                START - timedelta(days=3),
                {"op": "program", "ref": market.ref, "body": market.program},
            )

    # -- markets and money --

    def market(self) -> Market:
        markets = list(MARKETS.values())
        return self.rng.choices(markets, weights=[m.share for m in markets])[0]

    def first_box(
        self, market: Market, discount: Decimal | None = None, trial_share: float = 0.05
    ) -> Decimal:
        """A first box at a welcome discount; a few build a trial cart just over the minimum."""
        if discount is None and self.rng.random() < trial_share:
            return self.barely_minimum(market)
        price = self.rng.choices(market.boxes, weights=(40, 25, 10, 15, 10)[: len(market.boxes)])
        off = discount if discount is not None else weighted(self.rng, FIRST_BOX_DISCOUNTS)
        return cents(price[0] * (1 - off) + market.shipping)

    def full_box(self, market: Market) -> Decimal:
        return cents(self.rng.choice(market.boxes) + market.shipping)

    def barely_minimum(self, market: Market) -> Decimal:
        extra = self.rng.choice(("0.00", "0.00", "0.01", "0.49", "0.99", "1.50"))
        if self.rng.random() < 0.3:
            extra = f"{self.rng.uniform(0, 3):.2f}"
        return market.min_order + Decimal(extra)

    # -- time --

    def day(self, lo: float = 0, hi: float | None = None) -> datetime:
        """Midnight UTC of a day in [lo, hi), weekdays weighted like real ordering weeks."""
        top = self.days if hi is None else hi
        first, last = int(max(0, lo)), max(int(max(0, lo)) + 1, int(min(self.days, top)))
        days = list(range(first, last))
        weights = [WEEKDAY_WEIGHTS[(START + timedelta(days=d)).weekday()] for d in days]
        return START + timedelta(days=self.rng.choices(days, weights=weights)[0])

    def local_moment(
        self,
        day: datetime,
        country: str,
        hours: tuple[float, ...] = HOUR_WEIGHTS,
    ) -> datetime:
        hour = self.rng.choices(range(24), weights=hours)[0]
        local = day + timedelta(hours=hour, seconds=self.rng.randint(0, 3599))
        return local - timedelta(hours=utc_offset_hours(country, day))

    def after(self, at: datetime, minutes_lo: float, minutes_hi: float) -> datetime:
        return at + timedelta(seconds=int(60 * self.rng.uniform(minutes_lo, minutes_hi)))

    def ordinary_delay(self, at: datetime, median_hours: float = 30.0) -> datetime:
        """Referral to first order: lognormal, median about a day, a tail past three weeks."""
        hours = min(24 * 35, max(0.07, self.rng.lognormvariate(0, 1.3) * median_hours))
        return at + timedelta(seconds=int(hours * 3600))

    # -- operations --

    def _add(self, at: datetime, record: dict[str, object]) -> None:
        at = at.replace(microsecond=0)
        record["at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        self._ops.append((at, len(self._ops), record))

    def context(self, ip: str, device: Device | None, country: str) -> dict[str, str]:
        ctx = {"ip": ip, "country": country}
        if device is not None:
            ctx["device_id"] = device.device_id
            ctx["user_agent"] = device.user_agent
        return ctx

    def home_context(self, person: Person, device: Device | None = None) -> dict[str, str]:
        chosen = device or person.device
        if chosen.is_mobile and self.rng.random() < 0.45:
            return self.context(self.ids.mobile_ip(person.country), chosen, person.country)
        return self.context(person.home_ip, chosen, person.country)

    def enrol(
        self, market: Market, person: Person, before: datetime, ctx: dict[str, str] | None = None
    ) -> datetime:
        """Enrols the advocate once, some minutes to days before their earliest referral.

        Patterns draw a group's referral times out of order, so a referral earlier than the
        enrolment already written moves that enrolment back instead of bunching referrals.
        """
        key = (market.ref, person.customer_id)
        hours = min(24 * 20, self.rng.lognormvariate(0, 1.6) * 6)
        at = max(START - timedelta(days=2), before - timedelta(hours=hours, minutes=2))
        at = at.replace(microsecond=0)
        if key in self._enrolled:
            if self._enrolled[key] < before:
                return self._enrolled[key]
            index = self._enrolment_op[key]
            _, seq, record = self._ops[index]
            record["at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            self._ops[index] = (at, seq, record)
            self._enrolled[key] = at
            return at
        self._enrolled[key] = at
        self._enrolment_op[key] = len(self._ops)
        self._add(
            at,
            {
                "op": "advocate",
                "program": market.ref,
                "body": {
                    "customer_id": person.customer_id,
                    "email": person.email,
                    "context": ctx or self.home_context(person),
                },
            },
        )
        return at

    def refer(
        self,
        market: Market,
        advocate: Person,
        referee: Person,
        at: datetime,
        ctx: dict[str, str],
        label: str,
        pattern: str,
    ) -> datetime | None:
        """Records a referral (never twice for one referee); returns its time or None."""
        key = (market.ref, referee.customer_id)
        if key in self._referred or referee.customer_id == advocate.customer_id:
            return None
        enrolled = self.enrol(market, advocate, at)
        at = max(at, enrolled + timedelta(minutes=1))
        self._referred[key] = at
        self._add(
            at,
            {
                "op": "referral",
                "program": market.ref,
                "advocate": advocate.customer_id,
                "body": {
                    "referee": {"customer_id": referee.customer_id, "email": referee.email},
                    "context": ctx,
                },
            },
        )
        self.labels.append(
            {
                "program": market.ref,
                "referee": referee.customer_id,
                "label": label,
                "pattern": pattern,
            }
        )
        return at

    def purchase(
        self,
        market: Market,
        referee: Person,
        at: datetime,
        amount: Decimal,
        card: str | None = None,
    ) -> str:
        order_id = self.ids.order_id(market.country)
        self._add(
            at,
            {
                "op": "event",
                "program": market.ref,
                "referee": referee.customer_id,
                "body": {
                    "type": "purchase",
                    "order_id": order_id,
                    "amount": str(cents(amount)),
                    "currency": market.currency,
                    "payment_fingerprint": card or referee.card,
                },
            },
        )
        return order_id

    def refund(
        self, market: Market, referee: Person, at: datetime, order_id: str, amount: Decimal
    ) -> None:
        self._add(
            at,
            {
                "op": "refund",
                "program": market.ref,
                "referee": referee.customer_id,
                "body": {
                    "order_id": order_id,
                    "amount": str(cents(amount)),
                    "currency": market.currency,
                },
            },
        )

    def subscribe(
        self,
        market: Market,
        referee: Person,
        first: datetime,
        card: str | None,
        weeks_mean: float = 4.0,
    ) -> None:
        """Later weekly or fortnightly boxes of a referee who kept the subscription."""
        step = 7 if self.rng.random() < 0.7 else 14
        at = first
        horizon = self.end + timedelta(days=14)
        while self.rng.random() > 1 / weeks_mean:
            at = at + timedelta(days=step, minutes=self.rng.randint(-180, 180))
            if at > horizon:
                return
            if self.rng.random() < 0.15:  # a skipped week
                continue
            self.purchase(market, referee, at, self.full_box(market), card)

    def convert(
        self,
        market: Market,
        referee: Person,
        referred: datetime,
        *,
        fast: bool = False,
        amount: Decimal | None = None,
        card: str | None = None,
        keeps_subscription: float = 0.5,
        paid_at: datetime | None = None,
    ) -> tuple[str, datetime, Decimal]:
        """The referee's first box (minutes later when ordered side by side), then more."""
        at = self.after(referred, 2, 40) if fast else self.ordinary_delay(referred)
        at = paid_at or at
        paid = amount if amount is not None else self.first_box(market)
        order_id = self.purchase(market, referee, at, paid, card)
        if self.rng.random() < keeps_subscription:
            self.subscribe(market, referee, at, card)
            self.happy_referees[market.country].append((referee, at))
        return order_id, at, paid

    def sorted_ops(self) -> list[dict[str, object]]:
        return [record for _, _, record in sorted(self._ops, key=lambda op: (op[0], op[1]))]
