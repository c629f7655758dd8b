from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.adapters.memory_queue import MemoryScoringQueue
from shared.bootstrap import bootstrap
from shared.clock import FixedClock
from shared.pii import PiiHasher
from shared.services.advocates import AdvocateService
from shared.services.events import EventService
from shared.services.programs import ProgramService
from shared.services.referrals import ReferralService
from shared.storage.memory_table import MemoryTable
from tests.support import T0


@dataclass
class Services:
    table: MemoryTable
    clock: FixedClock
    queue: MemoryScoringQueue
    programs: ProgramService
    advocates: AdvocateService
    referrals: ReferralService
    events: EventService


@pytest.fixture
def services() -> Services:
    table = MemoryTable()
    clock = FixedClock(T0)
    hasher = PiiHasher(lambda: b"k" * 32)
    queue = MemoryScoringQueue()
    built = bootstrap(table=table, clock=clock, hasher=hasher, scoring_queue=queue)
    return Services(
        table=table,
        clock=clock,
        queue=queue,
        programs=built.programs,
        advocates=built.advocates,
        referrals=built.referrals,
        events=built.events,
    )
