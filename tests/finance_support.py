"""Builders for the finance suites: qualified referrals, and flagging one for review the way
scoring does (same repository ops, same transaction shape)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.bootstrap import Services, bootstrap
from shared.clock import Clock
from shared.domain.referrals import Reason, Referral, ReferralStatus, Risk
from shared.domain.reviews import enter_review
from shared.pii import PiiHasher
from shared.repositories.referrals import ReferralRepository
from shared.repositories.reviews import ReviewIndex
from shared.repositories.stats import Counter, ProgramCounters
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from shared.storage.table import Table, WriteOp
from tests.support import advocate_body, program_body, purchase_body, referral_body

HASH_KEY = b"k" * 32


def fixed_hasher() -> PiiHasher:
    return PiiHasher(lambda: HASH_KEY)


def services_on(table: Table, clock: Clock) -> Services:
    """Every service over `table` and `clock`, as the functions build them."""
    return bootstrap(table=table, clock=clock, hasher=fixed_hasher())


class Intake:
    """The intake services over one table, as a client would drive them."""

    def __init__(self, table: Table, clock: Clock, hasher: PiiHasher | None = None) -> None:
        services = bootstrap(table=table, clock=clock, hasher=hasher or fixed_hasher())
        self.table = table
        self.clock = clock
        self.programs = services.programs
        self.advocates = services.advocates
        self.referrals = services.referrals
        self.events = services.events

    def program(self, **overrides: Any) -> str:
        body = ProgramCreate.model_validate(program_body(**overrides)).command()
        return self.programs.create(body).program_id

    def advocate(self, program_id: str, **overrides: Any) -> tuple[str, str]:
        body = AdvocateEnrol.model_validate(advocate_body(**overrides)).command()
        advocate = self.advocates.enrol(program_id, body).advocate
        return advocate.advocate_id, advocate.referral_code

    def referral(self, program_id: str, code: str, **overrides: Any) -> Referral:
        body = ReferralCreate.model_validate(referral_body(program_id, code, **overrides)).command()
        return self.referrals.create(body)

    def qualified(
        self, program_id: str, code: str, event: dict[str, Any] | None = None, **overrides: Any
    ) -> Referral:
        referral = self.referral(program_id, code, **overrides)
        self.events.record(
            referral.referral_id, EventCreate.model_validate(event or purchase_body()).command()
        )
        stored = ReferralRepository(self.table).get(referral.referral_id)
        assert stored is not None and stored.qualified_at is not None
        return stored


def flag(
    table: Table,
    referral_id: str,
    score: str | int,
    at: datetime,
    reasons: Sequence[str] = ("SHARED_PAYMENT",),
) -> Referral:
    """Move a referral into review the way the scoring service does."""
    repository = ReferralRepository(table)
    referral = repository.get(referral_id)
    assert referral is not None
    risk = Risk(
        score=Decimal(str(score)),
        decision="review",
        reasons=[Reason(code=code, message=f"{code} seen", evidence={}) for code in reasons],
        model_version="test-model-1",
        scored_at=at,
    )
    updated = enter_review(
        referral.model_copy(
            update={"risk": risk, "updated_at": at, "version": referral.version + 1}
        ),
        at,
    )
    ops: list[WriteOp] = [
        repository.save_op(updated, referral.version),
        *ReviewIndex(table).sync_ops(
            updated, was_in_review=referral.status == ReferralStatus.REVIEW
        ),
        ProgramCounters.add_op(referral.program_id, {Counter.FLAGGED: 1}),
    ]
    table.write(ops)
    return updated
