"""A small world for scoring tests: the real services on the in-memory table.

Every party gets its own device, IP (in its own /24) and card unless a test says
otherwise, so only what a test sets up links two parties.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.memory_blocklist import MemoryBlocklist
from shared.adapters.memory_queue import MemoryScoringQueue
from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.bootstrap import bootstrap
from shared.clock import FixedClock
from shared.domain.advocates import Advocate
from shared.domain.referrals import Referral, Risk
from shared.pii import PiiHasher
from shared.repositories.audit import AuditLog
from shared.repositories.referrals import ReferralRepository
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from shared.scoring.feature_values import Features
from shared.scoring.serving import ModelJudge
from shared.storage.memory_table import MemoryTable
from tests.support import T0, program_body

_numbers = itertools.count(1)


def _n() -> int:
    return next(_numbers)


def fresh_ip() -> str:
    n = _n()
    return f"10.{(n // 200) % 250}.{n % 200}.7"


@dataclass
class World:
    model: ModelJudge | None = None
    table: MemoryTable = field(default_factory=MemoryTable)
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    queue: MemoryScoringQueue = field(default_factory=MemoryScoringQueue)
    rewards_queue: MemoryRewardQueue = field(default_factory=MemoryRewardQueue)
    blocklist: MemoryBlocklist = field(default_factory=MemoryBlocklist)

    def __post_init__(self) -> None:
        self.hasher = PiiHasher(lambda: b"k" * 32)
        services = bootstrap(
            table=self.table,
            clock=self.clock,
            hasher=self.hasher,
            reward_queue=self.rewards_queue,
            scoring_queue=self.queue,
            model=self.model,
            blocklist=self.blocklist,
        )
        self.programs = services.programs
        self.advocates = services.advocates
        self.referrals = services.referrals
        self.events = services.events
        self.scoring = services.scoring
        self.extractor = services.features
        self.records = services.scoring_records
        self.drift = services.drift
        self.sweep = services.sweep
        self.reviews = services.reviews
        self.release = services.release
        t = self.table
        self.repo = ReferralRepository(t)
        self.audit = AuditLog(t)

    # --- setting up ---------------------------------------------------------------------------

    def program(self, **overrides: Any) -> str:
        body = program_body(**overrides)
        return self.programs.create(ProgramCreate.model_validate(body).command()).program_id

    def advocate(
        self,
        program_id: str,
        customer_id: str | None = None,
        *,
        email: str | None = None,
        ip: str | None = None,
        device: str | None = None,
        user_agent: str | None = "Mozilla/5.0 (Macintosh) Safari/605.1",
        country: str | None = "US",
    ) -> Advocate:
        customer = customer_id or f"adv{_n()}"
        body = {
            "customer_id": customer,
            "email": email or f"{customer}@example.com",
            "context": {
                "ip": ip or fresh_ip(),
                "device_id": device or f"dev-{customer}",
                "user_agent": user_agent,
                "country": country,
            },
            "occurred_at": self.clock.now(),
        }
        return self.advocates.enrol(
            program_id, AdvocateEnrol.model_validate(body).command()
        ).advocate

    def refer(
        self,
        advocate: Advocate,
        customer_id: str | None = None,
        *,
        email: str | None = None,
        ip: str | None = None,
        device: str | None = None,
        user_agent: str | None = "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0",
        country: str | None = "US",
    ) -> Referral:
        customer = customer_id or f"ref{_n()}"
        body = {
            "program_id": advocate.program_id,
            "referral_code": advocate.referral_code,
            "referee": {"customer_id": customer, "email": email or f"{customer}@example.org"},
            "context": {
                "ip": ip or fresh_ip(),
                "device_id": device or f"dev-{customer}",
                "user_agent": user_agent,
                "country": country,
            },
            "occurred_at": self.clock.now(),
        }
        return self.referrals.create(ReferralCreate.model_validate(body).command())

    def buy(self, referral: Referral, *, card: str | None = None, amount: str = "45.00") -> None:
        body = {
            "type": "purchase",
            "order_id": f"ord{_n()}",
            "amount": amount,
            "currency": "USD",
            "payment_fingerprint": card or f"card{_n()}",
            "occurred_at": self.clock.now(),
        }
        self.events.record(referral.referral_id, EventCreate.model_validate(body).command())

    def later(self, **delta: float) -> datetime:
        self.clock.advance(timedelta(**delta))
        return self.clock.now()

    # --- scoring ------------------------------------------------------------------------------

    def score_queued(self) -> list[Risk | None]:
        return [
            self.scoring.score(referral_id, trigger, self.clock.now())
            for referral_id, trigger in self.queue.take()
        ]

    def qualify(self, referral: Referral, **buy: Any) -> Referral:
        """A purchase two hours after the referral, scored as the queue would."""
        self.later(hours=2)
        self.buy(referral, **buy)
        self.score_queued()
        return self.get(referral)

    def features(self, referral: Referral) -> Features:
        return self.extractor.extract(referral.referral_id, self.clock.now())

    def get(self, referral: Referral) -> Referral:
        found = self.repo.get(referral.referral_id)
        assert found is not None
        return found

    def audit_actions(self, referral: Referral) -> list[str]:
        entries, _ = self.audit.for_referral(referral.referral_id)
        return [e.action for e in entries]


def codes(risk: Risk | None) -> list[str]:
    return [r.code for r in risk.reasons] if risk else []
