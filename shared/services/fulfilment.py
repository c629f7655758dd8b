"""Fulfilment: pay one queued ledger entry through its provider, exactly once.

The rules that make at-least-once delivery pay once:

1. The entry moves `queued -> sent` (conditionally) *before* the provider is called. Only
   the delivery that makes that move calls the provider straight away; a refund that
   arrives first cancels the entry and the call never happens.
2. Every call carries `idempotency_key_for(reward_id, provider, attempt)`, so a repeat of
   the same attempt can only ever return the original order. Only finance's reissue of a
   failed entry starts a new attempt (see `shared.services.reissue`).
3. Any delivery that finds the entry already `sent` (a duplicate, a redelivery after a
   crash, a retry after a 5xx) looks the order up by key first and pays only if the
   provider has none.
4. After a 5xx or a timeout the order is looked up by key before anything else; a 429
   leaves the message for a later delivery (`RetryLater`) without touching the provider.

A kind paid on one of the service's own ledgers (points) has no provider call to commit
to: its entry moves `queued -> confirmed` in one conditional write that also stages the
ledger's credit (`LedgerPayout.paying`), so a duplicate delivery finds it confirmed and
credits nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, cast

from shared.clock import Clock
from shared.domain.rewards import (
    NOT_YET_SENT,
    Reward,
    RewardMessage,
    RewardStatus,
)
from shared.errors import Deferred
from shared.payouts import (
    PayoutKind,
    PayoutOrder,
    PayoutProvider,
    PayoutRequest,
    ProviderConflict,
    ProviderDuplicateUnlocated,
    ProviderError,
    ProviderMisconfigured,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    idempotency_key_for,
)
from shared.services.ledger import Change, Decide, RewardLedger
from shared.services.notifications import (
    NO_NOTIFICATIONS,
    MerchantNotifications,
    paid_data,
    tell,
)

if TYPE_CHECKING:
    from shared.repositories.advocates import AdvocateRepository
    from shared.repositories.payout_figures import PayoutFigures
    from shared.repositories.referrals import ReferralRepository
    from shared.repositories.unit_of_work import Changes

logger = logging.getLogger(__name__)

ACTOR = "system:fulfilment"
# After an answer that may or may not have paid and a lookup that found nothing yet.
UNKNOWN_OUTCOME_RETRY_S = 30.0
# Credentials or permissions are wrong: retrying soon only burns receives.
MISCONFIGURED_RETRY_S = 300.0
MIN_RETRY_S = 1.0

_MESSAGES = {
    "advocate": "Thank you for referring a friend: here is your reward.",
    "referee": "Welcome: here is the reward your friend's referral earned you.",
}
_DONATION_MESSAGE = "Thank you: your referral reward was given to charity in your name."


class LedgerPayout(Protocol):
    """A kind paid by a posting on one of the service's own ledgers (points)."""

    name: str

    def reference(self, reward: Reward) -> str: ...

    def paying(self, reward: Reward, at: datetime) -> Callable[[Changes], None]:
        """What pays the entry, to stage with its move to `confirmed`."""
        ...


class RetryLater(Deferred):
    """Leave the message on the queue and deliver it again after `delay_seconds`."""

    def __init__(self, delay_seconds: float, reason: str) -> None:
        super().__init__(max(MIN_RETRY_S, delay_seconds), reason)


@dataclass(frozen=True)
class FulfilmentOutcome:
    reward_id: str
    status: RewardStatus | None
    action: str  # paid | recorded | settled_already | not_paid | failed | unknown_reward


class FulfilmentService:
    def __init__(
        self,
        clock: Clock,
        providers: Mapping[str, PayoutProvider],
        ledger: RewardLedger,
        *,
        advocates: AdvocateRepository,
        referrals: ReferralRepository,
        figures: PayoutFigures,
        notifications: MerchantNotifications = NO_NOTIFICATIONS,
        ledger_payouts: Mapping[str, LedgerPayout] | None = None,
    ) -> None:
        self._notifications = notifications
        self._clock = clock
        self._providers = dict(providers)
        self._ledger_payouts = dict(ledger_payouts or {})
        self._ledger = ledger
        self._rewards = ledger.rewards
        self._advocates = advocates
        self._referrals = referrals
        self._figures = figures

    def fulfil(self, message: RewardMessage) -> FulfilmentOutcome:
        reward = self._rewards.get(message.referral_id, message.reward_id)
        if reward is None:
            logger.warning("no such reward", extra={"reward_id": message.reward_id})
            return FulfilmentOutcome(message.reward_id, None, "unknown_reward")
        if reward.status in (RewardStatus.CONFIRMED, RewardStatus.FAILED, RewardStatus.CANCELLED):
            if reward.status == RewardStatus.CONFIRMED:
                # The worker that confirmed the last entry may have died before settling
                # the referral; nothing else ever looks at a confirmed entry's referral.
                self._ledger.settle_referral(reward.referral_id, ACTOR)
                # The worker that confirmed it may have died before telling the merchant;
                # the event is the same one (its id comes from the entry), so it is told once.
                self._tell_paid(reward)
            return FulfilmentOutcome(reward.reward_id, reward.status, "settled_already")
        payout = self._ledger_payouts.get(reward.kind)
        if payout is not None:
            return self._pay_on_ledger(reward, payout)
        provider = self.provider_for(reward)
        key = reward.idempotency_key or idempotency_key_for(
            reward.reward_id, provider.name, reward.attempt
        )
        if reward.status == RewardStatus.CLAWED_BACK:
            return self._note_clawed_back_payment(reward, provider, key)
        if reward.status in NOT_YET_SENT:
            applied = self._ledger.apply(
                reward.filed_under, reward.reward_id, self._commit(provider.name, key)
            )
            if applied is None or applied.reward.status != RewardStatus.SENT:
                settled = applied.reward.status if applied else None
                return FulfilmentOutcome(reward.reward_id, settled, "not_paid")
            reward = applied.reward
            order = (
                self._create(reward, provider, key)
                if applied.changed
                else self._look_up_then_create(reward, provider, key)
            )
        else:
            order = self._look_up_then_create(reward, provider, key)
        if order is None:
            current = self._rewards.get(reward.filed_under, reward.reward_id)
            status = current.status if current else None
            action = "failed" if status == RewardStatus.FAILED else "not_paid"
            return FulfilmentOutcome(reward.reward_id, status, action)
        return self.record(reward, order, action="paid")

    def provider_for(self, reward: Reward) -> PayoutProvider:
        provider = self._providers.get(reward.kind)
        if provider is None:
            raise RetryLater(MISCONFIGURED_RETRY_S, f"no provider is configured for {reward.kind}")
        if reward.provider is not None and reward.provider != provider.name:
            # The key belongs to the provider the entry was sent through; paying it
            # elsewhere could pay twice.
            raise RetryLater(
                MISCONFIGURED_RETRY_S,
                f"reward {reward.reward_id} was sent through {reward.provider}, "
                f"but {reward.kind} is now paid through {provider.name}",
            )
        return provider

    # --- steps --------------------------------------------------------------------------

    def _pay_on_ledger(self, reward: Reward, payout: LedgerPayout) -> FulfilmentOutcome:
        """Confirm the entry and post its payment in one write, if nothing else moved it."""
        now = self._clock.now()

        def decide(current: Reward) -> Change | None:
            if current.status not in NOT_YET_SENT | {RewardStatus.SENT}:
                return None
            key = current.idempotency_key or idempotency_key_for(
                current.reward_id, payout.name, current.attempt
            )
            sent = current
            if current.status in NOT_YET_SENT:
                sent = current.moved(
                    RewardStatus.SENT,
                    now,
                    provider=payout.name,
                    idempotency_key=key,
                    attempts=current.attempts + 1,
                    last_attempt_at=now,
                )
            paid = sent.moved(
                RewardStatus.CONFIRMED,
                now,
                provider_reference=payout.reference(current),
                last_error=None,
            )
            return Change(paid, (payout.paying(paid, now), self._count_paid(paid)))

        applied = self._ledger.apply(reward.filed_under, reward.reward_id, decide)
        if applied is None:
            return FulfilmentOutcome(reward.reward_id, None, "unknown_reward")
        status = applied.reward.status
        if status == RewardStatus.CONFIRMED:
            self._ledger.settle_referral(reward.referral_id, ACTOR)
        if applied.changed:
            return FulfilmentOutcome(reward.reward_id, status, "paid")
        action = "settled_already" if status == RewardStatus.CONFIRMED else "not_paid"
        return FulfilmentOutcome(reward.reward_id, status, action)

    def _commit(self, provider: str, key: str) -> Decide:
        now = self._clock.now()

        def decide(current: Reward) -> Change | None:
            if current.status not in NOT_YET_SENT:
                return None
            return Change(
                current.moved(
                    RewardStatus.SENT,
                    now,
                    provider=provider,
                    idempotency_key=key,
                    attempts=current.attempts + 1,
                    last_attempt_at=now,
                )
            )

        return decide

    def _look_up_then_create(
        self, reward: Reward, provider: PayoutProvider, key: str
    ) -> PayoutOrder | None:
        existing = self._look_up(provider, key)
        if existing is not None:
            return existing
        applied = self._ledger.apply(
            reward.filed_under, reward.reward_id, self._attempt(self._clock.now())
        )
        if applied is None or applied.reward.status != RewardStatus.SENT:
            # Clawed back since, and the lookup above found no order: nothing to pay.
            return None
        return self._create(applied.reward, provider, key)

    @staticmethod
    def _attempt(now: datetime) -> Decide:
        def decide(current: Reward) -> Change | None:
            if current.status != RewardStatus.SENT:
                return None
            return Change(
                current.moved(
                    RewardStatus.SENT, now, attempts=current.attempts + 1, last_attempt_at=now
                )
            )

        return decide

    def _look_up(self, provider: PayoutProvider, key: str) -> PayoutOrder | None:
        try:
            return provider.find_order(key)
        except ProviderRateLimited as exc:
            raise RetryLater(exc.retry_after_seconds, f"lookup rate limited: {exc}") from exc
        except ProviderError as exc:
            raise RetryLater(UNKNOWN_OUTCOME_RETRY_S, f"lookup failed: {exc}") from exc

    def _create(self, reward: Reward, provider: PayoutProvider, key: str) -> PayoutOrder | None:
        email = self._recipient(reward)
        if email is None:
            self._fail(reward, "the recipient's email address was erased")
            return None
        try:
            request = PayoutRequest(
                idempotency_key=key,
                reward_id=reward.reward_id,
                # A kind no provider pays is refused here (ValueError): not payable.
                kind=cast("PayoutKind", reward.kind),
                amount=reward.amount,
                currency=reward.currency,
                recipient_email=email,
                message=_DONATION_MESSAGE if reward.charity else _MESSAGES[reward.beneficiary],
                charity=reward.charity,
            )
        except ValueError as exc:
            self._fail(reward, f"not payable: {exc}")
            return None
        order = self._order(reward, provider, key, request)
        if order is None:
            return None
        if order.status not in ("confirmed", "failed"):
            # Many payouts settle moments after the answer that submits them.
            with contextlib.suppress(ProviderError):
                order = provider.find_order(key) or order
        return order

    def _order(
        self, reward: Reward, provider: PayoutProvider, key: str, request: PayoutRequest
    ) -> PayoutOrder | None:
        """The provider's order for the request: created, or found by key after an answer
        that may have created it. None when the entry is not paid (yet)."""
        try:
            return provider.create_order(request)
        except ProviderRateLimited as exc:
            self._note_error(reward, str(exc))
            raise RetryLater(exc.retry_after_seconds, "provider rate limited") from exc
        except ProviderDuplicateUnlocated as exc:
            # The provider holds a payout for the key: asking again gets the same answer.
            # The entry stays `sent` (never failed: the money may be out) until a lookup
            # by key finds the order; reconciliation looks again every run.
            found = self._look_up(provider, key)
            if found is None:
                logger.error(
                    "payout exists but is not located", extra={"reward_id": reward.reward_id}
                )
                self._note_error(reward, str(exc))
            return found
        except ProviderOutcomeUnknown as exc:
            found = self._look_up(provider, key)
            if found is None:
                self._note_error(reward, str(exc))
                raise RetryLater(UNKNOWN_OUTCOME_RETRY_S, f"outcome unknown: {exc}") from exc
            return found
        except ProviderConflict as exc:
            return self._paid_with_other_terms(reward, provider, key, exc)
        except ProviderRejected as exc:
            self._fail(reward, exc.reason)
            return None
        except ProviderMisconfigured as exc:
            self._note_error(reward, str(exc))
            raise RetryLater(MISCONFIGURED_RETRY_S, f"provider misconfigured: {exc}") from exc
        except ProviderError as exc:
            self._note_error(reward, str(exc))
            raise RetryLater(UNKNOWN_OUTCOME_RETRY_S, f"provider error: {exc}") from exc

    def _paid_with_other_terms(
        self, reward: Reward, provider: PayoutProvider, key: str, exc: ProviderConflict
    ) -> PayoutOrder | None:
        """The key already paid this entry (with terms since changed, e.g. the recipient's
        address): that order is this entry's payment. Until a lookup finds it the entry
        stays `sent`: a key that paid must never fail."""
        logger.error("payout key reused with other terms", extra={"reward_id": reward.reward_id})
        found = self._look_up(provider, key)
        if found is None:
            self._note_error(reward, f"provider conflict: {exc}")
        return found

    def record(
        self, reward: Reward, order: PayoutOrder, *, action: str = "recorded"
    ) -> FulfilmentOutcome:
        """Bring the entry in line with the provider's order for its key."""
        applied = self._ledger.apply(reward.filed_under, reward.reward_id, self.recording(order))
        status = applied.reward.status if applied else None
        if status == RewardStatus.CONFIRMED and applied is not None:
            self._ledger.settle_referral(reward.referral_id, ACTOR)
            self._tell_paid(applied.reward)
        return FulfilmentOutcome(reward.reward_id, status, action)

    def _tell_paid(self, reward: Reward) -> None:
        tell(
            self._notifications,
            "reward.paid",
            reward.program_id,
            paid_data(reward),
            reward.updated_at,
        )

    def recording(self, order: PayoutOrder) -> Decide:
        """How an order the provider holds changes the entry paid by it."""
        now = self._clock.now()
        reference = order.provider_reference

        def decide(current: Reward) -> Change | None:
            if current.status in NOT_YET_SENT:
                # The provider paid an entry the ledger never marked sent; follow the money.
                current = current.moved(
                    RewardStatus.SENT,
                    now,
                    provider=order.provider,
                    idempotency_key=order.idempotency_key,
                )
            if current.status == RewardStatus.SENT:
                if order.status == "confirmed":
                    return Change(
                        current.moved(
                            RewardStatus.CONFIRMED,
                            now,
                            provider_reference=reference,
                            last_error=None,
                        ),
                        (self._count_paid(current),),
                    )
                if order.status == "failed":
                    failed = self._ledger.failed(
                        current, order.failure_reason or "the provider failed the payout", now
                    )
                    return Change(
                        failed.reward.model_copy(update={"provider_reference": reference}),
                        failed.also,
                    )
                if current.provider_reference == reference:
                    return None
                return Change(current.moved(RewardStatus.SENT, now, provider_reference=reference))
            if current.status == RewardStatus.CLAWED_BACK and current.provider_reference is None:
                if not order.counts_as_paid:
                    return None
                return Change(
                    current.moved(RewardStatus.CLAWED_BACK, now, provider_reference=reference)
                )
            return None

        return decide

    def _count_paid(self, reward: Reward) -> Callable[[Changes], None]:
        def stage(changes: Changes) -> None:
            self._figures.count_paid(reward, within=changes)

        return stage

    def _note_clawed_back_payment(
        self, reward: Reward, provider: PayoutProvider, key: str
    ) -> FulfilmentOutcome:
        """A refund clawed the entry back while it was `sent`: if the payout did go out,
        keep its reference on the entry so the ledger matches the provider."""
        if reward.provider_reference is not None or reward.provider is None:
            return FulfilmentOutcome(reward.reward_id, reward.status, "settled_already")
        order = self._look_up(provider, key)
        if order is None:
            return FulfilmentOutcome(reward.reward_id, reward.status, "not_paid")
        return self.record(reward, order, action="recorded")

    def _fail(self, reward: Reward, reason: str) -> None:
        now = self._clock.now()

        def decide(current: Reward) -> Change | None:
            if current.status != RewardStatus.SENT:
                return None
            return self._ledger.failed(current, reason, now)

        logger.warning("payout failed", extra={"reward_id": reward.reward_id, "reason": reason})
        self._ledger.apply(reward.filed_under, reward.reward_id, decide)

    def _note_error(self, reward: Reward, error: str) -> None:
        now = self._clock.now()

        def decide(current: Reward) -> Change | None:
            if current.status != RewardStatus.SENT:
                return None
            return Change(current.moved(RewardStatus.SENT, now, last_error=error[:500]))

        self._ledger.apply(reward.filed_under, reward.reward_id, decide)

    def _recipient(self, reward: Reward) -> str | None:
        if reward.recipient_email is not None:
            return reward.recipient_email
        if reward.beneficiary == "advocate":
            advocate = self._advocates.get(reward.advocate_id)
            return advocate.email if advocate and not advocate.erased else None
        referral = self._referrals.get(reward.referral_id) if reward.referral_id else None
        return referral.referee_email if referral else None
