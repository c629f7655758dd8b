"""EventBridge schedule expressions (`rate(...)`, `cron(...)`) and a clock that fires them.

The cron subset: numbers, names (JAN-DEC, SUN-SAT), `*`, `?`, ranges, lists, steps and `L`
as day-of-month. `W`, `#` and `L` in day-of-week are refused with a clear error.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
# EventBridge numbers days of the week 1-7 from Sunday.
_WEEKDAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_SEARCH_YEARS = 5


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class RateSchedule:
    """Fires every `period`, counted from `anchor` (when the schedule was created)."""

    period: timedelta
    anchor: datetime

    def next_after(self, moment: datetime) -> datetime:
        if moment < self.anchor:
            return self.anchor + self.period
        elapsed = (moment - self.anchor) // self.period
        return self.anchor + (elapsed + 1) * self.period


def _field_values(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.upper().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step must be positive in {part!r}")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():
        raise ValueError(f"{text!r} is not supported in a local cron expression")
    return int(text)


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: any day (`?`)
    last_day: bool
    months: frozenset[int]
    weekdays: frozenset[int] | None  # None: any weekday (`?`)
    years: frozenset[int] | None
    timezone: str | None = None

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months or (self.years and day.year not in self.years):
            return False
        if self.weekdays is not None and (day.weekday() + 1) % 7 + 1 not in self.weekdays:
            return False
        if self.last_day:
            return day.day == calendar.monthrange(day.year, day.month)[1]
        return self.days is None or day.day in self.days

    def next_after(self, moment: datetime) -> datetime | None:
        zone = ZoneInfo(self.timezone) if self.timezone else UTC
        local = moment.astimezone(zone).replace(second=0, microsecond=0)
        day = local.replace(hour=0, minute=0)
        for _ in range(366 * _SEARCH_YEARS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute).astimezone(UTC)
                        if candidate > moment:
                            return candidate
            day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        return None


def _parse_cron(body: str, timezone: str | None) -> CronSchedule:
    fields = body.split()
    if len(fields) != 6:
        raise ValueError("cron needs 6 fields: minutes hours day-of-month month day-of-week year")
    minutes, hours, days, months, weekdays, years = fields
    for text in (days, weekdays):
        if re.search(r"[W#]", text.upper()) or (text.upper() != "L" and "L" in text.upper()):
            raise ValueError(f"{text!r}: W, # and L in day-of-week are not supported locally")
    if (days == "?") == (weekdays == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be '?'")
    last_day = days.upper() == "L"
    return CronSchedule(
        minutes=_field_values(minutes, 0, 59, {}),
        hours=_field_values(hours, 0, 23, {}),
        days=None if days == "?" or last_day else _field_values(days, 1, 31, {}),
        last_day=last_day,
        months=_field_values(months, 1, 12, _MONTHS),
        weekdays=None if weekdays == "?" else _field_values(weekdays, 1, 7, _WEEKDAYS),
        years=None if years == "*" else _field_values(years, 1970, 2199, {}),
        timezone=timezone,
    )


def parse_schedule(expression: str, anchor: datetime, timezone: str | None = None) -> Schedule:
    """A schedule for an EventBridge expression; raises ValueError naming what is wrong."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if amount < 1:
            raise ValueError(f"{expression!r}: the rate must be at least 1")
        return RateSchedule(timedelta(seconds=amount * _UNIT_SECONDS[unit]), anchor)
    cron = _CRON.match(text)
    if cron:
        try:
            return _parse_cron(cron.group(1), timezone)
        except ValueError as exc:
            raise ValueError(f"{expression!r}: {exc}") from exc
    raise ValueError(f"{expression!r} is neither rate(...) nor cron(...)")


@dataclass
class ScheduledTarget:
    function: str
    schedule: Schedule
    event: Callable[[datetime], dict[str, Any]]
    next_fire: datetime | None = None


Clock = Callable[[], datetime]
Invoke = Callable[[str, dict[str, Any]], Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Fires each target when its schedule comes due; one thread, one invocation at a time."""

    def __init__(
        self, targets: list[ScheduledTarget], invoke: Invoke, clock: Clock = utc_now
    ) -> None:
        self._targets = targets
        self._invoke = invoke
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        now = clock()
        for target in targets:
            target.next_fire = target.schedule.next_after(now)

    def start(self) -> None:
        if not self._targets:
            return
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def run_due(self, now: datetime) -> list[str]:
        """Fire every target due at `now` (once, even if several firings were missed)."""
        fired = []
        for target in self._targets:
            if target.next_fire is None or target.next_fire > now:
                continue
            scheduled_for = target.next_fire
            target.next_fire = target.schedule.next_after(max(now, scheduled_for))
            fired.append(target.function)
            try:
                self._invoke(target.function, target.event(scheduled_for))
            except Exception:
                logger.exception("scheduled run of %s failed", target.function)
        return fired

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self._clock()
            self.run_due(now)
            upcoming = [t.next_fire for t in self._targets if t.next_fire is not None]
            if not upcoming:
                return
            wait_s = (min(upcoming) - self._clock()).total_seconds()
            # Re-read the clock at least once a minute so a suspended laptop catches up.
            self._stop.wait(max(0.0, min(wait_s, 60.0)))
