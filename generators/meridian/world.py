"""The marketplace's programs and the timeline every pattern writes its ops into."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from generators.meridian.identities import CITIES, Forge, Person

START = datetime(2025, 2, 3, tzinfo=UTC)
CENT = Decimal("0.01")

# Local-hour weights (0..23). Food orders peak at lunch and dinner; rides at the commute
# and late on weekend nights; sign-ups from a shared link mostly in the evening.
EATS_HOURS = (1, 1, 0, 0, 0, 0, 1, 2, 3, 3, 4, 8, 14, 10, 4, 3, 4, 8, 15, 16, 11, 6, 3, 2)
RIDES_HOURS = (4, 3, 2, 1, 1, 2, 5, 12, 14, 8, 5, 5, 6, 5, 5, 6, 9, 13, 12, 8, 7, 7, 7, 6)
SIGNUP_HOURS = (2, 1, 1, 0, 0, 0, 1, 2, 3, 4, 4, 5, 7, 6, 5, 5, 6, 7, 9, 11, 12, 11, 8, 4)
NIGHT_HOURS = (10, 12, 14, 14, 12, 8, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 7)
WORK_HOURS = (0, 0, 0, 0, 0, 0, 0, 1, 3, 6, 8, 12, 16, 14, 8, 6, 4, 2, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class Program:
    ref: str
    country: str
    currency: str
    kind: str  # "eats" or "rides"
    min_order: Decimal
    window_days: int
    holding_days: int
    order_prefix: str
    body: dict

    @property
    def hours(self) -> tuple[int, ...]:
        return EATS_HOURS if self.kind == "eats" else RIDES_HOURS


def _program(
    ref: str,
    name: str,
    country: str,
    currency: str,
    kind: str,
    minimum: str,
    rewards: tuple[tuple[str, str], tuple[str, str]],
    tiers: list[tuple[int, str]],
    window: int,
    holding: int,
    cap: int,
    prefix: str,
) -> Program:
    def money(kind_amount: tuple[str, str]) -> dict:
        return {"kind": kind_amount[0], "amount": kind_amount[1], "currency": currency}

    body = {
        "name": name,
        "qualifying_event": "purchase",
        "min_order_value": minimum,
        "rewards": {"advocate": money(rewards[0]), "referee": money(rewards[1])},
        "tiers": [
            {
                "min_successful_referrals": n,
                "advocate_bonus": {"kind": "gift_card", "amount": a, "currency": currency},
            }
            for n, a in tiers
        ],
        "attribution_window_days": window,
        "holding_period_days": holding,
        "budget": {"amount": "2000000.00", "currency": currency},
        "per_advocate_cap": cap,
        "dual_approval_over": "100.00",
        "review_timeout_days": 30,
        "review_timeout_action": "reject",
        "auto_reject": True,
    }
    return Program(ref, country, currency, kind, Decimal(minimum), window, holding, prefix, body)


PROGRAMS = (
    _program(
        "p1",
        "Meridian Eats AU: give $15, get $15 off",
        "AU",
        "AUD",
        "eats",
        "25.00",
        (("gift_card", "15.00"), ("cash", "15.00")),
        [(5, "30.00")],
        30,
        14,
        25,
        "EAU",
    ),
    _program(
        "p2",
        "Meridian Rides US: give $10, get $10",
        "US",
        "USD",
        "rides",
        "15.00",
        (("cash", "10.00"), ("gift_card", "10.00")),
        [],
        14,
        7,
        20,
        "RUS",
    ),
    _program(
        "p3",
        "Meridian Eats US: give $20, get $20",
        "US",
        "USD",
        "eats",
        "30.00",
        (("gift_card", "20.00"), ("cash", "20.00")),
        [(3, "25.00"), (10, "75.00")],
        30,
        21,
        30,
        "EUS",
    ),
)


def offset_of(person: Person) -> float:
    return CITIES.get(person.country, {}).get(person.city, 0.0) if person.city else 0.0


class World:
    """Collects ops in causal order and writes them sorted by time."""

    def __init__(self, rng: random.Random, forge: Forge, days: int) -> None:
        self.rng = rng
        self.forge = forge
        self.days = days
        self.start = START
        self.end = START + timedelta(days=days)
        self._ops: list[tuple[datetime, int, dict]] = []
        self.labels: list[dict] = []
        self._enrolled: dict[tuple[str, str], datetime] = {}
        self._referred: dict[tuple[str, str], datetime] = {}
        self._orders: dict[str, tuple[datetime, Decimal]] = {}
        # Converted referees who may later invite friends of their own.
        self.graduates: list[tuple[Program, Person, datetime]] = []

    # --- time ----------------------------------------------------------------------------
    def day(self, lo: float = 0.0, hi: float | None = None) -> float:
        return self.rng.uniform(lo, self.days if hi is None else hi)

    def local_time(self, day: float, offset: float, hours: tuple[int, ...]) -> datetime:
        """A moment on local calendar day `day` (days since start) at a typical hour."""
        hour = self.rng.choices(range(24), weights=hours)[0]
        local_midnight = self.start + timedelta(days=int(day))
        seconds = hour * 3600 + self.rng.randrange(3600)
        return local_midnight + timedelta(seconds=seconds, hours=-offset)

    def later(self, at: datetime, lo_seconds: float, hi_seconds: float) -> datetime:
        return at + timedelta(seconds=int(self.rng.uniform(lo_seconds, hi_seconds)) + 1)

    # --- ops -----------------------------------------------------------------------------
    def _emit(self, at: datetime, op: dict) -> bool:
        if at >= self.end or at < self.start:
            return False
        op = {"op": op.pop("op"), "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), **op}
        self._ops.append((at, len(self._ops), op))
        return True

    def open_programs(self) -> None:
        for index, program in enumerate(PROGRAMS):
            at = self.start + timedelta(minutes=index)
            self._emit(at, {"op": "program", "ref": program.ref, "body": program.body})

    def enrol(
        self, program: Program, person: Person, at: datetime, context: dict[str, str]
    ) -> datetime | None:
        """Enrols once per program; returns when the person became an advocate."""
        key = (program.ref, person.customer_id)
        if key in self._enrolled:
            return self._enrolled[key]
        at = max(at, self.start + timedelta(minutes=10))
        body = {"customer_id": person.customer_id, "email": person.email, "context": context}
        if not self._emit(at, {"op": "advocate", "program": program.ref, "body": body}):
            return None
        self._enrolled[key] = at
        return at

    def enrolled_at(self, program: Program, person: Person) -> datetime | None:
        return self._enrolled.get((program.ref, person.customer_id))

    def referred_at(self, program: Program, person: Person) -> datetime | None:
        return self._referred.get((program.ref, person.customer_id))

    def refer(
        self,
        program: Program,
        advocate: Person,
        referee: Person,
        at: datetime,
        context: dict[str, str],
        label: str,
        pattern: str,
    ) -> bool:
        enrolled = self._enrolled.get((program.ref, advocate.customer_id))
        key = (program.ref, referee.customer_id)
        if enrolled is None or at <= enrolled or key in self._referred:
            return False
        body = {
            "referee": {"customer_id": referee.customer_id, "email": referee.email},
            "context": context,
        }
        op = {
            "op": "referral",
            "program": program.ref,
            "advocate": advocate.customer_id,
            "body": body,
        }
        if not self._emit(at, op):
            return False
        self._referred[key] = at
        self.labels.append(
            {
                "program": program.ref,
                "referee": referee.customer_id,
                "label": label,
                "pattern": pattern,
            }
        )
        return True

    def purchase(
        self,
        program: Program,
        referee: Person,
        at: datetime,
        amount: Decimal,
        card: str | None = None,
    ) -> str | None:
        referred = self._referred.get((program.ref, referee.customer_id))
        if referred is None or at <= referred:
            return None
        order_id = self.forge.order_id(program.order_prefix)
        body = {
            "type": "purchase",
            "order_id": order_id,
            "amount": str(amount.quantize(CENT)),
            "currency": program.currency,
            "payment_fingerprint": card or referee.card,
        }
        op = {"op": "event", "program": program.ref, "referee": referee.customer_id, "body": body}
        if not self._emit(at, op):
            return None
        self._orders[order_id] = (at, amount.quantize(CENT))
        return order_id

    def refund(
        self, program: Program, referee: Person, order_id: str, at: datetime, amount: Decimal
    ) -> bool:
        placed, left = self._orders[order_id]
        amount = min(amount.quantize(CENT), left)
        if at <= placed or amount <= 0:
            return False
        body = {"order_id": order_id, "amount": str(amount), "currency": program.currency}
        op = {"op": "refund", "program": program.ref, "referee": referee.customer_id, "body": body}
        if not self._emit(at, op):
            return False
        self._orders[order_id] = (placed, left - amount)
        return True

    def ops(self) -> list[dict]:
        return [op for _, _, op in sorted(self._ops, key=lambda item: (item[0], item[1]))]
