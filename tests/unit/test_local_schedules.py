"""Schedule expressions and the scheduler's clock, without a running stack."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.local.scheduled_events import format_instant, parse_instant, scheduled_event
from shared.local.scheduler import ScheduledTarget, Scheduler, parse_schedule

T0 = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # a Tuesday


def test_rate_fires_every_period_from_its_start() -> None:
    schedule = parse_schedule("rate(15 minutes)", anchor=T0)

    assert schedule.next_after(T0) == T0 + timedelta(minutes=15)
    assert schedule.next_after(T0 + timedelta(minutes=31)) == T0 + timedelta(minutes=45)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 2 * * ? *)", datetime(2026, 3, 11, 2, 0, tzinfo=UTC)),
        ("cron(*/20 * * * ? *)", datetime(2026, 3, 10, 9, 40, tzinfo=UTC)),
        ("cron(0 8 ? * MON-FRI *)", datetime(2026, 3, 11, 8, 0, tzinfo=UTC)),
        ("cron(0 8 ? * 1 *)", datetime(2026, 3, 15, 8, 0, tzinfo=UTC)),  # 1 is Sunday
        ("cron(0 0 L * ? *)", datetime(2026, 3, 31, 0, 0, tzinfo=UTC)),
        ("cron(15 10 1 JAN,JUL ? 2027)", datetime(2027, 1, 1, 10, 15, tzinfo=UTC)),
    ],
)
def test_cron_finds_the_next_matching_minute(expression: str, expected: datetime) -> None:
    assert parse_schedule(expression, anchor=T0).next_after(T0) == expected


def test_cron_in_a_time_zone_fires_at_local_time() -> None:
    schedule = parse_schedule("cron(0 9 * * ? *)", anchor=T0, timezone="Europe/Paris")

    assert schedule.next_after(T0) == datetime(2026, 3, 11, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 8 ? * 6#3 *)",
        "cron(0 8 15W * ? *)",
        "cron(0 8 * * * *)",
        "rate(0 minutes)",
        "every day",
    ],
)
def test_unsupported_or_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_schedule(expression, anchor=T0)


def test_scheduler_fires_a_due_target_once_with_its_scheduled_time() -> None:
    # Given an hourly target and a clock that jumped three hours ahead
    calls: list[tuple[str, dict[str, Any]]] = []
    target = ScheduledTarget(
        "RescoreFunction",
        parse_schedule("rate(1 hour)", anchor=T0),
        lambda moment: scheduled_event(moment, "123456789012", "us-east-1", ["arn:rule"]),
    )
    scheduler = Scheduler([target], lambda f, e: calls.append((f, e)), clock=lambda: T0)

    # When due targets are run
    fired = scheduler.run_due(T0 + timedelta(hours=3, minutes=5))

    # Then it ran once, for its first due time, and the next run is after now
    assert fired == ["RescoreFunction"]
    assert [(f, e["time"]) for f, e in calls] == [("RescoreFunction", "2026-03-10T10:30:00Z")]
    assert target.next_fire == T0 + timedelta(hours=4)


def test_scheduled_event_has_the_eventbridge_shape() -> None:
    event = scheduled_event(T0, "123456789012", "us-east-1", ["arn:aws:events:us-east-1:1:rule/r"])

    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-03-10T09:30:00Z"
    assert event["detail"] == {}
    assert {"version", "id", "account", "region", "resources"} <= set(event)


@pytest.mark.parametrize(
    "text", ["2026-03-10", "2026-03-10T09:30:00", "2026-03-10T09:30:00+00:00", "soon"]
)
def test_instants_must_be_iso_8601_with_z(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_instant(text)


def test_instants_round_trip() -> None:
    assert format_instant(parse_instant("2026-03-10T09:30:00Z")) == "2026-03-10T09:30:00Z"


def test_scheduler_thread_fires_due_targets_and_stops_promptly() -> None:
    # Given a clock that reads an hour later once the scheduler is running
    readings = iter([T0])
    fired = threading.Event()
    target = ScheduledTarget(
        "ReleaseFunction", parse_schedule("rate(1 hour)", anchor=T0), lambda m: {}
    )
    scheduler = Scheduler(
        [target], lambda f, e: fired.set(), clock=lambda: next(readings, T0 + timedelta(hours=1))
    )

    # When it runs
    scheduler.start()
    try:
        # Then the due target is invoked, and stopping does not wait for the next one
        assert fired.wait(timeout=5)
    finally:
        scheduler.stop()
