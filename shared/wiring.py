"""The one place that builds adapters for a running function, lazily on first use."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from shared.adapters.payout_providers import providers_from_environment
from shared.adapters.sqs_reward_queue import SqsRewardQueue, SqsVisibility
from shared.adapters.sqs_scoring_queue import SqsScoringQueue
from shared.adapters.ssm_key import hmac_key_from_ssm
from shared.clock import SystemClock
from shared.config import settings
from shared.payouts import PayoutProvider
from shared.pii import PiiHasher
from shared.ports import RewardQueue
from shared.repositories.blocklist import TableBlocklist
from shared.schemas.rewards import RewardEntryOut
from shared.scoring.serving import ModelJudge, load_judge
from shared.services.advocates import AdvocateService
from shared.services.audit import AuditService
from shared.services.blocklist import BlocklistService
from shared.services.customers import CustomerService
from shared.services.events import EventService
from shared.services.fulfilment import FulfilmentService
from shared.services.ledger import RewardLedger
from shared.services.programs import ProgramService
from shared.services.reconcile import ReconcileService
from shared.services.referrals import ReferralService
from shared.services.refunds import RefundService
from shared.services.release import ReleaseService
from shared.services.rescore_marks import marking_table, table_rescore_candidates, tracked_extractor
from shared.services.reviews import ReviewService, scored_features
from shared.services.scoring import RescoreCandidates, ScoringService
from shared.services.stats import StatsService
from shared.storage.dynamo_table import DynamoTable
from shared.storage.table import Table


@lru_cache(maxsize=1)
def table() -> Table:
    # Each committed write marks the referrals whose feature inputs it changed.
    return marking_table(DynamoTable(settings().table_name))


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


# --- finance review, audit, blocklist, stats, erasure ---


def review_service() -> ReviewService:
    return ReviewService(table(), _clock, features=scored_features(table(), hasher()))


def audit_service() -> AuditService:
    return AuditService(table())


def blocklist_service() -> BlocklistService:
    return BlocklistService(table(), _clock, hasher())


def blocklist() -> TableBlocklist:
    """The scoring `Blocklist` port."""
    return TableBlocklist(table())


def stats_service() -> StatsService:
    return StatsService(table())


def customer_service() -> CustomerService:
    return CustomerService(table(), _clock)


# --- fraud scoring ---


@lru_cache(maxsize=1)
def model() -> ModelJudge | None:
    """The trained model from `settings().model_dir`; None until one is trained (rules only)."""
    return load_judge(settings().model_dir)


def scoring_service() -> ScoringService:
    extractor = tracked_extractor(table(), hasher())
    return ScoringService(table(), _clock, hasher(), model(), blocklist(), extractor)


def rescore_candidates() -> RescoreCandidates:
    return table_rescore_candidates(table())


# --- reward fulfilment ---


@lru_cache(maxsize=1)
def payout_providers() -> dict[str, PayoutProvider]:
    """Per reward kind, from GIFT_CARD_PROVIDER / CASH_PROVIDER (sandbox unless configured)."""
    return providers_from_environment(table())


@lru_cache(maxsize=1)
def reward_queue() -> RewardQueue:
    urls = {
        "gift_card": os.environ.get("GIFT_CARD_QUEUE_URL", ""),
        "cash": os.environ.get("CASH_QUEUE_URL", ""),
    }
    return SqsRewardQueue({kind: url for kind, url in urls.items() if url})


def queue_visibility(kind: str) -> SqsVisibility:
    variable = {"gift_card": "GIFT_CARD_QUEUE_URL", "cash": "CASH_QUEUE_URL"}[kind]
    url = os.environ.get(variable)
    if not url:
        raise RuntimeError(f"{variable} is not set")
    return SqsVisibility(url)


def reward_ledger() -> RewardLedger:
    return RewardLedger(table(), _clock)


def rewards_of(referral_id: str) -> list[dict[str, Any]]:
    """A referral's ledger entries as the API shows them (for GET /v1/referrals/{id})."""
    entries = reward_ledger().rewards_of(referral_id)
    return [RewardEntryOut.of(r).model_dump(mode="json") for r in entries]


def release_service() -> ReleaseService:
    return ReleaseService(table(), _clock, reward_queue())


def fulfilment_service() -> FulfilmentService:
    return FulfilmentService(table(), _clock, payout_providers())


def refund_service() -> RefundService:
    return RefundService(table(), _clock)


def reconcile_service() -> ReconcileService:
    return ReconcileService(table(), _clock, payout_providers(), reward_queue())


def reset() -> None:
    """Forget every built adapter, so the next call reads the environment again.

    A Lambda never needs this; a process that hosts several stacks in turn (tests) does.
    """
    from shared.http import idempotency

    for cached in (table, hasher, _scoring_queue, model, payout_providers, reward_queue):
        cached.cache_clear()
    settings.cache_clear()
    idempotency.forget_store()
