"""A live world on a MemoryTable, driven through the services as the functions drive them,
for the history export's tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.adapters.memory_queue import MemoryScoringQueue
from shared.bootstrap import bootstrap
from shared.clock import FixedClock
from shared.domain.customers import pseudonym
from shared.domain.referrals import Referral
from shared.pii import PiiHasher
from shared.repositories.history import StoredHistory
from shared.repositories.referrals import ReferralRepository
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from shared.schemas.rewards import RefundCreate
from shared.storage.memory_table import MemoryTable
from shared.training.history_export import ExportedHistory, HistoryExport
from tests.support import T0, program_body, unique

LIVE_KEY = b"live-pii-key-for-history-tests-0"


class LiveWorld:
    def __init__(self, start: datetime = T0) -> None:
        self.table = MemoryTable()
        self.clock = FixedClock(start)
        self.hasher = PiiHasher(lambda: LIVE_KEY)
        self.queue = MemoryScoringQueue()
        self.services = bootstrap(
            table=self.table, clock=self.clock, hasher=self.hasher, scoring_queue=self.queue
        )

    def tick(self, seconds: int = 30) -> None:
        self.clock.set(self.clock.now() + timedelta(seconds=seconds))

    def drain(self) -> None:
        while requests := self.queue.take():
            for referral_id, trigger in requests:
                self.services.scoring.score(referral_id, trigger, self.clock.now())

    def program(self, **overrides: Any) -> str:
        body = program_body(**overrides)
        return self.services.programs.create(
            ProgramCreate.model_validate(body).command()
        ).program_id

    def advocate(self, program_id: str, email: str, ip: str, device: str) -> tuple[str, str]:
        self.tick()
        customer = unique("adv")
        body = {
            "customer_id": customer,
            "email": email,
            "context": {
                "ip": ip,
                "device_id": device,
                "user_agent": "Mozilla/5.0",
                "country": "US",
            },
        }
        advocate = self.services.advocates.enrol(
            program_id, AdvocateEnrol.model_validate(body).command()
        )
        self.drain()
        return customer, advocate.advocate.referral_code

    def referral(
        self, program_id: str, code: str, email: str, ip: str, device: str, ua: str = "Mozilla/5.0"
    ) -> Referral:
        self.tick()
        referee = unique("ref")
        body = {
            "program_id": program_id,
            "referral_code": code,
            "referee": {"customer_id": referee, "email": email},
            "context": {"ip": ip, "device_id": device, "user_agent": ua, "country": "US"},
        }
        referral = self.services.referrals.create(ReferralCreate.model_validate(body).command())
        self.drain()
        return referral

    def purchase(self, referral_id: str, order_id: str, card: str, amount: str = "45.00") -> None:
        self.tick()
        body = {
            "type": "purchase",
            "order_id": order_id,
            "amount": amount,
            "currency": "USD",
            "payment_fingerprint": card,
        }
        self.services.events.record(referral_id, EventCreate.model_validate(body).command())
        self.drain()

    def refund(self, referral_id: str, order_id: str, amount: str = "45.00") -> None:
        self.tick()
        body = {"order_id": order_id, "amount": amount, "currency": "USD"}
        self.services.refunds.record(referral_id, RefundCreate.model_validate(body).command())
        self.drain()

    def decide(self, referral_id: str, decision: str, by: str) -> None:
        self.tick()
        self.services.reviews.decide(referral_id, decision, None, by)  # type: ignore[arg-type]
        self.drain()

    def referral_now(self, referral_id: str) -> Referral:
        found = ReferralRepository(self.table).get(referral_id)
        assert found is not None
        return found

    def referral_now_by(self, referee: str) -> Referral:
        found = next(
            (
                r
                for p in StoredHistory(self.table).programs()
                for r in StoredHistory(self.table).referrals(p.program_id)
                if r.referee_customer_id == referee
            ),
            None,
        )
        assert found is not None
        return found

    def pseudonym(self, customer_id: str) -> str:
        return pseudonym(self.hasher, customer_id)

    def export(self, now: datetime | None = None) -> ExportedHistory:
        stored = StoredHistory(self.table)
        return HistoryExport(stored, self.pseudonym, now or self.clock.now()).export()
