"""The release job: pay out referrals whose holding period has passed, expire stale ones.

The job reads only referrals that are due: each program's holding referrals are indexed
by qualifying time, and read up to now minus the program's current holding period.

Releasing one referral is one transaction: the referral moves `holding -> rewarding`, the
program's `budget_left` drops by the total (only if that much is left), the advocate's
`rewarded_referrals` counter takes the next slot (only if nobody took one since it was
read, and only below the cap), the entries are created (once: their ids are derived from
the referral) and an audit entry is appended. Either all of it happens or none of it, so
parallel releases can neither overspend the budget nor exceed a cap.

When the budget cannot cover a referral, or its program is paused, nothing is written
but a hold note: the referral stays `holding` and is tried again on every run, so a budget
top-up or a resume releases it without anybody having to re-approve it.

A program with monthly caps (`shared.domain.caps`) also counts each release for its
calendar month (UTC) in the same transaction, only within the caps. Over a cap with
`over_cap: "defer"`, the referral is held (`monthly_cap_reached`) and tried again on every
run, so the first run of a month with room releases it; with `"refuse"`, the side that does
not fit is withheld and the audit entry says so.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.clock import Clock, iso
from shared.domain.audit import AuditEntry
from shared.domain.caps import MonthSpent, month_of
from shared.domain.changes import BudgetShort, Contention, MonthlyCapReached
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.rewards import (
    ReleasePlan,
    Reward,
    RewardStatus,
    plan_release,
    reward_id_for,
)
from shared.ports import RewardQueue
from shared.services.ledger import Change, RewardLedger

if TYPE_CHECKING:
    from shared.repositories.advocate_counters import AdvocateCounters
    from shared.repositories.audit import AuditLog
    from shared.repositories.budget import ProgramBudget
    from shared.repositories.campaigns import CampaignRepository
    from shared.repositories.period_counters import PeriodCounters
    from shared.repositories.programs import ProgramRepository
    from shared.repositories.referral_schedule import ReferralSchedule
    from shared.repositories.referrals import ReferralRepository
    from shared.repositories.rewards import RewardRepository
    from shared.repositories.unit_of_work import Changes, UnitOfWork
    from shared.services.campaigns import CampaignService

logger = logging.getLogger(__name__)

ACTOR = "system:release"
MAX_ATTEMPTS = 8
# Entries still `created` this long after their release lost their queue message (the
# process died between commit and send); a duplicate message is harmless anyway.
REQUEUE_AFTER = timedelta(minutes=5)
# The shortest attribution window a program may have: nothing pending is older-due.
MIN_ATTRIBUTION_DAYS = 1

# A release is a handful of calls (~50 ms); 30 s is ample to finish the one under way.
STOP_MARGIN_SECONDS = 30.0

HOLD_BUDGET = "budget_exhausted"
HOLD_PAUSED = "program_paused"
HOLD_MONTHLY_CAP = "monthly_cap_reached"
HOLD_REASON = "hold_reason"


@dataclass(frozen=True)
class ReleaseOutcome:
    referral_id: str
    result: str  # released | held | not_due | skipped
    reason: str | None = None
    rewards: tuple[Reward, ...] = ()
    queue_failures: tuple[str, ...] = ()


@dataclass
class ReleaseReport:
    now: datetime
    expired: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)
    queued: list[str] = field(default_factory=list)
    queue_failures: list[str] = field(default_factory=list)
    # The run stopped before its time ran out; the next run picks up what is left.
    stopped_early: bool = False

    def summary(self) -> dict[str, object]:
        return {
            "now": iso(self.now),
            "stopped_early": self.stopped_early,
            "expired": len(self.expired),
            "released": len(self.released),
            "held": dict(self.held),
            "queued": len(self.queued),
            "queue_failures": list(self.queue_failures),
        }


class _Retry(Exception):
    """Someone else moved one of the items: read everything again."""


@dataclass(frozen=True)
class ReleaseStores:
    """What the release job reads and changes."""

    programs: ProgramRepository
    referrals: ReferralRepository
    schedule: ReferralSchedule
    rewards: RewardRepository
    budget: ProgramBudget
    caps: AdvocateCounters
    audit: AuditLog
    months: PeriodCounters
    # The program's group-goal campaigns, counted in the release's own transaction.
    campaigns: CampaignRepository | None = None


class ReleaseService:
    def __init__(
        self,
        clock: Clock,
        queue: RewardQueue,
        changes: UnitOfWork,
        stores: ReleaseStores,
        ledger: RewardLedger,
        campaigns: CampaignService | None = None,
    ) -> None:
        self._clock = clock
        self._campaign_payouts = campaigns
        self._campaigns = stores.campaigns
        self._queue = queue
        self._changes = changes
        self._programs = stores.programs
        self._referrals = stores.referrals
        self._schedule = stores.schedule
        self._rewards = stores.rewards
        self._budget = stores.budget
        self._caps = stores.caps
        self._audit = stores.audit
        self._months = stores.months
        self._ledger = ledger

    # --- the job ------------------------------------------------------------------------

    def run(
        self, now: datetime | None = None, time_left: Callable[[], float] | None = None
    ) -> ReleaseReport:
        """One run. With `time_left` (seconds the invocation has left), the run stops
        between referrals once fewer than `STOP_MARGIN_SECONDS` remain, says so in the
        report, and the next run carries on: what it did not reach is still due."""
        now = now or self._clock.now()
        report = ReleaseReport(now=now)
        out_of_time = _out_of_time(time_left, report)
        self._expire_pending(now, report, out_of_time)
        self._release_due(now, report, out_of_time)
        if not out_of_time():
            self._pay_campaigns(now, report, out_of_time)
        if not out_of_time():
            self._requeue_created(now, report)
        logger.info("release run", extra=report.summary())
        return report

    def _expire_pending(
        self, now: datetime, report: ReleaseReport, out_of_time: Callable[[], bool]
    ) -> None:
        programs: dict[str, Program | None] = {}
        due_before = now - timedelta(days=MIN_ATTRIBUTION_DAYS)
        for referral in self._schedule.pending_due(due_before):
            if out_of_time():
                return
            program = self._program(programs, referral.program_id)
            if program is None or referral.qualified_at is not None:
                continue
            if now <= referral.attribution_deadline(program.attribution_window_days):
                continue
            if self.expire(referral.referral_id, now):
                report.expired.append(referral.referral_id)

    def _release_due(
        self, now: datetime, report: ReleaseReport, out_of_time: Callable[[], bool]
    ) -> None:
        # Per program, the smallest total the budget could not cover in this run: larger
        # ones cannot fit either, so they are not tried again until the next run.
        short: dict[str, Decimal] = {}
        for referral in self._schedule.due_for_release(now):
            if out_of_time():
                return
            outcome = self.release(referral.referral_id, now, short=short)
            if outcome.result == "released":
                report.released.append(referral.referral_id)
                failed = set(outcome.queue_failures)
                report.queued += [r.reward_id for r in outcome.rewards if r.reward_id not in failed]
                report.queue_failures += list(outcome.queue_failures)
            elif outcome.result == "held" and outcome.reason:
                report.held[referral.referral_id] = outcome.reason

    def _pay_campaigns(
        self, now: datetime, report: ReleaseReport, out_of_time: Callable[[], bool]
    ) -> None:
        if self._campaign_payouts is None:
            return
        for reward in self._campaign_payouts.pay_reached(now, out_of_time):
            if self._enqueue(reward, now):
                report.queued.append(reward.reward_id)
            else:
                report.queue_failures.append(reward.reward_id)

    def _requeue_created(self, now: datetime, report: ReleaseReport) -> None:
        """Queue `created` entries: those a release lost the message of, and later-order
        commissions whose holding period (`held_until`) has passed."""
        for reward in self._rewards.each_with_status(RewardStatus.CREATED, changed_before=now):
            if not _due_to_queue(reward, now):
                continue
            if self._enqueue(reward, now):
                report.queued.append(reward.reward_id)
            else:
                report.queue_failures.append(reward.reward_id)

    def _program(self, cache: dict[str, Program | None], program_id: str) -> Program | None:
        if program_id not in cache:
            cache[program_id] = self._programs.get(program_id)
        return cache[program_id]

    # --- one referral -------------------------------------------------------------------

    def expire(self, referral_id: str, now: datetime) -> bool:
        for _ in range(MAX_ATTEMPTS):
            referral = self._referrals.get(referral_id)
            if referral is None or referral.status != ReferralStatus.PENDING:
                return False
            if referral.qualified_at is not None:
                return False
            program = self._programs.get(referral.program_id)
            if program is None or now <= referral.attribution_deadline(
                program.attribution_window_days
            ):
                return False
            expired = referral.move(ReferralStatus.EXPIRED, now)
            entry = self._entry(
                referral,
                now,
                "referral.expired",
                after={"status": ReferralStatus.EXPIRED.value},
                details={"attribution_window_days": program.attribution_window_days},
            )
            changes = self._changes.begin()
            self._referrals.stage_save(expired, referral.version, within=changes)
            self._audit.append(entry, within=changes)
            try:
                changes.commit()
            except Contention:
                continue
            return True
        return False

    def release(
        self,
        referral_id: str,
        now: datetime | None = None,
        *,
        short: dict[str, Decimal] | None = None,
    ) -> ReleaseOutcome:
        """Release one `holding` referral if its holding period has passed; then queue it."""
        now = now or self._clock.now()
        short = short if short is not None else {}
        for _ in range(MAX_ATTEMPTS):
            try:
                outcome = self._release_once(referral_id, now, short)
            except _Retry:
                continue
            failures = tuple(r.reward_id for r in outcome.rewards if not self._enqueue(r, now))
            if failures:
                outcome = replace(outcome, queue_failures=failures)
            return outcome
        logger.warning("release gave up after contention", extra={"referral_id": referral_id})
        return ReleaseOutcome(referral_id, "skipped", "contention")

    def _release_once(
        self, referral_id: str, now: datetime, short: dict[str, Decimal]
    ) -> ReleaseOutcome:
        referral = self._referrals.get(referral_id)
        if referral is None or referral.status != ReferralStatus.HOLDING:
            return ReleaseOutcome(referral_id, "skipped", "not holding")
        program = self._programs.get(referral.program_id)
        if program is None:
            return ReleaseOutcome(referral_id, "skipped", "no program")
        qualified_at = referral.qualified_at or referral.occurred_at
        if now < qualified_at + timedelta(days=program.holding_period_days):
            return ReleaseOutcome(referral_id, "not_due")
        if not program.is_active:
            return self._hold(referral, now, HOLD_PAUSED)
        return self._release_due_one(referral, program, now, short)

    def _release_due_one(
        self, referral: Referral, program: Program, now: datetime, short: dict[str, Decimal]
    ) -> ReleaseOutcome:
        seen, counter_exists = self._caps.rewarded_referrals(referral.advocate_id)
        month = month_of(now)
        plan = plan_release(
            program,
            advocate_customer_id=referral.advocate_customer_id,
            referee_customer_id=referral.referee_customer_id,
            rewarded_referrals=seen,
            month_spent=self._month_spent(program, referral, month),
            variant=referral.variant,
            order_amount=referral.qualifying_amount,
        )
        if plan.deferred_by:
            return self._hold(
                referral, now, HOLD_MONTHLY_CAP, {"month": month, "caps": list(plan.deferred_by)}
            )
        if program.program_id in short and plan.total >= short[program.program_id]:
            return self._hold(referral, now, HOLD_BUDGET)
        rewards = self._rewards_of(plan, referral, program, now)
        # Zero entries (the cap withheld the only reward) leaves nothing to pay out.
        target = ReferralStatus.REWARDING if rewards else ReferralStatus.REWARDED
        changes = self._changes.begin()
        self._referrals.stage_save(referral.move(target, now), referral.version, within=changes)
        if plan.total > 0:
            self._budget.spend(program.program_id, plan.total, within=changes)
        if plan.ordinal is not None:
            self._caps.take_slot(referral.advocate_id, seen, counter_exists, within=changes)
        if program.caps is not None:
            self._months.count(
                program.program_id,
                referral.advocate_id,
                month,
                caps=program.caps,
                advocate_amount=plan.advocate_total,
                total=plan.total,
                within=changes,
            )
        for reward in rewards:
            self._rewards.add(reward, within=changes)
        self._count_for_campaigns(referral, program, now, changes)
        entry = self._released_entry(referral, now, target, plan, rewards)
        self._audit.append(entry, within=changes)
        return self._commit_release(changes, referral, program, plan, rewards, now, short)

    def _count_for_campaigns(
        self, referral: Referral, program: Program, now: datetime, changes: Changes
    ) -> None:
        """Count the referral for each campaign whose window holds its qualifying event,
        with the release (a campaign changed meanwhile makes the release read again)."""
        if self._campaigns is None:
            return
        qualified_at = referral.qualified_at or referral.occurred_at
        for campaign in self._campaigns.of_program(program.program_id):
            if not campaign.counts(qualified_at):
                continue
            self._campaigns.stage_save(campaign.counted(now), campaign.version, within=changes)
            self._campaigns.stage_participant(
                campaign.campaign_id,
                referral.advocate_id,
                referral.advocate_customer_id,
                within=changes,
            )

    def _month_spent(self, program: Program, referral: Referral, month: str) -> MonthSpent | None:
        if program.caps is None:
            return None
        return self._months.spent(program.program_id, referral.advocate_id, month)

    def _commit_release(
        self,
        changes: Changes,
        referral: Referral,
        program: Program,
        plan: ReleasePlan,
        rewards: list[Reward],
        now: datetime,
        short: dict[str, Decimal],
    ) -> ReleaseOutcome:
        try:
            changes.commit()
        except BudgetShort:
            short[program.program_id] = min(plan.total, short.get(program.program_id, plan.total))
            return self._hold(referral, now, HOLD_BUDGET)
        except (Contention, MonthlyCapReached) as exc:
            # The referral, a cap counter or an entry moved meanwhile: decide again (a
            # month's counter that another release filled now defers or refuses this one).
            raise _Retry from exc
        return ReleaseOutcome(referral.referral_id, "released", rewards=tuple(rewards))

    def _released_entry(
        self,
        referral: Referral,
        now: datetime,
        target: ReferralStatus,
        plan: ReleasePlan,
        rewards: list[Reward],
    ) -> AuditEntry:
        return self._entry(
            referral,
            now,
            "referral.released",
            after={"status": target.value, "rewards": [_summary(r) for r in rewards]},
            details={
                "budget_spent": f"{plan.total:f}",
                "advocate_rewarded_referrals": plan.ordinal,
                "withheld_by_cap": list(plan.withheld),
                "withheld_by_monthly_cap": list(plan.withheld_by_monthly_cap),
                "month": month_of(now),
            },
        )

    def _rewards_of(
        self, plan: ReleasePlan, referral: Referral, program: Program, now: datetime
    ) -> list[Reward]:
        return [
            Reward(
                reward_id=reward_id_for(referral.referral_id, e.slot),
                referral_id=referral.referral_id,
                program_id=program.program_id,
                beneficiary=e.beneficiary,
                customer_id=e.customer_id,
                advocate_id=referral.advocate_id,
                kind=e.terms.kind,
                amount=e.terms.amount,
                currency=program.currency,
                points=e.terms.points,
                tier=e.tier,
                charity=e.terms.charity,
                variant=referral.variant,
                earned=e.terms.amount if e.terms.commission is not None else None,
                status=RewardStatus.CREATED,
                created_at=now,
                updated_at=now,
            )
            for e in plan.entitlements
        ]

    def _hold(
        self,
        referral: Referral,
        now: datetime,
        reason: str,
        details: dict[str, object] | None = None,
    ) -> ReleaseOutcome:
        """Leave the referral `holding` and say why, once per reason (not on every run)."""
        held = referral.held(reason, now)
        if held is referral:
            return ReleaseOutcome(referral.referral_id, "held", reason)
        entry = self._entry(
            referral,
            now,
            "referral.release_held",
            after={"status": referral.status.value, HOLD_REASON: reason},
            details=details,
        )
        changes = self._changes.begin()
        self._referrals.stage_save(held, referral.version, within=changes)
        self._audit.append(entry, within=changes)
        # If the referral moved meanwhile, the next run looks at it afresh.
        with contextlib.suppress(Contention):
            changes.commit()
        return ReleaseOutcome(referral.referral_id, "held", reason)

    # --- queueing -----------------------------------------------------------------------

    def _enqueue(self, reward: Reward, now: datetime) -> bool:
        """Send, then mark `queued`. A crash in between leaves a `created` entry that the
        next run sends again; fulfilment may already have moved it on, which is fine."""
        try:
            self._queue.send_reward(reward.kind, reward.reward_id, reward.filed_under)
        except Exception:
            logger.exception("queueing a reward failed", extra={"reward_id": reward.reward_id})
            return False

        def mark(current: Reward) -> Change | None:
            if current.status != RewardStatus.CREATED:
                return None
            return Change(current.moved(RewardStatus.QUEUED, now))

        self._ledger.apply(reward.filed_under, reward.reward_id, mark)
        return True

    @staticmethod
    def _entry(
        referral: Referral,
        now: datetime,
        action: str,
        *,
        after: dict[str, object],
        details: dict[str, object] | None = None,
    ) -> AuditEntry:
        return AuditEntry.record(
            now,
            ACTOR,
            action,
            referral_id=referral.referral_id,
            program_id=referral.program_id,
            before={"status": referral.status.value},
            after=after,
            details=details,
        )


def _out_of_time(
    time_left: Callable[[], float] | None, report: ReleaseReport
) -> Callable[[], bool]:
    def check() -> bool:
        if time_left is not None and not report.stopped_early:
            report.stopped_early = time_left() < STOP_MARGIN_SECONDS
        return report.stopped_early

    return check


def _due_to_queue(reward: Reward, now: datetime) -> bool:
    if reward.held_until is not None:
        return reward.held_until <= now
    return reward.updated_at <= now - REQUEUE_AFTER


def _summary(reward: Reward) -> dict[str, object]:
    return {
        "reward_id": reward.reward_id,
        "beneficiary": reward.beneficiary,
        "kind": reward.kind,
        "amount": f"{reward.amount:f}",
        "currency": reward.currency,
        "tier": reward.tier,
        **({"points": reward.points} if reward.points is not None else {}),
    }
