"""Records the shop's operations in causal order and writes the two JSONL files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from random import Random

from generators.harbor.identities import Person
from generators.harbor.shop import PROGRAMS, ProgramSpec, iso


@dataclass(frozen=True)
class Order:
    order_id: str
    program: str
    referee: str
    at: int
    amount: Decimal


@dataclass(frozen=True)
class Referral:
    program: str
    advocate: str
    referee: str
    at: int


def context(ip: str, device_id: str, user_agent: str, country: str) -> dict:
    return {"ip": ip, "device_id": device_id, "user_agent": user_agent, "country": country}


def home_context(person: Person) -> dict:
    return context(
        person.home_ip, person.device.device_id, person.device.user_agent, person.country
    )


class Ledger:
    """Every operation the shop saw, with its label; refuses what the contract forbids."""

    def __init__(self, rng: Random, end: int) -> None:
        self.rng = rng
        self.end = end
        self._ops: list[tuple[int, int, dict]] = []
        self._labels: dict[tuple[str, str], dict] = {}
        self._enrolled: dict[tuple[str, str], int] = {}
        self._referred: dict[tuple[str, str], Referral] = {}
        self._orders: dict[str, Decimal] = {}
        self.converted: set[tuple[str, str]] = set()

    def _add(self, at: int, op: dict) -> None:
        op["at"] = iso(at)
        self._ops.append((at, len(self._ops), op))

    def program(self, spec: ProgramSpec, at: int) -> None:
        self._add(at, {"op": "program", "ref": spec.ref, "body": spec.body})

    def is_enrolled(self, program: str, customer_id: str) -> bool:
        return (program, customer_id) in self._enrolled

    def enrol(self, program: str, person: Person, at: int, ctx: dict) -> int:
        """Enrol once per program; returns the enrolment time (the first one if repeated)."""
        key = (program, person.customer_id)
        if key in self._enrolled:
            return self._enrolled[key]
        at = max(at, 60)
        self._enrolled[key] = at
        body = {"customer_id": person.customer_id, "email": person.email, "context": ctx}
        self._add(at, {"op": "advocate", "program": program, "body": body})
        return at

    def refer(
        self,
        program: str,
        advocate: Person,
        referee: Person,
        at: int,
        ctx: dict,
        label: str,
        pattern: str,
    ) -> Referral | None:
        """Record a referral, nudged after the enrolment; None if it cannot happen."""
        enrolled = self._enrolled.get((program, advocate.customer_id))
        key = (program, referee.customer_id)
        if enrolled is None or key in self._referred or referee is advocate:
            return None
        at = max(at, enrolled + self.rng.randint(90, 3_600))
        if at >= self.end:
            return None
        if self.rng.random() < 0.02:  # storage blocked: the device cookie never got set
            ctx = {name: value for name, value in ctx.items() if name != "device_id"}
        referral = Referral(program, advocate.customer_id, referee.customer_id, at)
        self._referred[key] = referral
        self._labels[key] = {
            "program": program,
            "referee": referee.customer_id,
            "label": label,
            "pattern": pattern,
        }
        body = {
            "referee": {"customer_id": referee.customer_id, "email": referee.email},
            "context": ctx,
        }
        self._add(
            at,
            {"op": "referral", "program": program, "advocate": advocate.customer_id, "body": body},
        )
        return referral

    def purchase(self, referral: Referral, at: int, amount: Decimal, card: str) -> Order | None:
        if at <= referral.at or at >= self.end:
            return None
        # Numbered in time order when written; a draft key until then.
        draft = f"draft-{len(self._orders)}"
        order = Order(draft, referral.program, referral.referee, at, amount)
        self._orders[order.order_id] = amount
        spec = PROGRAMS[referral.program]
        if amount >= spec.min_order and at <= referral.at + spec.window_days * 86_400:
            self.converted.add((referral.program, referral.referee))
        currency = PROGRAMS[referral.program].currency
        body = {
            "type": "purchase",
            "order_id": order.order_id,
            "amount": f"{amount:.2f}",
            "currency": currency,
            "payment_fingerprint": card,
        }
        self._add(
            at,
            {"op": "event", "program": referral.program, "referee": referral.referee, "body": body},
        )
        return order

    def refund(self, order: Order, at: int, amount: Decimal) -> bool:
        left = self._orders[order.order_id]
        if at <= order.at or at >= self.end or amount <= 0 or amount > left:
            return False
        self._orders[order.order_id] = left - amount
        currency = PROGRAMS[order.program].currency
        body = {"order_id": order.order_id, "amount": f"{amount:.2f}", "currency": currency}
        self._add(
            at, {"op": "refund", "program": order.program, "referee": order.referee, "body": body}
        )
        return True

    def write(self, events: Path, labels: Path) -> None:
        ordered = sorted(self._ops, key=lambda entry: (entry[0], entry[1]))
        self._number_orders([op for _, _, op in ordered])
        with events.open("w", encoding="utf-8") as out:
            for _, _, op in ordered:
                out.write(json.dumps(op, separators=(",", ":")) + "\n")
        with labels.open("w", encoding="utf-8") as out:
            for _, _, op in ordered:
                if op["op"] == "referral":
                    key = (op["program"], op["body"]["referee"]["customer_id"])
                    out.write(json.dumps(self._labels[key], separators=(",", ":")) + "\n")

    def _number_orders(self, ops: list[dict]) -> None:
        """Storefront order numbers rise with time, with gaps for orders outside referrals."""
        numbers: dict[str, str] = {}
        serial = 1_040_000
        for op in ops:
            body = op.get("body", {})
            draft = body.get("order_id", "")
            if draft.startswith("draft-"):
                if draft not in numbers:
                    serial += self.rng.randint(1, 29)
                    numbers[draft] = f"HB{serial}"
                body["order_id"] = numbers[draft]

    def summary(self) -> dict[str, dict[str, int]]:
        """Referrals and qualifying conversions per pattern and per label."""
        table: dict[str, dict[str, int]] = {}
        for key, label in self._labels.items():
            for name in (label["pattern"], label["label"], "total"):
                row = table.setdefault(name, {"referrals": 0, "converted": 0})
                row["referrals"] += 1
                row["converted"] += key in self.converted
        return table
