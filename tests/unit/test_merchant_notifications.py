"""What the money path tells merchants: one event per fact, after the change committed,
carrying only what a merchant may see; erasure reaches the events kept for delivery."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.webhook_http import UrlPolicy
from shared.adapters.webhook_queue import MemoryWebhookQueue
from shared.bootstrap import Services, bootstrap
from shared.clock import FixedClock
from shared.domain.referrals import Reason, ReferralStatus, Risk
from shared.domain.webhooks import WebhookEvent
from shared.repositories.referrals import ReferralRepository
from shared.services.notifications import review_decided_data, scored_data
from shared.services.webhooks import DeliveryAdapters
from shared.storage.memory_table import MemoryTable
from tests.finance_support import Intake, fixed_hasher, flag
from tests.support import T0, advocate_body

REFERRAL_FIELDS = {
    "referral_id",
    "program_id",
    "advocate_id",
    "advocate_customer_id",
    "referee_customer_id",
    "status",
}


class Exploding:
    def publish(self, *args: Any) -> None:
        raise RuntimeError("the queue is down")


def services(table: MemoryTable, clock: FixedClock, outbox: Any) -> Services:
    return bootstrap(
        table=table,
        clock=clock,
        hasher=fixed_hasher(),
        notifications=outbox,
        webhook_guard=UrlPolicy(resolver=lambda host, port: ["93.184.216.34"]),
        webhook_delivery=DeliveryAdapters(sender=None, queue=MemoryWebhookQueue()),  # type: ignore[arg-type]
    )


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def intake(table: MemoryTable, clock: FixedClock) -> Intake:
    return Intake(table, clock)


@pytest.fixture
def outbox() -> MemoryWebhookQueue:
    return MemoryWebhookQueue()


def _qualified(intake: Intake) -> str:
    program_id = intake.program()
    _, code = intake.advocate(program_id, **advocate_body("adv-cust-1"))
    referral = intake.qualified(
        program_id, code, referee={"customer_id": "referee-cust-1", "email": "dana@example.com"}
    )
    return referral.referral_id


def test_scoring_a_referral_publishes_referral_scored_once(
    intake: Intake, table: MemoryTable, clock: FixedClock, outbox: MemoryWebhookQueue
) -> None:
    referral_id = _qualified(intake)
    scoring = services(table, clock, outbox).scoring

    scoring.score(referral_id, "purchase", clock.now())
    scoring.score(referral_id, "purchase", clock.now())  # a duplicate message writes nothing

    [event] = outbox.of_type("referral.scored")
    stored = ReferralRepository(table).get(referral_id)
    assert stored is not None and stored.risk is not None
    assert event.data["referral_id"] == referral_id
    assert event.data["status"] == stored.status.value
    assert event.data["decision"] == stored.risk.decision
    assert event.data["reason_codes"] == [r.code for r in stored.risk.reasons]
    assert event.program_id == stored.program_id


def test_a_failing_queue_never_undoes_the_score(
    intake: Intake, table: MemoryTable, clock: FixedClock
) -> None:
    referral_id = _qualified(intake)

    risk = services(table, clock, Exploding()).scoring.score(referral_id, "purchase", clock.now())

    stored = ReferralRepository(table).get(referral_id)
    assert risk is not None and stored is not None and stored.status != ReferralStatus.PENDING


def test_a_final_review_decision_publishes_the_outcome_without_who_or_the_note(
    intake: Intake, table: MemoryTable, clock: FixedClock, outbox: MemoryWebhookQueue
) -> None:
    referral_id = _qualified(intake)
    flag(table, referral_id, 80, T0, reasons=("SHARED_DEVICE",))
    reviews = services(table, clock, outbox).reviews_with(lambda r: None)

    reviews.decide(referral_id, "reject", "card testing ring; see case 4411", "fin-alice")

    [event] = outbox.of_type("referral.review_decided")
    assert event.data["decision"] == "reject" and event.data["timed_out"] is False
    assert event.data["status"] == "rejected" and event.data["reason_codes"] == ["SHARED_DEVICE"]
    dump = json.dumps(event.payload())
    assert "fin-alice" not in dump and "4411" not in dump


def test_a_review_that_times_out_publishes_a_decision_too(
    intake: Intake, table: MemoryTable, clock: FixedClock, outbox: MemoryWebhookQueue
) -> None:
    referral_id = _qualified(intake)
    flag(table, referral_id, 60, T0)
    reviews = services(table, clock, outbox).reviews_with(lambda r: None)

    reviews.expire_reviews(T0 + timedelta(days=60))

    [event] = outbox.of_type("referral.review_decided")
    assert event.data["referral_id"] == referral_id and event.data["timed_out"] is True


def test_scored_data_names_reason_codes_but_never_their_evidence_or_notes(
    intake: Intake, table: MemoryTable
) -> None:
    referral = ReferralRepository(table).get(_qualified(intake))
    assert referral is not None
    risk = Risk(
        score=Decimal("91.50"),
        decision="reject",
        reasons=[
            Reason(
                code="SHARED_PAYMENT",
                message="card seen on another customer",
                evidence={"other_customer_id": "victim-7", "referral_ids": ["ref_other"]},
            )
        ],
        model_version="m-1",
        scored_at=T0,
    )
    noted = referral.model_copy(
        update={"risk": risk, "decision_note": "finance only", "decided_by": "fin-bob"}
    )

    for data in (scored_data(noted), review_decided_data(noted, "reject", timed_out=False)):
        dump = json.dumps(data)
        assert set(data) >= REFERRAL_FIELDS
        assert "victim-7" not in dump and "ref_other" not in dump and "card seen" not in dump
        assert "finance only" not in dump and "fin-bob" not in dump
        assert "referee_email" not in data and "fingerprint" not in data
    assert scored_data(noted)["score"] == "91.50"


def test_erasure_pseudonymises_the_events_kept_for_delivery(
    intake: Intake, table: MemoryTable, clock: FixedClock
) -> None:
    # Given an event naming the referee, kept for a webhook's deliveries
    referral_id = _qualified(intake)
    built = services(table, clock, MemoryWebhookQueue())
    built.webhooks.register("https://hooks.merchant.example/", ["referral.scored"], None, "a")
    referral = ReferralRepository(table).get(referral_id)
    assert referral is not None
    event = WebhookEvent.of("referral.scored", referral.program_id, scored_data(referral), T0)
    built.webhook_dispatcher.fan_out(event)
    assert "referee-cust-1" in json.dumps(table.all_items(), default=str)

    # When the referee is erased
    built.customers.erase("referee-cust-1", "dpo-1")

    # Then no stored item names the raw id, and the kept event names the pseudonym
    assert "referee-cust-1" not in json.dumps(table.all_items(), default=str)
    [kept] = [i for i in table.all_items() if i.get("type") == "webhook_event"]
    assert kept["doc"]["data"]["referee_customer_id"].startswith("erased:")
