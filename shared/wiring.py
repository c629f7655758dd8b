"""The one place that builds adapters for a running function, lazily on first use."""

from __future__ import annotations

from functools import lru_cache

from shared.adapters.sqs_scoring_queue import SqsScoringQueue
from shared.adapters.ssm_key import hmac_key_from_ssm
from shared.clock import SystemClock
from shared.config import settings
from shared.pii import PiiHasher
from shared.services.advocates import AdvocateService
from shared.services.events import EventService
from shared.services.programs import ProgramService
from shared.services.referrals import ReferralService
from shared.storage.dynamo_table import DynamoTable
from shared.storage.table import Table


@lru_cache(maxsize=1)
def table() -> Table:
    return DynamoTable(settings().table_name)


@lru_cache(maxsize=1)
def hasher() -> PiiHasher:
    return PiiHasher(lambda: hmac_key_from_ssm(settings().pii_key_parameter))


_clock = SystemClock()


def program_service() -> ProgramService:
    return ProgramService(table(), _clock)


def advocate_service() -> AdvocateService:
    return AdvocateService(table(), _clock, hasher())


def referral_service() -> ReferralService:
    return ReferralService(table(), _clock, hasher())


@lru_cache(maxsize=1)
def _scoring_queue() -> SqsScoringQueue:
    url = settings().scoring_queue_url
    if not url:
        raise RuntimeError("SCORING_QUEUE_URL is not set")
    return SqsScoringQueue(url)


def event_service() -> EventService:
    return EventService(table(), _clock, hasher(), _scoring_queue())
