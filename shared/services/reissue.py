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
from datetime import datetime

from shared.clock import Clock
from shared.domain.audit import AuditEntry
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import EarlierAttempt, Reward, RewardStatus, referral_of
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.payouts import PayoutProvider, ProviderError, idempotency_key_for
from shared.ports import RewardQueue
from shared.repositories import keys
from shared.repositories.audit import AuditLog
from shared.repositories.rewards import RewardRepository
from shared.schemas.rewards import ReissueIn
from shared.services.ledger import Change, RewardLedger
from shared.storage.table import Check, ConditionFailed, Equals, Table

logger = logging.getLogger(__name__)

# Where the budget and referral guards sit in the reissue's transaction (entry first).
_BUDGET_OP = 1
_REFERRAL_OP = 2


class ReissueService:
    def __init__(
        self,
        table: Table,
        clock: Clock,
        providers: Mapping[str, PayoutProvider],
        queue: RewardQueue,
    ) -> None:
        self._clock = clock
        self._providers = dict(providers)
        self._queue = queue
        self._ledger = RewardLedger(table, clock)
        self._rewards = RewardRepository(table)
        self._audit = AuditLog(table)

    def reissue(self, reward_id: str, body: ReissueIn, actor: str) -> Reward:
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
            return self._reissued(latest, provider.name, body, actor, now)

        try:
            applied = self._ledger.apply(referral_id, reward_id, decide)
        except ConditionFailed as exc:
            if exc.index == _BUDGET_OP:
                raise Conflict(
                    f"the program's budget has less than {current.amount:f} {current.currency} "
                    "left; top it up before reissuing"
                ) from exc
            if exc.index == _REFERRAL_OP:
                raise Conflict(f"referral {referral_id} is no longer rewarding") from exc
            raise
        if applied is None:  # pragma: no cover - entries are never deleted
            raise NotFound(f"no reward {reward_id}")
        reward = applied.reward
        try:
            self._queue.send_reward(reward.kind, reward.reward_id, reward.referral_id)
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
        self, current: Reward, provider: str, body: ReissueIn, actor: str, now: datetime
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
            recipient_email=body.recipient_email,
            earlier_attempts=[*current.earlier_attempts, _ended(current, now)],
        )
        pk, sk = keys.referral(current.referral_id)
        entry = AuditEntry(
            entry_id=new_id("aud"),
            at=now,
            actor=actor,
            action="reward.reissued",
            referral_id=current.referral_id,
            program_id=current.program_id,
            before={"status": current.status.value, "attempt": current.attempt},
            after={"status": reissued.status.value, "attempt": number},
            note=body.note,
            details={
                "reward_id": current.reward_id,
                "attempt": number,
                "idempotency_key": key,
                "previous_failure": current.failure_reason,
                "new_recipient": body.recipient_email is not None,
            },
        )
        return Change(
            reissued,
            (
                self._rewards.budget_take_op(current.program_id, current.amount),
                Check(pk, sk, Equals("status", ReferralStatus.REWARDING.value)),
                self._audit.entry_op(entry),
            ),
        )


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
