"""Merchant webhooks: registration, fan-out to subscribers, signed attempts on the retry
schedule, the dead-letter queue after the last, and one post per attempt however often
the queue delivers it."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.webhook_http import UrlPolicy
from shared.adapters.webhook_queue import MemoryWebhookQueue
from shared.bootstrap import Services, bootstrap
from shared.clock import FixedClock
from shared.domain.webhook_signature import HEADER, verify_signature
from shared.domain.webhooks import (
    RETRY_DELAYS_S,
    DeliveryOrder,
    DeliveryState,
    WebhookEvent,
    retry_delay,
    schedule,
)
from shared.errors import InvalidRequest
from shared.repositories.webhooks import WebhookDeliveries
from shared.services.webhooks import DeliveryAdapters, DeliveryFailed
from shared.storage.memory_table import MemoryTable
from tests.finance_support import fixed_hasher
from tests.support import T0

PUBLIC = "93.184.216.34"
URL = "https://hooks.merchant.example/rewards"


def public(host: str, port: int) -> list[str]:
    return [PUBLIC]


@dataclass
class Receiver:
    """Answers each post with the next of `answers` (the last one from then on)."""

    answers: list[int | Exception] = field(default_factory=lambda: [200])
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            self.posts.append((url, body, headers))
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class World:
    table: MemoryTable
    clock: FixedClock
    queue: MemoryWebhookQueue
    receiver: Receiver
    services: Services

    def program(self) -> str:
        from shared.schemas.programs import ProgramCreate
        from tests.support import program_body

        command = ProgramCreate.model_validate(program_body()).command()
        return self.services.programs.create(command).program_id

    def register(self, events: list[str], program_id: str | None = None) -> tuple[str, str]:
        webhook, secret = self.services.webhooks.register(URL, events, program_id, "admin-1")
        return webhook.webhook_id, secret

    def publish(
        self, event_type: str = "referral.scored", program_id: str | None = "prg_1"
    ) -> WebhookEvent:
        data = {"referral_id": "ref_1", "program_id": program_id, "status": "holding"}
        event = WebhookEvent.of(event_type, program_id, data, self.clock.now())
        self.services.webhook_dispatcher.fan_out(event)
        return event

    def take_orders(self) -> list[DeliveryOrder]:
        orders = [order for order, _ in self.queue.scheduled]
        self.queue.scheduled.clear()
        return orders

    def attempt_all(self) -> list[str]:
        return [self.services.webhook_dispatcher.attempt(o).action for o in self.take_orders()]


def world_with(receiver: Receiver, delays: tuple[float, ...] = RETRY_DELAYS_S) -> World:
    table, clock, queue = MemoryTable(), FixedClock(T0), MemoryWebhookQueue()
    guard = UrlPolicy(resolver=public)
    services = bootstrap(
        table=table,
        clock=clock,
        hasher=fixed_hasher(),
        webhook_guard=guard,
        webhook_delivery=DeliveryAdapters(sender=receiver, queue=queue, delays=delays),
    )
    return World(table, clock, queue, receiver, services)


@pytest.fixture
def world() -> World:
    return world_with(Receiver())


# --- registration --------------------------------------------------------------------------


def test_registration_answers_the_secret_once_and_stores_it_sealed(world: World) -> None:
    webhook_id, secret = world.register(["referral.scored"])

    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 32
    stored = json.dumps(world.table.all_items(), default=str)
    assert secret.removeprefix("whsec_") not in stored
    [listed] = world.services.webhooks.all()
    assert listed.webhook_id == webhook_id and secret not in listed.model_dump_json()


@pytest.mark.parametrize(
    ("events", "field_name"),
    [(["referral.scored", "referral.exploded"], "events"), ([], "events")],
)
def test_unknown_event_types_are_refused_naming_events(
    world: World, events: list[str], field_name: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.register(events)

    assert [e.field for e in refused.value.errors] == [field_name]


def test_every_event_type_of_the_product_is_accepted(world: World) -> None:
    from shared.domain.webhooks import EVENT_TYPES

    world.register(list(EVENT_TYPES))

    assert world.services.webhooks.all()[0].events == list(EVENT_TYPES)


def test_a_private_url_is_refused_naming_url(world: World) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.services.webhooks.register("https://10.0.0.7/hook", ["reward.paid"], None, "a")

    assert [e.field for e in refused.value.errors] == ["url"]


def test_an_unknown_program_is_refused_naming_program_id(world: World) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.register(["reward.paid"], program_id="prg_missing")

    assert [e.field for e in refused.value.errors] == ["program_id"]


def test_a_rotated_secret_signs_the_next_delivery_and_the_old_one_no_longer_does(
    world: World,
) -> None:
    webhook_id, old = world.register(["referral.scored"])
    _, new = world.services.webhooks.rotate_secret(webhook_id)

    world.publish()
    world.attempt_all()

    [(_, body, headers)] = world.receiver.posts
    assert new != old
    assert verify_signature(new, headers[HEADER], body, world.clock.now())
    assert not verify_signature(old, headers[HEADER], body, world.clock.now())


# --- fan-out and delivery ------------------------------------------------------------------


def test_each_subscriber_gets_one_signed_delivery_of_the_payload(world: World) -> None:
    _, secret = world.register(["referral.scored"])

    event = world.publish()
    actions = world.attempt_all()

    assert actions == ["delivered"]
    [(url, body, headers)] = world.receiver.posts
    assert url == URL and verify_signature(secret, headers[HEADER], body, world.clock.now())
    assert json.loads(body) == {
        "id": event.event_id,
        "type": "referral.scored",
        "created_at": "2026-11-02T12:00:00Z",
        "data": {"referral_id": "ref_1", "program_id": "prg_1", "status": "holding"},
    }
    assert headers["Rewards-Event-Id"] == event.event_id


def test_a_webhook_of_one_program_receives_only_that_programs_events(world: World) -> None:
    program_id = world.program()
    scoped, _ = world.register(["referral.scored"], program_id=program_id)
    every, _ = world.register(["referral.scored"])

    world.publish(program_id="prg_other")
    world.publish(program_id=program_id)
    orders = world.take_orders()

    assert sorted(o.webhook_id for o in orders) == sorted([every, every, scoped])


def test_a_webhook_receives_only_the_event_types_it_named(world: World) -> None:
    world.register(["reward.paid"])

    world.publish("referral.scored")

    assert world.take_orders() == []


def test_publishing_the_same_fact_twice_delivers_it_once(world: World) -> None:
    world.register(["referral.scored"])

    first, second = world.publish(), world.publish()
    world.attempt_all()

    assert first.event_id == second.event_id
    assert len(world.receiver.posts) == 1


def test_a_duplicate_queue_delivery_of_an_attempt_posts_once(world: World) -> None:
    world.register(["referral.scored"])
    world.publish()
    [order] = world.take_orders()

    first = world.services.webhook_dispatcher.attempt(order)
    again = world.services.webhook_dispatcher.attempt(order)

    assert (first.action, again.action) == ("delivered", "duplicate")
    assert len(world.receiver.posts) == 1


def test_concurrent_copies_of_one_attempt_post_once() -> None:
    # Given one attempt whose message the queue delivered to eight consumers at once
    gate = threading.Barrier(8)
    receiver = Receiver()
    world = world_with(receiver)
    world.register(["referral.scored"])
    world.publish()
    [order] = world.take_orders()
    actions: list[str] = []

    def consume() -> None:
        gate.wait()
        actions.append(world.services.webhook_dispatcher.attempt(order).action)

    threads = [threading.Thread(target=consume) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one of them posted
    assert sorted(actions) == ["delivered"] + ["duplicate"] * 7
    assert len(receiver.posts) == 1


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt() -> None:
    world = world_with(Receiver([500, DeliveryFailed("connection refused"), 204]))
    webhook_id, _ = world.register(["referral.scored"])
    world.publish()

    actions = []
    for _ in range(3):
        [(order, _)] = world.queue.scheduled
        world.clock.set(order.due_at)
        actions += world.attempt_all()

    assert actions == ["retry_scheduled", "retry_scheduled", "delivered"]
    [delivery] = world.services.webhooks.deliveries(webhook_id)
    assert delivery.state == DeliveryState.DELIVERED
    assert [(a.attempt, a.status_code, a.error) for a in delivery.attempts] == [
        (1, 500, "HTTP 500"),
        (2, None, "connection refused"),
        (3, 204, None),
    ]
    assert delivery.attempts[0].next_attempt_at == T0 + timedelta(seconds=60)


def test_an_attempt_not_yet_due_goes_back_on_the_queue_for_at_most_fifteen_minutes() -> None:
    world = world_with(Receiver([500]))
    world.register(["referral.scored"])
    world.publish()
    world.attempt_all()
    # Attempt 4 is due two hours after attempt 3 failed.
    for _ in range(2):
        [(order, _)] = world.queue.scheduled
        world.clock.set(order.due_at)
        world.attempt_all()
    [(fourth, delay)] = world.queue.scheduled
    assert fourth.attempt == 4 and delay == 900

    assert world.attempt_all() == ["not_due"]
    [(same, wait)] = world.queue.scheduled
    assert same == fourth and wait == 900 and len(world.receiver.posts) == 3


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_queue() -> None:
    world = world_with(Receiver([503]), delays=(1, 1, 1))
    webhook_id, _ = world.register(["referral.scored"])
    world.publish()

    actions = []
    while world.queue.scheduled:
        [(order, _)] = world.queue.scheduled
        world.clock.set(order.due_at)
        actions += world.attempt_all()

    assert actions == ["retry_scheduled"] * 3 + ["dead_lettered"]
    [dead] = world.queue.dead
    assert dead.webhook_id == webhook_id and dead.attempt == 4
    [delivery] = world.services.webhooks.deliveries(webhook_id)
    assert delivery.state == DeliveryState.FAILED and len(delivery.attempts) == 4


def test_a_deleted_webhook_gets_no_more_attempts(world: World) -> None:
    webhook_id, _ = world.register(["referral.scored"])
    world.publish()
    world.services.webhooks.delete(webhook_id)

    assert world.attempt_all() == ["cancelled"]
    assert world.receiver.posts == []


def test_a_target_that_turned_private_is_recorded_as_a_failed_attempt() -> None:
    answers = iter([[PUBLIC], ["10.0.0.9"]])
    guard = UrlPolicy(resolver=lambda host, port: next(answers))
    receiver, queue = Receiver(), MemoryWebhookQueue()
    services = bootstrap(
        table=MemoryTable(),
        clock=FixedClock(T0),
        hasher=fixed_hasher(),
        webhook_guard=guard,
        webhook_delivery=DeliveryAdapters(sender=receiver, queue=queue),
    )
    webhook, _ = services.webhooks.register(URL, ["reward.paid"], None, "admin-1")
    services.webhook_dispatcher.fan_out(WebhookEvent.of("reward.paid", None, {}, T0))
    [(order, _)] = queue.scheduled

    assert services.webhook_dispatcher.attempt(order).action == "retry_scheduled"
    [delivery] = services.webhooks.deliveries(webhook.webhook_id)
    assert receiver.posts == [] and "10.0.0.9" in str(delivery.attempts[0].error)


# --- the schedule --------------------------------------------------------------------------


def test_the_retry_schedule_backs_off_exponentially_for_about_three_days() -> None:
    times = schedule()

    assert len(times) == 9
    # Each wait at least as long as the one before, and the waits grow 1,440-fold.
    assert all(b >= a for a, b in itertools.pairwise(RETRY_DELAYS_S))
    assert RETRY_DELAYS_S[-1] / RETRY_DELAYS_S[0] == 1440
    assert timedelta(days=2.5) < timedelta(seconds=times[-1]) <= timedelta(days=3)


def test_no_retry_follows_the_last_attempt() -> None:
    assert retry_delay(1) == 60
    assert retry_delay(len(RETRY_DELAYS_S)) == RETRY_DELAYS_S[-1]
    assert retry_delay(len(RETRY_DELAYS_S) + 1) is None


def test_an_attempt_whose_consumer_died_mid_post_is_answered_and_retried() -> None:
    # Given attempt 1 claimed by a consumer that died before recording the answer
    world = world_with(Receiver([200]))
    webhook_id, _ = world.register(["referral.scored"])
    world.publish()
    [order] = world.take_orders()
    deliveries = WebhookDeliveries(world.table)
    delivery = deliveries.get(order)
    assert delivery is not None
    deliveries.save(delivery.claimed(1, world.clock.now()), delivery.version)

    # When the queue delivers its order again: at once (a duplicate), then after it timed out
    early = world.services.webhook_dispatcher.attempt(order)
    world.clock.advance(timedelta(minutes=6))
    late = world.services.webhook_dispatcher.attempt(order)

    # Then the lost attempt is recorded as interrupted and attempt 2 is scheduled
    assert (early.action, late.action) == ("duplicate", "retry_scheduled")
    [(second, _)] = world.queue.scheduled
    assert second.attempt == 2 and world.receiver.posts == []
    [stored] = world.services.webhooks.deliveries(webhook_id)
    assert stored.attempts[0].error == "interrupted: no answer was recorded"


class FlakyQueue(MemoryWebhookQueue):
    """Fails the first `fail` sends of a retry or a dead letter, as SQS might."""

    def __init__(self, fail: int) -> None:
        super().__init__()
        self.fail = fail

    def _maybe_fail(self) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("SQS is unavailable")

    def schedule(self, order: DeliveryOrder, delay_s: float) -> None:
        if order.attempt > 1:
            self._maybe_fail()
        super().schedule(order, delay_s)

    def dead_letter(self, order: DeliveryOrder) -> None:
        self._maybe_fail()
        super().dead_letter(order)


def _with_queue(queue: MemoryWebhookQueue, delays: tuple[float, ...]) -> World:
    receiver = Receiver([500])
    services = bootstrap(
        table=MemoryTable(),
        clock=FixedClock(T0),
        hasher=fixed_hasher(),
        webhook_guard=UrlPolicy(resolver=public),
        webhook_delivery=DeliveryAdapters(sender=receiver, queue=queue, delays=delays),
    )
    return World(services.table, services.clock, queue, receiver, services)  # type: ignore[arg-type]


@pytest.mark.parametrize(("delays", "follow_up"), [((5, 5), "retry"), ((), "dead letter")])
def test_a_follow_up_that_could_not_be_queued_is_queued_by_the_redelivery(
    delays: tuple[float, ...], follow_up: str
) -> None:
    # Given an attempt that failed, whose retry (or dead letter) SQS refused to take
    queue = FlakyQueue(fail=1)
    world = _with_queue(queue, delays)
    world.register(["referral.scored"])
    world.publish()
    [order] = world.take_orders()
    with pytest.raises(ConnectionError):
        world.services.webhook_dispatcher.attempt(order)

    # When the queue delivers the same order again
    again = world.services.webhook_dispatcher.attempt(order)

    # Then nothing is posted again, and the follow-up is queued
    assert again.action == "duplicate" and len(world.receiver.posts) == 1
    if follow_up == "retry":
        assert [(o.attempt, d) for o, d in queue.scheduled] == [(2, 5)]
    else:
        assert [o.attempt for o in queue.dead] == [1]


@settings(max_examples=60, deadline=None)
@given(
    answers=st.lists(st.sampled_from([200, 500, 503, 302]), min_size=1, max_size=8),
    copies=st.lists(st.integers(1, 3), min_size=8, max_size=8),
)
def test_whatever_answers_and_duplicates_each_attempt_posts_once_and_the_end_is_one_state(
    answers: list[int], copies: list[int]
) -> None:
    # Given a receiver answering `answers` in turn, and each order delivered 1-3 times
    delays = (1.0, 2.0, 4.0, 8.0)
    world = world_with(Receiver([*answers]), delays=delays)
    webhook_id, _ = world.register(["referral.scored"])
    world.publish()

    for round_ in range(len(delays) + 2):
        orders = list(dict.fromkeys(world.take_orders()))
        if not orders:
            break
        world.clock.set(max(o.due_at for o in orders))
        for order in orders:
            for _ in range(copies[round_]):
                world.services.webhook_dispatcher.attempt(order)

    # Then one post per recorded attempt, and the delivery ends delivered or dead-lettered
    [delivery] = world.services.webhooks.deliveries(webhook_id)
    assert len(world.receiver.posts) == len(delivery.attempts) <= len(delays) + 1
    first_success = next((i for i, a in enumerate(answers) if 200 <= a < 300), None)
    if first_success is not None and first_success <= len(delays):
        assert delivery.state == DeliveryState.DELIVERED
        assert len(delivery.attempts) == first_success + 1 and world.queue.dead == []
    else:
        assert delivery.state == DeliveryState.FAILED
        assert len(delivery.attempts) == len(delays) + 1
        assert {o.attempt for o in world.queue.dead} == {len(delays) + 1}
