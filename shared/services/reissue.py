"""Finance reissues a failed reward: a new attempt on the same ledger entry.

The entry moves `failed -> queued` with its attempt number one up, and the attempt is part
of the provider key (`rwd-<reward_id>.<attempt>`): attempt n may pay where attempt n-1 was
refused, while every delivery of attempt n carries the same key, so it pays at most once.

A reissue is refused (409) while an earlier attempt may still pay: the entry is not
`failed`, or a lookup by an earlier attempt's key finds an order the provider has not
failed. The failure returned the amount to the budget; the reissue spends it again in the
same transaction as the move, only if that much is left. The entry is queued to its kind's
queue once the move is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.clock import Clock
from shared.domain.audit import AuditEntry
from shared.domain.changes import BudgetShort
from shared.domain.reward_commands import Reissue
from shared.domain.rewards import (
    EarlierAttempt,
    ReferralNotRewarding,
    Reward,
    RewardStatus,
    referral_of,
)
from shared.errors import Conflict, NotFound
from shared.payouts import PayoutProvider, ProviderError, idempotency_key_for
from shared.ports import RewardQueue
from shared.services.ledger import Change, RewardLedger

if TYPE_CHECKING:
    from shared.repositories.audit import AuditLog
    from shared.repositories.budget import ProgramBudget
    from shared.repositories.referral_guards import ReferralGuards
    from shared.repositories.unit_of_work import Changes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReissueStores:
    """What a reissue changes besides the entry: the budget, the referral's guard, the
    audit trail."""

    budget: ProgramBudget
    guards: ReferralGuards
    audit: AuditLog


class ReissueService:
    def __init__(
        self,
        clock: Clock,
        providers: Mapping[str, PayoutProvider],
        queue: RewardQueue,
        ledger: RewardLedger,
        stores: ReissueStores,
    ) -> None:
        self._clock = clock
        self._providers = dict(providers)
        self._queue = queue
        self._ledger = ledger
        self._rewards = ledger.rewards
        self._budget = stores.budget
        self._guards = stores.guards
        self._audit = stores.audit

    def reissue(self, reward_id: str, command: Reissue, actor: str) -> Reward:
        referral_id = referral_of(reward_id)
        current = self._rewards.get(referral_id, reward_id)
        if current is None:
            raise NotFound(f"no reward {reward_id}")
        _refuse_unless_failed(current)
        provider = self._provider_for(current)
        for attempt in _attempts_of(current):
            self._refuse_if_it_may_pay(current, attempt)
        now = self._clock.now()

        def decide(latest: Reward) -> Change:
            # Read again inside the retry loop: a concurrent reissue already moved it.
            _refuse_unless_failed(latest)
            if latest.attempt != current.attempt:  # pragma: no cover - needs a race
                raise Conflict(f"reward {reward_id} was reissued meanwhile")
            return self._reissued(latest, provider.name, command, actor, now)

        try:
            applied = self._ledger.apply(referral_id, reward_id, decide)
        except BudgetShort as exc:
            raise Conflict(
                f"the program's budget has less than {current.amount:f} {current.currency} "
                "left; top it up before reissuing"
            ) from exc
        except ReferralNotRewarding as exc:
            raise Conflict(f"referral {referral_id} is no longer rewarding") from exc
        if applied is None:  # pragma: no cover - entries are never deleted
            raise NotFound(f"no reward {reward_id}")
        reward = applied.reward
        try:
            self._queue.send_reward(reward.kind, reward.reward_id, reward.filed_under)
        except Exception:
            # The entry is `queued`: reconciliation requeues entries stuck there (15 min).
            logger.exception("reissued reward not queued", extra={"reward_id": reward_id})
        return reward

    def _provider_for(self, reward: Reward) -> PayoutProvider:
        provider = self._providers.get(reward.kind)
        if provider is None:
            raise Conflict(f"no provider is configured for {reward.kind}")
        return provider

    def _refuse_if_it_may_pay(self, reward: Reward, attempt: EarlierAttempt) -> None:
        """A lookup by the attempt's key: any order the provider has not failed may pay."""
        if attempt.provider is None or attempt.idempotency_key is None:
            return  # never sent: no provider was asked
        provider = next((p for p in self._providers.values() if p.name == attempt.provider), None)
        label = f"attempt {attempt.attempt} of reward {reward.reward_id}"
        if provider is None:
            raise Conflict(f"{label} went to {attempt.provider}, which is not configured")
        try:
            order = provider.find_order(attempt.idempotency_key)
        except ProviderError as exc:
            raise Conflict(f"{label} could not be looked up ({exc}); retry") from exc
        if order is not None and order.status != "failed":
            raise Conflict(f"{label} is {order.status} at {provider.name} and may still pay")

    def _reissued(
        self, current: Reward, provider: str, command: Reissue, actor: str, now: datetime
    ) -> Change:
        number = current.attempt + 1
        key = idempotency_key_for(current.reward_id, provider, number)
        reissued = current.moved(
            RewardStatus.QUEUED,
            now,
            attempt=number,
            provider=provider,
            idempotency_key=key,
            provider_reference=None,
            failure_reason=None,
            last_error=None,
            attempts=0,
            recipient_email=command.recipient_email,
            earlier_attempts=[*current.earlier_attempts, _ended(current, now)],
        )
        entry = AuditEntry.record(
            now,
            actor,
            "reward.reissued",
            referral_id=current.referral_id,
            program_id=current.program_id,
            before={"status": current.status.value, "attempt": current.attempt},
            after={"status": reissued.status.value, "attempt": number},
            note=command.note,
            details={
                "reward_id": current.reward_id,
                "attempt": number,
                "idempotency_key": key,
                "previous_failure": current.failure_reason,
                "new_recipient": command.recipient_email is not None,
            },
        )

        def stage(changes: Changes) -> None:
            # The failure returned the amount; the new attempt spends it again, and only
            # while the referral is still rewarding (a reversal may have been committed).
            self._budget.spend(current.program_id, current.amount, within=changes)
            if current.referral_id is not None:
                self._guards.still_rewarding(current.referral_id, within=changes)
            self._audit.append(entry, within=changes)

        return Change(reissued, (stage,))


def _refuse_unless_failed(reward: Reward) -> None:
    if reward.status != RewardStatus.FAILED:
        raise Conflict(
            f"reward {reward.reward_id} is {reward.status}: only a failed reward is reissued"
        )


def _ended(reward: Reward, now: datetime) -> EarlierAttempt:
    return EarlierAttempt(
        attempt=reward.attempt,
        provider=reward.provider,
        idempotency_key=reward.idempotency_key,
        provider_reference=reward.provider_reference,
        failure_reason=reward.failure_reason,
        ended_at=now,
    )


def _attempts_of(reward: Reward) -> list[EarlierAttempt]:
    """Every attempt made so far, the failed current one included."""
    return [*reward.earlier_attempts, _ended(reward, reward.updated_at)]
