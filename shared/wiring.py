"""The one place that builds adapters for a running function, lazily on first use.

Each factory imports what it builds inside itself, so a function's handler module loads only
the services its own routes call: importing every service, scorer and adapter here made each
handler take 2.2-2.7x as long as `import boto3` to import in a fresh interpreter (0.30-0.36 s
against 0.13 s); the per-function cost is what `make bench` reports as "cold import".
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.adapters.sqs_reward_queue import SqsVisibility
    from shared.adapters.sqs_scoring_queue import SqsScoringQueue
    from shared.clock import Clock
    from shared.config import Settings
    from shared.payouts import PayoutProvider
    from shared.pii import PiiHasher
    from shared.ports import RewardQueue
    from shared.repositories.blocklist import TableBlocklist
    from shared.scoring.serving import ModelJudge
    from shared.services.advocates import AdvocateService
    from shared.services.audit import AuditService
    from shared.services.blocklist import BlocklistService
    from shared.services.customers import CustomerService
    from shared.services.drift_monitor import DriftMonitor
    from shared.services.events import EventService
    from shared.services.fulfilment import FulfilmentService
    from shared.services.ledger import RewardLedger
    from shared.services.programs import ProgramService
    from shared.services.reconcile import ReconcileService
    from shared.services.referrals import ReferralService
    from shared.services.refunds import RefundService
    from shared.services.reissue import ReissueService
    from shared.services.release import ReleaseService
    from shared.services.rescore_sweep import RescoreCandidates, RescoreSweep
    from shared.services.reversal import FinanceReversalService
    from shared.services.reviews import ReviewService
    from shared.services.scoring import ScoringService
    from shared.services.stats import StatsService
    from shared.storage.table import Table

REWARD_KINDS = ("gift_card", "cash")


def settings() -> Settings:
    """The function's configuration (a pydantic model: the scheduled functions import
    pydantic only if their own work needs it)."""
    from shared.config import settings as configured

    return configured()


# A table a host process installed for every function it runs (the local stack's embedded
# engine); None on Lambda, where each function builds its own DynamoTable.
_installed_table: Table | None = None


def install(*, table: Table) -> None:
    """Make `table()` return `table` until `reset()`: one engine shared by every handler
    a process hosts."""
    global _installed_table
    _installed_table = table
    _marked_table.cache_clear()
    from shared.http import idempotency

    idempotency.forget_store()


def installed_table() -> Table | None:
    return _installed_table


def table() -> Table:
    return _marked_table()


@lru_cache(maxsize=1)
def _marked_table() -> Table:
    from shared.repositories.rescore_marks import marking_table

    # Each committed write marks the referrals whose feature inputs it changed.
    base = _installed_table if _installed_table is not None else _dynamo_table()
    return marking_table(base)


def _dynamo_table() -> Table:
    from shared.storage.dynamo_table import DynamoTable

    return DynamoTable(settings().table_name)


@lru_cache(maxsize=1)
def hasher() -> PiiHasher:
    from shared.adapters.ssm_key import hmac_key_from_ssm
    from shared.pii import PiiHasher

    return PiiHasher(lambda: hmac_key_from_ssm(settings().pii_key_parameter))


@lru_cache(maxsize=1)
def clock() -> Clock:
    from shared.clock import SystemClock

    return SystemClock()


def program_service() -> ProgramService:
    from shared.services.programs import ProgramService

    return ProgramService(table(), clock())


def advocate_service() -> AdvocateService:
    from shared.services.advocates import AdvocateService

    return AdvocateService(table(), clock(), hasher())


def referral_service() -> ReferralService:
    from shared.services.referrals import ReferralService

    return ReferralService(table(), clock(), hasher())


@lru_cache(maxsize=1)
def _scoring_queue() -> SqsScoringQueue:
    from shared.adapters.sqs_scoring_queue import SqsScoringQueue

    url = settings().scoring_queue_url
    if not url:
        raise RuntimeError("SCORING_QUEUE_URL is not set")
    return SqsScoringQueue(url)


def event_service() -> EventService:
    from shared.services.events import EventService

    return EventService(table(), clock(), hasher(), _scoring_queue())


# --- finance review, audit, blocklist, stats, erasure ---


def review_service() -> ReviewService:
    from shared.services.reviews import ReviewService, scored_features

    return ReviewService(table(), clock(), features=scored_features(table(), hasher()))


def audit_service() -> AuditService:
    from shared.services.audit import AuditService

    return AuditService(table())


def blocklist_service() -> BlocklistService:
    from shared.services.blocklist import BlocklistService

    return BlocklistService(table(), clock(), hasher())


def blocklist() -> TableBlocklist:
    """The scoring `Blocklist` port."""
    from shared.repositories.blocklist import TableBlocklist

    return TableBlocklist(table())


def stats_service() -> StatsService:
    from shared.services.stats import StatsService

    return StatsService(table())


def customer_service() -> CustomerService:
    from shared.services.customers import CustomerService

    return CustomerService(table(), clock())


# --- fraud scoring ---


@lru_cache(maxsize=1)
def model() -> ModelJudge | None:
    """The trained model from `settings().model_dir`; None until one is trained (rules only)."""
    from shared.scoring.serving import load_judge

    return load_judge(settings().model_dir)


def scoring_service() -> ScoringService:
    from shared.repositories.rescore_marks import tracked_extractor
    from shared.repositories.scoring_records import ScoringRecords
    from shared.services.scoring import ScoringService

    extractor = tracked_extractor(table(), hasher())
    return ScoringService(ScoringRecords(table()), clock(), model(), blocklist(), extractor)


def drift_monitor() -> DriftMonitor:
    from shared.repositories.drift_references import DriftReferences
    from shared.services.drift_monitor import DriftMonitor

    return DriftMonitor(DriftReferences(table()), clock(), model())


def rescore_sweep() -> RescoreSweep:
    """The hourly re-score of unpaid referrals, scoring each with `scoring_service()`."""
    from shared.repositories.scoring_records import ScoringRecords
    from shared.services.rescore_sweep import RescoreSweep

    return RescoreSweep(scoring_service(), ScoringRecords(table()), drift_monitor())


def rescore_candidates() -> RescoreCandidates:
    from shared.repositories.rescore_marks import table_rescore_candidates

    return table_rescore_candidates(table())


# --- reward fulfilment ---


@lru_cache(maxsize=len(REWARD_KINDS))
def payout_provider(kind: str) -> PayoutProvider:
    """The provider that pays `kind` rewards, and no other.

    A fulfilment function may read only its own provider's secrets (the template grants
    FulfilGiftCard the Tremendous key alone, FulfilCash the PayPal keys alone), so it must
    not build the other one.
    """
    from shared.adapters.payout_providers import provider_from_environment

    return provider_from_environment(kind, table())


def payout_providers() -> dict[str, PayoutProvider]:
    """Every reward kind's provider, for reconciliation, which reads both providers' orders."""
    return {kind: payout_provider(kind) for kind in REWARD_KINDS}


@lru_cache(maxsize=1)
def reward_queue() -> RewardQueue:
    from shared.adapters.sqs_reward_queue import SqsRewardQueue

    urls = {
        "gift_card": os.environ.get("GIFT_CARD_QUEUE_URL", ""),
        "cash": os.environ.get("CASH_QUEUE_URL", ""),
    }
    return SqsRewardQueue({kind: url for kind, url in urls.items() if url})


def queue_visibility(kind: str) -> SqsVisibility:
    from shared.adapters.sqs_reward_queue import SqsVisibility

    variable = {"gift_card": "GIFT_CARD_QUEUE_URL", "cash": "CASH_QUEUE_URL"}[kind]
    url = os.environ.get(variable)
    if not url:
        raise RuntimeError(f"{variable} is not set")
    return SqsVisibility(url)


def reward_ledger() -> RewardLedger:
    from shared.services.ledger import RewardLedger

    return RewardLedger(table(), clock())


def rewards_of(referral_id: str) -> list[dict[str, Any]]:
    """A referral's ledger entries as the API shows them (for GET /v1/referrals/{id})."""
    from shared.schemas.rewards import RewardEntryOut

    entries = reward_ledger().rewards_of(referral_id)
    return [RewardEntryOut.of(r).model_dump(mode="json") for r in entries]


def release_service() -> ReleaseService:
    from shared.services.release import ReleaseService

    return ReleaseService(table(), clock(), reward_queue())


def fulfilment_service(kind: str) -> FulfilmentService:
    """Fulfilment of `kind` rewards, through that kind's provider only."""
    from shared.services.fulfilment import FulfilmentService

    return FulfilmentService(table(), clock(), {kind: payout_provider(kind)})


def refund_service() -> RefundService:
    from shared.services.refunds import RefundService

    return RefundService(table(), clock())


def reconcile_service() -> ReconcileService:
    from shared.services.reconcile import ReconcileService

    return ReconcileService(table(), clock(), payout_providers(), reward_queue())


def reissue_service() -> ReissueService:
    from shared.services.reissue import ReissueService

    return ReissueService(table(), clock(), payout_providers(), reward_queue())


def finance_reversal_service() -> FinanceReversalService:
    from shared.services.reversal import FinanceReversalService

    return FinanceReversalService(table(), clock())


def reset() -> None:
    """Forget every built adapter, so the next call reads the environment again.

    A Lambda never needs this; a process that hosts several stacks in turn (tests) does.
    """
    from shared.config import settings as configured
    from shared.http import idempotency

    global _installed_table
    _installed_table = None
    for cached in (
        _marked_table,
        hasher,
        clock,
        _scoring_queue,
        model,
        payout_provider,
        reward_queue,
    ):
        cached.cache_clear()
    configured.cache_clear()
    idempotency.forget_store()
