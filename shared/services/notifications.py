"""What merchants are told, and the one port the money path tells it through.

A service that changes something a merchant subscribes to calls
`notifications.publish(event_type, program_id, data, at)` after its change committed. The
adapter only enqueues (one SQS message; delivery, retries and signing happen in the
webhook delivery function), and it never raises: a lost notification must not undo or
retry a payment, a score or a decision.

The `data` builders below are the redaction: each names the fields a merchant may see (ids,
statuses, amounts, decisions and reason codes) and nothing else, so no other customer's
evidence, no reviewer identity and no finance note can reach a receiver.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from shared.domain.referrals import Referral
from shared.domain.rewards import Reward

logger = logging.getLogger(__name__)


class MerchantNotifications(Protocol):
    def publish(
        self, event_type: str, program_id: str | None, data: dict[str, Any], at: datetime
    ) -> None:
        """Enqueue one event for the merchant's webhooks; never raises."""
        ...


class NoNotifications:
    """Tells nobody (tools and tests that do not watch notifications)."""

    def publish(
        self, event_type: str, program_id: str | None, data: dict[str, Any], at: datetime
    ) -> None:
        return None


NO_NOTIFICATIONS = NoNotifications()


def tell(
    notifications: MerchantNotifications,
    event_type: str,
    program_id: str | None,
    data: dict[str, Any],
    at: datetime,
) -> None:
    """Publish, and swallow anything an adapter raises anyway: the caller's change stands."""
    try:
        notifications.publish(event_type, program_id, data, at)
    except Exception:
        logger.exception("could not publish %s", event_type)


def _money(value: Any) -> str | None:
    return None if value is None else f"{value:f}"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _referral_ids(referral: Referral) -> dict[str, Any]:
    return {
        "referral_id": referral.referral_id,
        "program_id": referral.program_id,
        "advocate_id": referral.advocate_id,
        "advocate_customer_id": referral.advocate_customer_id,
        "referee_customer_id": referral.referee_customer_id,
        "status": referral.status.value,
    }


def scored_data(referral: Referral) -> dict[str, Any]:
    """`referral.scored`: the decision, score and reason codes, never their evidence."""
    risk = referral.risk
    return {
        **_referral_ids(referral),
        "decision": risk.decision if risk else None,
        "score": _money(risk.score) if risk else None,
        "reason_codes": [r.code for r in risk.reasons] if risk else [],
        "scored_at": _time(risk.scored_at) if risk else None,
    }


def review_decided_data(referral: Referral, decision: str, *, timed_out: bool) -> dict[str, Any]:
    """`referral.review_decided`: the outcome, not who decided or what they noted."""
    risk = referral.risk
    return {
        **_referral_ids(referral),
        "decision": decision,
        "timed_out": timed_out,
        "reason_codes": [r.code for r in risk.reasons] if risk else [],
        "decided_at": _time(referral.decided_at),
    }


def _reward_ids(reward: Reward) -> dict[str, Any]:
    return {
        "reward_id": reward.reward_id,
        "referral_id": reward.referral_id,
        "program_id": reward.program_id,
        "advocate_id": reward.advocate_id,
        "customer_id": reward.customer_id,
        "beneficiary": str(reward.beneficiary),
        "kind": str(reward.kind),
        "amount": _money(reward.amount),
        "currency": reward.currency,
        "status": reward.status.value,
    }


def paid_data(reward: Reward) -> dict[str, Any]:
    """`reward.paid`: the entry, its attempt and the provider's reference."""
    return {
        **_reward_ids(reward),
        "attempt": reward.attempt,
        "provider_reference": reward.provider_reference,
        "paid_at": _time(reward.updated_at),
    }


def clawed_back_data(reward: Reward) -> dict[str, Any]:
    """`reward.clawed_back`: how much and when; the reason is a code, not finance's note."""
    clawback = reward.clawback
    return {
        **_reward_ids(reward),
        "clawback_amount": _money(clawback.amount) if clawback else None,
        "refund_order_id": clawback.refund_order_id if clawback else None,
        "clawed_back_at": _time(clawback.at) if clawback else None,
    }
