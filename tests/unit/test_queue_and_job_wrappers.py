"""The wrappers that make queue and scheduled handlers one call: records handled one by
one with partial failures and retry delays; a job's clock, report and time left."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.clock import FixedClock
from shared.domain.rewards import RewardMessage
from shared.errors import Deferred
from shared.runtime.consumer import Consumer, Delivery
from shared.runtime.job import Job, Run
from tests.support import T0

EVENTS = Path(__file__).parents[1] / "events"


class Context:
    function_name = "wrapped"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:wrapped"
    aws_request_id = "req"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Visibility:
    def __init__(self) -> None:
        self.delays: list[tuple[str, float]] = []

    def delay(self, receipt_handle: str, seconds: float) -> None:
        self.delays.append((receipt_handle, seconds))


def _event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def _consumer(visibility: Visibility, reserve_ms: int = 0) -> Consumer[RewardMessage]:
    return Consumer(
        "wrapped",
        RewardMessage.parse,
        clock=lambda: FixedClock(T0),
        done="handled",
        visibility=lambda: visibility,
        reserve_ms=reserve_ms,
    )


def test_only_a_deferred_record_comes_back_and_it_waits_its_delay() -> None:
    # Given three reward messages, the second of which must wait 7 s
    visibility, handled = Visibility(), []

    def work(message: RewardMessage, delivery: Delivery) -> dict[str, Any]:
        if message.reward_id == "ref_b-advocate":
            raise Deferred(7.0, "rate limited")
        handled.append(message.reward_id)
        return {"reward_id": message.reward_id}

    # When the batch is handled
    response = _consumer(visibility).handler(work)(_event("sqs_reward_messages.json"), Context())

    # Then only that record is reported, with its visibility set to the wait
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert visibility.delays == [("h1", 7.0)]
    assert handled == ["ref_a-advocate", "ref_c-advocate"]


def test_a_malformed_message_fails_so_it_ends_in_the_dead_letter_queue() -> None:
    event = _event("sqs_reward_messages.json")
    event["Records"][0]["body"] = json.dumps({"nothing": 1})
    handled: list[str] = []

    def work(message: RewardMessage, delivery: Delivery) -> dict[str, Any]:
        handled.append(message.reward_id)
        return {}

    response = _consumer(Visibility()).handler(work)(event, Context())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert handled == ["ref_b-advocate", "ref_c-advocate"]


def test_records_are_left_for_later_when_the_invocation_runs_out_of_time() -> None:
    visibility, handled = Visibility(), []

    def work(message: RewardMessage, delivery: Delivery) -> dict[str, Any]:
        handled.append(message.reward_id)
        return {}

    handler = _consumer(visibility, reserve_ms=25_000).handler(work)
    response = handler(_event("sqs_reward_messages.json"), Context(remaining_ms=24_999))

    assert len(response["batchItemFailures"]) == 3
    assert handled == []
    assert [handle for handle, _ in visibility.delays] == ["h0", "h1", "h2"]


def test_a_delivery_carries_the_time_it_was_sent_or_else_the_clock() -> None:
    sent: list[datetime] = []

    def work(message: RewardMessage, delivery: Delivery) -> dict[str, Any]:
        sent.append(delivery.sent_at)
        return {}

    _consumer(Visibility()).handler(work)(_event("sqs_reward_messages.json"), Context())

    assert sent == [
        datetime.fromtimestamp(1764720000, tz=UTC),
        datetime.fromtimestamp(1764720001, tz=UTC),
        T0,
    ]


def test_a_job_acts_at_the_scheduled_events_time_and_returns_its_report() -> None:
    seen: list[Run] = []

    def work(run: Run) -> dict[str, Any]:
        seen.append(run)
        return {"now": run.now.isoformat(), "time_left": run.time_left()}

    job = Job("wrapped", done="done", clock=lambda: FixedClock(T0))
    report = job.handler(work)(_event("scheduled_event.json"), Context(remaining_ms=9_000))

    assert report == {"now": "2026-12-03T10:00:00+00:00", "time_left": 9.0}


def test_a_job_run_by_hand_without_a_time_acts_at_the_clocks_now() -> None:
    job = Job("wrapped", done="done", clock=lambda: FixedClock(T0))

    report = job.handler(lambda run: {"now": run.now})({}, Context())

    assert report == {"now": T0}
