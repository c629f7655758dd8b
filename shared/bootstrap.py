"""The one place that builds the service graph, from adapters handed in.

Lambda (`shared.wiring`), the local stack, the backtest and every test build their
services here and differ only in what they pass: a DynamoDB table or an in-memory one,
the system clock or a fixed one, real payout providers or sandboxes, SQS or memory queues.

Each service is built on first use and imports its module then, so a function's handler
loads only what its own routes call: importing every service, scorer and adapter up front
made each handler take 2.2-2.7x as long to import as `import boto3` (0.30-0.36 s against
0.13 s); `make bench` reports the per-function figure as "cold import".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING

# The reward kind paid on the service's own ledger rather than through a payout provider.
POINTS = "points"

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.domain.referrals import Referral
    from shared.payouts import PayoutProvider
    from shared.pii import PiiHasher
    from shared.ports import Blocklist, RewardQueue, ScoringQueue
    from shared.repositories.scoring_records import ScoringRecords
    from shared.scoring.feature_values import FeatureSource
    from shared.scoring.serving import ModelJudge
    from shared.services.advocates import AdvocateService
    from shared.services.audit import AuditService
    from shared.services.blocklist import BlocklistService
    from shared.services.campaigns import CampaignService
    from shared.services.commissions import CommissionLedger
    from shared.services.customers import CustomerService
    from shared.services.drift_monitor import DriftMonitor
    from shared.services.events import EventService
    from shared.services.fulfilment import FulfilmentService
    from shared.services.labels import LabelService
    from shared.services.ledger import RewardLedger
    from shared.services.merchant_views import MerchantViews
    from shared.services.model_registry import ModelRegistry, ModelStore
    from shared.services.notifications import MerchantNotifications
    from shared.services.points import PointsPayout, PointsService
    from shared.services.programs import ProgramService
    from shared.services.reconcile import ReconcileService
    from shared.services.referrals import ReferralService
    from shared.services.refunds import RefundService
    from shared.services.reissue import ReissueService
    from shared.services.release import ReleaseService
    from shared.services.rescore_sweep import RescoreSweep
    from shared.services.reversal import FinanceReversalService, ReferralReversal
    from shared.services.reviews import FeatureSnapshot, ReviewService
    from shared.services.scoring import ScoringService
    from shared.services.stats import StatsService
    from shared.services.webhooks import (
        DeliveryAdapters,
        UrlGuard,
        WebhookDispatcher,
        WebhookPorts,
        WebhookService,
    )
    from shared.storage.table import Table


class Services:
    """Every service of the product over one set of adapters, each built once, on demand."""

    def __init__(
        self,
        *,
        table: Table,
        clock: Clock,
        hasher: PiiHasher,
        providers: Mapping[str, PayoutProvider],
        reward_queue: Callable[[], RewardQueue],
        scoring_queue: Callable[[], ScoringQueue],
        model: Callable[[], ModelJudge | None],
        blocklist: Blocklist | None,
        extractor: Callable[[], FeatureSource] | None,
        notifications: Callable[[], MerchantNotifications] | None = None,
        webhook_guard: Callable[[], UrlGuard] | None = None,
        webhook_delivery: Callable[[], DeliveryAdapters] | None = None,
    ) -> None:
        self.table = table
        self._notifications = notifications
        self._webhook_guard = webhook_guard
        self._webhook_delivery = webhook_delivery
        self.clock = clock
        self.hasher = hasher
        self.providers = providers
        self._reward_queue = reward_queue
        self._scoring_queue = scoring_queue
        self._model = model
        self._blocklist = blocklist
        self._extractor = extractor

    # --- programs, advocates, intake -----------------------------------------------------

    @cached_property
    def merchant_views(self) -> MerchantViews:
        from shared.repositories.advocate_referrals import AdvocateReferrals
        from shared.repositories.advocates import AdvocateRepository
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.rewards import RewardRepository
        from shared.services.merchant_views import MerchantViews

        return MerchantViews(
            referrals=ReferralRepository(self.table),
            by_advocate=AdvocateReferrals(self.table),
            advocates=AdvocateRepository(self.table),
            ledger=RewardRepository(self.table),
        )

    @cached_property
    def programs(self) -> ProgramService:
        from shared.repositories.advocates import AdvocateRepository
        from shared.repositories.programs import ProgramRepository
        from shared.services.programs import ProgramService

        return ProgramService(
            ProgramRepository(self.table), AdvocateRepository(self.table), self.clock
        )

    @cached_property
    def advocates(self) -> AdvocateService:
        from shared.repositories.advocates import AdvocateRepository
        from shared.repositories.evidence import EvidenceIndex
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.stats import ProgramCounters
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.advocates import AdvocateService

        return AdvocateService(
            programs=ProgramRepository(self.table),
            advocates=AdvocateRepository(self.table),
            evidence=EvidenceIndex(self.table),
            counters=ProgramCounters(self.table),
            units=UnitOfWork(self.table),
            clock=self.clock,
            hasher=self.hasher,
        )

    @cached_property
    def referrals(self) -> ReferralService:
        from shared.repositories.advocates import AdvocateRepository
        from shared.repositories.evidence import EvidenceIndex
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.stats import ProgramCounters
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.referrals import ReferralService

        return ReferralService(
            programs=ProgramRepository(self.table),
            advocates=AdvocateRepository(self.table),
            referrals=ReferralRepository(self.table),
            evidence=EvidenceIndex(self.table),
            counters=ProgramCounters(self.table),
            units=UnitOfWork(self.table),
            clock=self.clock,
            hasher=self.hasher,
        )

    @cached_property
    def events(self) -> EventService:
        from shared.repositories.evidence import EvidenceIndex
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.stats import ProgramCounters
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.events import EventService

        return EventService(
            programs=ProgramRepository(self.table),
            referrals=ReferralRepository(self.table),
            evidence=EvidenceIndex(self.table),
            counters=ProgramCounters(self.table),
            units=UnitOfWork(self.table),
            clock=self.clock,
            hasher=self.hasher,
            scoring=self._scoring_queue(),
            commissions=self._commission_ledger(),
        )

    def _commission_ledger(self) -> CommissionLedger:
        from shared.repositories.budget import ProgramBudget
        from shared.repositories.period_counters import PeriodCounters
        from shared.repositories.rewards import RewardRepository
        from shared.services.commissions import CommissionLedger

        return CommissionLedger(
            RewardRepository(self.table), ProgramBudget(self.table), PeriodCounters(self.table)
        )

    # --- fraud scoring, finance review -----------------------------------------------------

    @cached_property
    def blocklist(self) -> Blocklist:
        """The scoring side's view of the blocklist."""
        if self._blocklist is not None:
            return self._blocklist
        from shared.repositories.blocklist import TableBlocklist

        return TableBlocklist(self.table)

    @cached_property
    def features(self) -> FeatureSource:
        """The features of a referral as of a time, from the stored evidence."""
        if self._extractor is not None:
            return self._extractor()
        from shared.repositories.scoring_evidence import ScoringEvidence
        from shared.scoring.features import FeatureExtractor

        return FeatureExtractor(ScoringEvidence(self.table), self.hasher)

    @cached_property
    def scoring_records(self) -> ScoringRecords:
        from shared.repositories.scoring_records import ScoringRecords

        return ScoringRecords(self.table)

    @cached_property
    def scoring(self) -> ScoringService:
        from shared.services.scoring import ScoringService

        return ScoringService(
            self.scoring_records,
            self.clock,
            self._model(),
            self.blocklist,
            self.features,
            notifications=self.notifications,
        )

    @cached_property
    def drift(self) -> DriftMonitor:
        from shared.repositories.drift_references import DriftReferences
        from shared.services.drift_monitor import DriftMonitor

        return DriftMonitor(DriftReferences(self.table), self.clock, self._model())

    @cached_property
    def sweep(self) -> RescoreSweep:
        """The hourly re-score of unpaid referrals, each scored by `scoring`."""
        from shared.services.rescore_sweep import RescoreSweep

        return RescoreSweep(self.scoring, self.scoring_records, self.drift)

    @cached_property
    def reviews(self) -> ReviewService:
        from shared.repositories.scoring_evidence import ScoringEvidence
        from shared.scoring.features import FeatureExtractor

        extractor = FeatureExtractor(ScoringEvidence(self.table), self.hasher)

        def scored_features(referral: Referral) -> dict[str, float] | None:
            """The features the scorer saw: recomputed as of the score's time, which
            replays them."""
            if referral.risk is None or referral.qualified_at is None:
                return None
            features = extractor.extract(referral.referral_id, referral.risk.scored_at, referral)
            return dict(features.values)

        return self.reviews_with(scored_features)

    def reviews_with(self, features: FeatureSnapshot) -> ReviewService:
        """Finance review keeping `features` in each label (the scorer's, in `reviews`)."""
        from shared.repositories.advocates import AdvocateRepository
        from shared.repositories.audit import AuditLog
        from shared.repositories.evidence import EvidenceIndex
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.reviews import LabelStore, ReviewIndex
        from shared.repositories.rewards import RewardRepository
        from shared.repositories.stats import ProgramCounters
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.reviews import ReviewService

        return ReviewService(
            referrals=ReferralRepository(self.table),
            programs=ProgramRepository(self.table),
            advocates=AdvocateRepository(self.table),
            evidence=EvidenceIndex(self.table),
            audit=AuditLog(self.table),
            index=ReviewIndex(self.table),
            labels=LabelStore(self.table),
            ledger=RewardRepository(self.table),
            counters=ProgramCounters(self.table),
            units=UnitOfWork(self.table),
            clock=self.clock,
            features=features,
            notifications=self.notifications,
        )

    @cached_property
    def audit(self) -> AuditService:
        from shared.repositories.audit import AuditLog
        from shared.services.audit import AuditService

        return AuditService(AuditLog(self.table))

    @cached_property
    def blocklist_entries(self) -> BlocklistService:
        from shared.repositories.audit import AuditLog
        from shared.repositories.blocklist import BlocklistRepository
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.blocklist import BlocklistService

        return BlocklistService(
            entries=BlocklistRepository(self.table),
            audit=AuditLog(self.table),
            units=UnitOfWork(self.table),
            clock=self.clock,
            hasher=self.hasher,
        )

    @cached_property
    def stats(self) -> StatsService:
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.stats import ProgramCounters
        from shared.services.stats import StatsService

        return StatsService(ProgramRepository(self.table), ProgramCounters(self.table))

    @cached_property
    def customers(self) -> CustomerService:
        from shared.repositories.advocates import AdvocateRepository
        from shared.repositories.audit import AuditLog
        from shared.repositories.customers import CustomerRecords
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.customers import CustomerService

        return CustomerService(
            records=CustomerRecords(self.table),
            advocates=AdvocateRepository(self.table),
            referrals=ReferralRepository(self.table),
            audit=AuditLog(self.table),
            units=UnitOfWork(self.table),
            clock=self.clock,
            hasher=self.hasher,
        )

    @cached_property
    def labels(self) -> LabelService:
        from shared.repositories.reviews import LabelStore
        from shared.services.labels import LabelService

        return LabelService(LabelStore(self.table))

    # --- reward fulfilment -----------------------------------------------------------------

    @cached_property
    def ledger(self) -> RewardLedger:
        from shared.repositories.audit import AuditLog
        from shared.repositories.budget import ProgramBudget
        from shared.repositories.payout_figures import PayoutFigures
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.rewards import RewardRepository
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.ledger import RewardLedger

        return RewardLedger(
            self.clock,
            UnitOfWork(self.table),
            rewards=RewardRepository(self.table),
            referrals=ReferralRepository(self.table),
            budget=ProgramBudget(self.table),
            audit=AuditLog(self.table),
            figures=PayoutFigures(),
        )

    @cached_property
    def release(self) -> ReleaseService:
        from shared.repositories.advocate_counters import AdvocateCounters
        from shared.repositories.audit import AuditLog
        from shared.repositories.budget import ProgramBudget
        from shared.repositories.campaigns import CampaignRepository
        from shared.repositories.period_counters import PeriodCounters
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.referral_schedule import ReferralSchedule
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.rewards import RewardRepository
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.release import ReleaseService, ReleaseStores

        stores = ReleaseStores(
            programs=ProgramRepository(self.table),
            referrals=ReferralRepository(self.table),
            schedule=ReferralSchedule(self.table),
            rewards=RewardRepository(self.table),
            budget=ProgramBudget(self.table),
            caps=AdvocateCounters(self.table),
            audit=AuditLog(self.table),
            months=PeriodCounters(self.table),
            campaigns=CampaignRepository(self.table),
        )
        return ReleaseService(
            self.clock,
            self._reward_queue(),
            UnitOfWork(self.table),
            stores,
            self.ledger,
            campaigns=self.campaigns,
        )

    @cached_property
    def campaigns(self) -> CampaignService:
        from shared.repositories.audit import AuditLog
        from shared.repositories.budget import ProgramBudget
        from shared.repositories.campaigns import CampaignRepository
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.rewards import RewardRepository
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.campaigns import CampaignService, CampaignStores

        stores = CampaignStores(
            programs=ProgramRepository(self.table),
            campaigns=CampaignRepository(self.table),
            rewards=RewardRepository(self.table),
            budget=ProgramBudget(self.table),
            audit=AuditLog(self.table),
        )
        return CampaignService(
            self.clock, UnitOfWork(self.table), stores, notifications=self.notifications
        )

    def fulfilment(self, kind: str | None = None) -> FulfilmentService:
        """Fulfilment through `kind`'s provider only (a fulfilment function may read only
        its own provider's secrets), or through every provider given."""
        from shared.repositories.advocates import AdvocateRepository
        from shared.repositories.payout_figures import PayoutFigures
        from shared.repositories.referrals import ReferralRepository
        from shared.services.fulfilment import FulfilmentService

        ledger_payouts = {POINTS: self.points_payout} if kind in (None, POINTS) else {}
        if kind is None:
            providers = dict(self.providers)
        else:
            providers = {} if kind in ledger_payouts else {kind: self.providers[kind]}
        return FulfilmentService(
            self.clock,
            providers,
            self.ledger,
            advocates=AdvocateRepository(self.table),
            referrals=ReferralRepository(self.table),
            figures=PayoutFigures(),
            notifications=self.notifications,
            ledger_payouts=ledger_payouts,
        )

    @cached_property
    def points_payout(self) -> PointsPayout:
        """The points kind's payments and clawbacks, on the customer's points ledger."""
        from shared.repositories.points import PointsLedger
        from shared.services.points import PointsPayout

        return PointsPayout(PointsLedger(self.table))

    @cached_property
    def points(self) -> PointsService:
        from shared.repositories.points import PointsLedger
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.points import PointsService

        return PointsService(
            ledger=PointsLedger(self.table),
            programs=ProgramRepository(self.table),
            units=UnitOfWork(self.table),
            clock=self.clock,
        )

    @cached_property
    def refunds(self) -> RefundService:
        from shared.repositories.advocate_counters import AdvocateCounters
        from shared.repositories.evidence import EvidenceIndex
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.rewards import RewardRepository
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.refunds import RefundService, RefundStores

        stores = RefundStores(
            programs=ProgramRepository(self.table),
            referrals=ReferralRepository(self.table),
            rewards=RewardRepository(self.table),
            caps=AdvocateCounters(self.table),
            evidence=EvidenceIndex(self.table),
            commissions=self._commission_ledger(),
        )
        return RefundService(self.clock, UnitOfWork(self.table), stores, self._referral_reversal())

    @cached_property
    def reconcile(self) -> ReconcileService:
        from shared.repositories.referral_schedule import ReferralSchedule
        from shared.services.reconcile import ReconcileService

        return ReconcileService(
            self.clock,
            dict(self.providers),
            self._reward_queue(),
            ledger=self.ledger,
            fulfilment=self.fulfilment(),
            schedule=ReferralSchedule(self.table),
        )

    @cached_property
    def reissue(self) -> ReissueService:
        from shared.repositories.audit import AuditLog
        from shared.repositories.budget import ProgramBudget
        from shared.repositories.referral_guards import ReferralGuards
        from shared.services.reissue import ReissueService, ReissueStores

        stores = ReissueStores(
            budget=ProgramBudget(self.table), guards=ReferralGuards(), audit=AuditLog(self.table)
        )
        return ReissueService(
            self.clock, dict(self.providers), self._reward_queue(), self.ledger, stores
        )

    @cached_property
    def finance_reversal(self) -> FinanceReversalService:
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.rewards import RewardRepository
        from shared.repositories.unit_of_work import UnitOfWork
        from shared.services.reversal import FinanceReversalService

        return FinanceReversalService(
            self.clock,
            UnitOfWork(self.table),
            referrals=ReferralRepository(self.table),
            rewards=RewardRepository(self.table),
            reversal=self._referral_reversal(),
        )

    def _referral_reversal(self) -> ReferralReversal:
        """What reversing a referral changes: shared by refunds and finance's reversal."""
        from shared.repositories.advocate_counters import AdvocateCounters
        from shared.repositories.audit import AuditLog
        from shared.repositories.budget import ProgramBudget
        from shared.repositories.open_reviews import OpenReviews
        from shared.repositories.payout_figures import PayoutFigures
        from shared.repositories.referrals import ReferralRepository
        from shared.repositories.rewards import RewardRepository
        from shared.services.reversal import ReferralReversal, ReversalStores

        return ReferralReversal(
            ReversalStores(
                rewards=RewardRepository(self.table),
                referrals=ReferralRepository(self.table),
                reviews=OpenReviews(self.table),
                budget=ProgramBudget(self.table),
                caps=AdvocateCounters(self.table),
                figures=PayoutFigures(),
                audit=AuditLog(self.table),
                points=self.points_payout,
            ),
            notifications=self.notifications,
        )

    # --- merchant webhooks -----------------------------------------------------------------

    @cached_property
    def notifications(self) -> MerchantNotifications:
        """Where the money path tells merchants what happened (enqueue only, never raises)."""
        if self._notifications is not None:
            return self._notifications()
        from shared.services.notifications import NO_NOTIFICATIONS

        return NO_NOTIFICATIONS

    def _webhook_ports(self) -> WebhookPorts:
        from shared.pii import PiiKind
        from shared.repositories.programs import ProgramRepository
        from shared.repositories.webhooks import (
            WebhookDeliveries,
            WebhookEvents,
            WebhookRepository,
        )
        from shared.services.webhooks import WebhookPorts

        def pad(webhook_id: str, version: int) -> bytes:
            return bytes.fromhex(
                self.hasher.digest(PiiKind.WEBHOOK_SEAL, f"{webhook_id}:{version}")
            )

        if self._webhook_guard is not None:
            guard = self._webhook_guard()
        else:
            from shared.adapters.webhook_http import UrlPolicy

            guard = UrlPolicy()
        return WebhookPorts(
            webhooks=WebhookRepository(self.table),
            deliveries=WebhookDeliveries(self.table),
            events=WebhookEvents(self.table),
            programs=ProgramRepository(self.table),
            guard=guard,
            pad=pad,
        )

    @cached_property
    def webhooks(self) -> WebhookService:
        from shared.services.webhooks import WebhookService

        return WebhookService(self._webhook_ports(), self.clock)

    @cached_property
    def webhook_dispatcher(self) -> WebhookDispatcher:
        from shared.services.webhooks import WebhookDispatcher

        if self._webhook_delivery is None:
            raise RuntimeError("these services were built without webhook delivery adapters")
        return WebhookDispatcher(
            self._webhook_ports(), self.webhooks, self._webhook_delivery(), self.clock
        )


def bootstrap(
    *,
    table: Table,
    clock: Clock,
    hasher: PiiHasher | None = None,
    providers: Mapping[str, PayoutProvider] | None = None,
    reward_queue: RewardQueue | None = None,
    scoring_queue: ScoringQueue | None = None,
    model: ModelJudge | None = None,
    blocklist: Blocklist | None = None,
    extractor: FeatureSource | None = None,
    notifications: MerchantNotifications | None = None,
    webhook_guard: UrlGuard | None = None,
    webhook_delivery: DeliveryAdapters | None = None,
) -> Services:
    """The product's services over these adapters. Left out: in-memory queues, no model
    (rules only), the table's own blocklist, the plain feature extractor, and a hasher
    that refuses (for tools that read what is stored and never hash anything new)."""
    from shared.adapters.memory_queue import MemoryScoringQueue
    from shared.adapters.memory_reward_queue import MemoryRewardQueue
    from shared.pii import PiiHasher

    rewards_out = reward_queue if reward_queue is not None else MemoryRewardQueue()
    scoring_out = scoring_queue if scoring_queue is not None else MemoryScoringQueue()
    return Services(
        table=table,
        clock=clock,
        hasher=hasher if hasher is not None else PiiHasher(_no_key),
        providers=providers if providers is not None else {},
        reward_queue=lambda: rewards_out,
        scoring_queue=lambda: scoring_out,
        model=lambda: model,
        blocklist=blocklist,
        extractor=(lambda: extractor) if extractor is not None else None,
        notifications=(lambda: notifications) if notifications is not None else None,
        webhook_guard=(lambda: webhook_guard) if webhook_guard is not None else None,
        webhook_delivery=(lambda: webhook_delivery) if webhook_delivery is not None else None,
    )


def _no_key() -> bytes:
    raise RuntimeError("these services were built without the personal-data key")


def model_registry(table: Table, store: ModelStore, clock: Clock) -> ModelRegistry:
    """Which trained model the scoring functions serve: the active pointer on `table`,
    the versions in `store`."""
    from shared.repositories.audit import AuditLog
    from shared.repositories.model_versions import ModelVersions
    from shared.repositories.unit_of_work import UnitOfWork
    from shared.services.model_registry import ModelRegistry

    return ModelRegistry(ModelVersions(table), AuditLog(table), UnitOfWork(table), store, clock)
