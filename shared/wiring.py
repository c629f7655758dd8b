"""The running function's adapters, built lazily on first use, handed to `bootstrap`.

On Lambda each function builds its own DynamoTable, SSM-backed hasher, SQS queues and
only its own payout provider; the local stack installs one embedded table for every
handler it hosts. Every factory below is a one-line view of `services()`: the graph
itself is built in `shared.bootstrap`, the same way the backtest and the tests build it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.adapters.sqs_reward_queue import SqsVisibility
    from shared.adapters.sqs_scoring_queue import SqsScoringQueue
    from shared.bootstrap import Services
    from shared.clock import Clock
    from shared.config import Settings
    from shared.payouts import PayoutProvider
    from shared.pii import PiiHasher
    from shared.ports import RewardQueue
    from shared.scoring.feature_values import FeatureSource
    from shared.scoring.serving import ModelJudge
    from shared.services.advocates import AdvocateService
    from shared.services.audit import AuditService
    from shared.services.blocklist import BlocklistService
    from shared.services.campaigns import CampaignService
    from shared.services.customers import CustomerService
    from shared.services.drift_monitor import DriftMonitor
    from shared.services.events import EventService
    from shared.services.fulfilment import FulfilmentService
    from shared.services.ledger import RewardLedger
    from shared.services.merchant_views import MerchantViews
    from shared.services.notifications import MerchantNotifications
    from shared.services.points import PointsService
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
    from shared.services.webhooks import (
        DeliveryAdapters,
        UrlGuard,
        WebhookDispatcher,
        WebhookService,
    )
    from shared.storage.table import Table

REWARD_KINDS = ("gift_card", "cash", "charity_donation")


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
    services.cache_clear()
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


@lru_cache(maxsize=1)
def services() -> Services:
    """This function's service graph; each service is built on first use."""
    from shared.bootstrap import Services

    return Services(
        table=table(),
        clock=clock(),
        hasher=hasher(),
        providers=_Providers(),
        reward_queue=reward_queue,
        scoring_queue=_scoring_queue,
        model=model,
        blocklist=None,
        extractor=_tracked_extractor,
        notifications=webhook_outbox,
        webhook_guard=_webhook_guard,
        webhook_delivery=_webhook_delivery,
    )


class _Providers(Mapping[str, "PayoutProvider"]):
    """The payout providers, each built on first lookup: a fulfilment function may read
    only its own provider's secrets (the template grants FulfilGiftCard and
    FulfilCharityDonation the Tremendous key alone, FulfilCash the PayPal keys alone), so it
    must not build the others."""

    def __getitem__(self, kind: str) -> PayoutProvider:
        if kind not in REWARD_KINDS:
            raise KeyError(kind)
        return payout_provider(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(REWARD_KINDS)

    def __len__(self) -> int:
        return len(REWARD_KINDS)


@lru_cache(maxsize=1)
def _scoring_queue() -> SqsScoringQueue:
    from shared.adapters.sqs_scoring_queue import SqsScoringQueue

    url = settings().scoring_queue_url
    if not url:
        raise RuntimeError("SCORING_QUEUE_URL is not set")
    return SqsScoringQueue(url)


@lru_cache(maxsize=1)
def model() -> ModelJudge | None:
    """The model version the active pointer names (the bundled `models/CURRENT` until one
    is promoted), followed live; None until one is trained (rules only)."""
    from typing import cast

    from shared.model_wiring import configured_store, served_model

    served = served_model(table(), configured_store(settings()), clock())
    # ActiveModel offers every part of ModelJudge that scoring uses, delegating to one.
    return cast("ModelJudge | None", served)


def _tracked_extractor() -> FeatureSource:
    from shared.repositories.rescore_marks import tracked_extractor

    return tracked_extractor(table(), hasher())


_provider_lock = threading.Lock()


def payout_provider(kind: str) -> PayoutProvider:
    """The provider that pays `kind` rewards, and no other: one per process, also when two
    batches of a queue start at once (two sandboxes would each keep half the orders)."""
    with _provider_lock:
        return _payout_provider(kind)


@lru_cache(maxsize=len(REWARD_KINDS))
def _payout_provider(kind: str) -> PayoutProvider:
    from shared.adapters.payout_providers import provider_from_environment

    return provider_from_environment(kind, table(), settings().payouts)


@lru_cache(maxsize=1)
def reward_queue() -> RewardQueue:
    from shared.adapters.sqs_reward_queue import SqsRewardQueue

    urls = settings().reward_queue_urls
    return SqsRewardQueue({kind: url for kind, url in urls.items() if url})


def queue_visibility(kind: str) -> SqsVisibility:
    from shared.adapters.sqs_reward_queue import SqsVisibility

    url = settings().reward_queue_urls.get(kind)
    if not url:
        raise RuntimeError(f"the {kind} queue's URL is not set")
    return SqsVisibility(url)


@lru_cache(maxsize=1)
def webhook_outbox() -> MerchantNotifications:
    """The webhook queue, as the money path publishes to it; nobody without one."""
    url = settings().webhook_queue_url
    if not url:
        from shared.services.notifications import NO_NOTIFICATIONS

        return NO_NOTIFICATIONS
    from shared.adapters.webhook_queue import SqsWebhookQueue

    return SqsWebhookQueue(url, settings().webhook_dead_letter_queue_url)


def _webhook_guard() -> UrlGuard:
    from shared.adapters.webhook_http import UrlPolicy

    return UrlPolicy(allow_loopback_http=settings().webhook_allow_loopback_http)


def _webhook_delivery() -> DeliveryAdapters:
    from shared.adapters.webhook_http import GuardedSender, UrlPolicy
    from shared.adapters.webhook_queue import SqsWebhookQueue
    from shared.domain.webhooks import RETRY_DELAYS_S
    from shared.services.webhooks import DeliveryAdapters

    configured = settings()
    if not configured.webhook_queue_url:
        raise RuntimeError("WEBHOOK_QUEUE_URL is not set")
    policy = UrlPolicy(allow_loopback_http=configured.webhook_allow_loopback_http)
    queue = SqsWebhookQueue(configured.webhook_queue_url, configured.webhook_dead_letter_queue_url)
    return DeliveryAdapters(
        sender=GuardedSender(policy),
        queue=queue,
        delays=configured.webhook_retry_delays_s or RETRY_DELAYS_S,
    )


# --- the services, as each function's handler asks for them ---


def program_service() -> ProgramService:
    return services().programs


def campaign_service() -> CampaignService:
    return services().campaigns


def advocate_service() -> AdvocateService:
    return services().advocates


def merchant_views() -> MerchantViews:
    return services().merchant_views


def referral_service() -> ReferralService:
    return services().referrals


def event_service() -> EventService:
    return services().events


def review_service() -> ReviewService:
    return services().reviews


def audit_service() -> AuditService:
    return services().audit


def blocklist_service() -> BlocklistService:
    return services().blocklist_entries


def stats_service() -> StatsService:
    return services().stats


def customer_service() -> CustomerService:
    return services().customers


def points_service() -> PointsService:
    return services().points


def scoring_service() -> ScoringService:
    return services().scoring


def drift_monitor() -> DriftMonitor:
    return services().drift


def rescore_sweep() -> RescoreSweep:
    """The hourly re-score of unpaid referrals, scoring each with `scoring_service()`."""
    return services().sweep


def rescore_candidates() -> RescoreCandidates:
    from shared.repositories.rescore_marks import table_rescore_candidates

    return table_rescore_candidates(table())


def payout_providers() -> dict[str, PayoutProvider]:
    """Every reward kind's provider, for reconciliation, which reads both providers' orders."""
    return dict(services().providers)


def reward_ledger() -> RewardLedger:
    return services().ledger


def rewards_of(referral_id: str) -> list[dict[str, Any]]:
    """A referral's ledger entries as the API shows them (for GET /v1/referrals/{id})."""
    from shared.schemas.rewards import RewardEntryOut

    entries = reward_ledger().rewards_of(referral_id)
    return [RewardEntryOut.of(r).model_dump(mode="json") for r in entries]


def release_service() -> ReleaseService:
    return services().release


def fulfilment_service(kind: str) -> FulfilmentService:
    """Fulfilment of `kind` rewards, through that kind's provider only."""
    return services().fulfilment(kind)


def refund_service() -> RefundService:
    return services().refunds


def reconcile_service() -> ReconcileService:
    return services().reconcile


def reissue_service() -> ReissueService:
    return services().reissue


def finance_reversal_service() -> FinanceReversalService:
    return services().finance_reversal


def webhook_service() -> WebhookService:
    return services().webhooks


def webhook_dispatcher() -> WebhookDispatcher:
    return services().webhook_dispatcher


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
        services,
        _scoring_queue,
        model,
        _payout_provider,
        reward_queue,
        webhook_outbox,
    ):
        cached.cache_clear()
    configured.cache_clear()
    idempotency.forget_store()
