"""What every pattern shares: the seeded draws, the calendar, the ledger and shopping habits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from random import Random

from generators.harbor.identities import Identities, Person
from generators.harbor.ledger import Ledger, Order, Referral, context
from generators.harbor.shop import (
    CENT,
    DAY,
    HOUR,
    PROGRAMS,
    ProgramSpec,
    Timeline,
    basket,
    order_total,
)

HOME_PROGRAM = {"US": "p1", "CA": "p2"}


@dataclass(frozen=True)
class Buying:
    """How a referee shops after following the link."""

    chance: float = 0.62  # share of referees who buy at all
    median_hours: float = 22.0  # link click to checkout
    lean: float = 0.0  # > 0 cheap baskets, < 0 big-ticket ones
    top_up: float = 0.7  # below the minimum, adds an item to reach it
    repeat: float = 0.12  # comes back for a second order
    returns: float = 0.035  # sends something back later
    return_days: float = 9.0  # median days from order to return


ORDINARY = Buying()


class World:
    def __init__(self, seed: int, days: int, scale: float) -> None:
        self.rng = Random(seed)
        self.days = days
        self.scale = scale
        self.ids = Identities(self.rng)
        self.clock = Timeline(self.rng, days)
        self.ledger = Ledger(self.rng, days * DAY)
        # Regional carrier egress, shared by every phone on mobile data.
        self.carrier = {c: self.ids.carrier_egress(c, 14) for c in ("US", "CA")}

    def count(self, base: int) -> int:
        return max(1, round(base * self.scale))

    def country(self) -> str:
        return "US" if self.rng.random() < 0.68 else "CA"

    def program_for(self, country: str) -> ProgramSpec:
        return PROGRAMS[HOME_PROGRAM.get(country, "p1")]

    def is_phone(self, person: Person) -> bool:
        agent = person.device.user_agent
        return "iPhone" in agent or "Mobile Safari" in agent

    def visit(self, person: Person, mobile_share: float = 0.3) -> dict:
        """Where a person is when they click: home Wi-Fi, or the carrier on a phone."""
        ip = person.home_ip
        if self.is_phone(person) and self.rng.random() < mobile_share:
            ip = self.rng.choice(self.carrier.get(person.country, self.carrier["US"]))
        device = person.device
        return context(ip, device.device_id, device.user_agent, person.country)

    def after(
        self, start: int, mean_days: float, person: Person, hours: tuple[int, ...] | None = None
    ) -> int:
        """A human moment some days after ``start`` in the person's own time zone."""
        day = start / DAY + self.rng.expovariate(1 / mean_days)
        moment = self.clock.at(day, person.utc_offset, hours)
        return moment if moment > start else start + self.rng.randint(600, 4 * HOUR)

    def enrol_home(self, spec: ProgramSpec, person: Person, low: float, high: float) -> int:
        at = self.clock.at(self.clock.day(low, high), person.utc_offset)
        return self.ledger.enrol(spec.ref, person, at, self.visit(person))

    def buy(
        self, referral: Referral, spec: ProgramSpec, card: str, buying: Buying = ORDINARY
    ) -> Order | None:
        """The referee's first order (if any) and its ordinary aftermath."""
        rng = self.rng
        if rng.random() >= buying.chance:
            return None
        at = self.clock.later(referral.at, buying.median_hours, 1.4)
        items = basket(rng, spec, buying.lean)
        total = order_total(rng, spec, items)
        if total < spec.min_order and rng.random() < buying.top_up:
            items.append(basket(rng, spec, buying.lean)[0])
            total = order_total(rng, spec, items)
        order = self.ledger.purchase(referral, at, total, card)
        if order is None:
            return None
        if rng.random() < buying.returns:
            self.send_back(order, items, rng.lognormvariate(math.log(buying.return_days), 0.7))
        if rng.random() < buying.repeat:
            later = self.clock.later(at, 24 * 18, 0.8)
            again = order_total(rng, spec, basket(rng, spec, buying.lean))
            self.ledger.purchase(referral, later, again, card)
        return order

    def send_back(self, order: Order, items: list[Decimal], days_later: float) -> None:
        """An ordinary return: one item (tax included), or the whole order."""
        at = order.at + int(days_later * DAY) + self.rng.randint(0, 8 * HOUR)
        if len(items) > 1 and self.rng.random() < 0.6:
            share = self.rng.choice(items) / sum(items, Decimal("0"))
            amount = min(order.amount, (order.amount * share).quantize(CENT))
        else:
            amount = order.amount
        self.ledger.refund(order, at, amount)
