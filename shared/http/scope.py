"""Which programs a client token reaches, and where each route finds the program it touches.

A token with a `programs` claim reaches only those programs. Every client route declares in
the catalogue where its program is: a path parameter, a body or query field, or the program
of a referral, advocate or reward the path names. The Api checks the declaration before the route
runs, so a route added later cannot forget the check (and the catalogue test refuses a
client route without one).

Outside the scope is 404, worded exactly as for an id that does not exist: a 403 would tell
the caller that the other program's referral is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from shared.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from pydantic import BaseModel

    from shared.domain.advocates import Advocate
    from shared.domain.referrals import Referral
    from shared.domain.rewards import Reward
    from shared.storage.table import Table

Source = Literal["path", "body", "query", "referral", "advocate", "reward"]
# The sources whose program is read from the record the path parameter names.
LOOKUPS: tuple[Source, ...] = ("referral", "advocate", "reward")


@dataclass(frozen=True)
class ProgramRef:
    """Where a route's program is: `source` says what `name` is (parameter or field)."""

    source: Source
    name: str


def in_path(name: str = "program_id") -> ProgramRef:
    return ProgramRef("path", name)


def in_body(name: str = "program_id") -> ProgramRef:
    return ProgramRef("body", name)


def in_query(name: str = "program_id") -> ProgramRef:
    return ProgramRef("query", name)


def of_referral(name: str = "referral_id") -> ProgramRef:
    return ProgramRef("referral", name)


def of_advocate(name: str = "advocate_id") -> ProgramRef:
    return ProgramRef("advocate", name)


def of_reward(name: str = "reward_id") -> ProgramRef:
    return ProgramRef("reward", name)


class ProgramLocator(Protocol):
    def program_of(self, kind: str, record_id: str) -> str | None:
        """The program of the referral, advocate or reward `record_id`; None if none."""


class TableProgramLocator:
    def __init__(self, table: Table) -> None:
        self._table = table

    def program_of(self, kind: str, record_id: str) -> str | None:
        # The catalogue imports this module in every HTTP function; the repositories load
        # only when a scoped token needs a lookup.
        from shared.domain.rewards import referral_of
        from shared.repositories.advocates import AdvocateRepository
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.rewards import RewardRepository

        record: Referral | Advocate | Reward | None = None
        if kind == "referral":
            record = ReferralRepository(self._table).get(record_id)
        elif kind == "advocate":
            record = AdvocateRepository(self._table).get(record_id)
        elif kind == "reward":
            # A reward id names its referral; an id of another shape finds nothing (404).
            record = RewardRepository(self._table).get(referral_of(record_id), record_id)
        return record.program_id if record is not None else None


def functions_locator() -> ProgramLocator:
    """The locator on the running function's table (built on each call: tests reset it)."""
    from shared import wiring

    return TableProgramLocator(wiring.table())


def check_scope(
    where: ProgramRef | None,
    programs: frozenset[str],
    path: Mapping[str, str],
    body: BaseModel,
    query: Mapping[str, str],
    locator: ProgramLocator,
) -> None:
    """Pass, or raise NotFound as a missing program or record would (422 for a filter or
    field a scoped token has to send)."""
    if where is None:
        raise NotFound("no such route for a token limited to programs")
    if where.source in LOOKUPS:
        record_id = path[where.name]
        program = locator.program_of(where.source, record_id)
        if program is None or program not in programs:
            raise NotFound(f"no {where.source} {record_id}")
        return
    if where.source == "path":
        program = path.get(where.name)
    elif where.source == "body":
        program = getattr(body, where.name, None)
    else:
        program = query.get(where.name)
    if program is None:
        raise InvalidRequest.field(
            where.name, "is required for a token limited to programs", "missing"
        )
    if program not in programs:
        raise NotFound(f"no program {program}")
