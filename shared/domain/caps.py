"""Monthly caps: how much a program releases in one calendar month (UTC).

A program may cap what one advocate earns in a month (advocate rewards and tier bonuses)
and what the whole program releases in a month (every reward, both sides). The month is
the release's, in UTC: a referral released at 23:59 on 31 January counts for January,
one a minute later for February. What a month has spent is kept in two counters per
program and month (`shared/repositories/period_counters.py`), changed in the release's
own transaction only while they stay within the caps.

Over a cap, the program's `over_cap` decides:

- `defer`: nothing is released; the referral stays `holding` (hold reason
  `monthly_cap_reached`) and the release job tries it again on every run, so it goes out
  in the first month with room for all of it.
- `refuse`: the side that does not fit is withheld for good (the advocate side is
  judged first, then the referee's against what is left of the program's month), and the
  release's audit entry names what was withheld by the monthly cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from shared.domain.programs import MonthlyCaps

PER_ADVOCATE = "per_advocate_per_month"
PROGRAM = "program_per_month"


def month_of(at: datetime) -> str:
    """The calendar month, in UTC, that a release at `at` counts for: `YYYY-MM`."""
    if at.tzinfo is None:
        raise ValueError("a release time carries its timezone")
    return at.astimezone(UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class MonthSpent:
    """What one month has released so far: to one advocate, and by the whole program."""

    advocate: Decimal = Decimal(0)
    program: Decimal = Decimal(0)


@dataclass(frozen=True)
class CapVerdict:
    """How one referral's rewards meet the month's caps.

    `over` names the caps the whole referral would exceed; `advocate_fits` and
    `referee_fits` say which sides fit, the advocate's first (what `refuse` keeps)."""

    over: tuple[str, ...]
    advocate_fits: bool
    referee_fits: bool


def _fits(total: Decimal, cap: Decimal | None) -> bool:
    return cap is None or total <= cap


def judge(
    caps: MonthlyCaps, spent: MonthSpent, *, advocate: Decimal, referee: Decimal
) -> CapVerdict:
    """How rewards of `advocate` (advocate side) and `referee` meet `caps`, given `spent`."""
    over = []
    if advocate > 0 and not _fits(spent.advocate + advocate, caps.per_advocate_per_month):
        over.append(PER_ADVOCATE)
    if advocate + referee > 0 and not _fits(
        spent.program + advocate + referee, caps.program_per_month
    ):
        over.append(PROGRAM)
    advocate_fits = advocate == 0 or (
        _fits(spent.advocate + advocate, caps.per_advocate_per_month)
        and _fits(spent.program + advocate, caps.program_per_month)
    )
    taken = spent.program + (advocate if advocate_fits else Decimal(0))
    referee_fits = referee == 0 or _fits(taken + referee, caps.program_per_month)
    return CapVerdict(tuple(over), advocate_fits, referee_fits)
