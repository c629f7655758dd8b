"""What clients ask intake to do, said in the domain's words.

The services take these; the HTTP request models (and the backtest, which validates its
JSON with the same models) build them with `.command()`. Money stays Decimal throughout.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from shared.clock import iso
from shared.domain.programs import MonthlyCaps, ProgramStatus, RewardTerms, Tier, Variant
from shared.money import Money

QualifyingEvent = Literal["signup", "purchase"]
TimeoutAction = Literal["approve", "reject"]


@dataclass(frozen=True, kw_only=True)
class ClientContext:
    """Where a request came from: the evidence scoring links accounts by."""

    ip: str | None = None
    device_id: str | None = None
    user_agent: str | None = None
    country: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateProgram:
    name: str
    qualifying_event: QualifyingEvent
    min_order_value: Decimal | None = None
    advocate_reward: RewardTerms | None = None
    referee_reward: RewardTerms | None = None
    tiers: tuple[Tier, ...] = ()
    attribution_window_days: int
    holding_period_days: int
    budget: Money
    per_advocate_cap: int | None = None
    caps: MonthlyCaps | None = None
    # Each cap's currency as sent, by field, to check against the program's.
    cap_currencies: Mapping[str, str] = field(default_factory=dict)
    dual_approval_over: Decimal | None = None
    point_value: Money | None = None
    review_timeout_days: int
    review_timeout_action: TimeoutAction
    auto_reject: bool
    occurred_at: datetime | None = None
    variants: tuple[Variant, ...] = ()
    recurring_months: int | None = None


# What an update carries that is not a term of the program as given: the top-up adds to a
# counter, the currencies are checked, the variants are revised against the program's.
_NOT_TERMS = frozenset({"budget_top_up", "cap_currencies", "variants"})


@dataclass(frozen=True, kw_only=True)
class UpdateProgram:
    """A change of terms; a field left None is left as it is."""

    status: ProgramStatus | None = None
    budget_top_up: Money | None = None
    holding_period_days: int | None = None
    review_timeout_days: int | None = None
    review_timeout_action: TimeoutAction | None = None
    dual_approval_over: Decimal | None = None
    auto_reject: bool | None = None
    caps: MonthlyCaps | None = None
    cap_currencies: Mapping[str, str] = field(default_factory=dict)
    # The active variants from now on (see `shared.domain.experiments.revise`).
    variants: tuple[Variant, ...] | None = None

    def terms(self) -> dict[str, Any]:
        """The program fields this change sets as given (the top-up adds to a counter, and
        the variants are revised against the program's)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in _NOT_TERMS and getattr(self, f.name) is not None
        }


@dataclass(frozen=True, kw_only=True)
class EnrolAdvocate:
    customer_id: str
    email: str
    context: ClientContext | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordReferral:
    program_id: str
    referral_code: str
    referee_customer_id: str
    referee_email: str
    context: ClientContext | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordEvent:
    """A signup or purchase reported on a referral."""

    type: QualifyingEvent
    order_id: str | None = None
    currency: str | None = None
    amount: Decimal | None = None
    payment_fingerprint: str | None = None
    occurred_at: datetime | None = None

    @property
    def dedupe_key(self) -> str:
        """One event per order (or per type, for events without an order)."""
        return self.order_id if self.order_id is not None else self.type

    def report_hash(self) -> str:
        """The hash of the report as the client sent it (the fields given, in their JSON
        form), so a replay can be told from a conflicting reuse of an order id. Stored
        events hold it: the form must never change."""
        given: dict[str, Any] = {"type": self.type}
        for name in ("order_id", "currency", "payment_fingerprint"):
            if getattr(self, name) is not None:
                given[name] = getattr(self, name)
        if self.amount is not None:
            given["amount"] = f"{self.amount:f}"
        if self.occurred_at is not None:
            given["occurred_at"] = iso(self.occurred_at)
        canonical = json.dumps(given, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()
