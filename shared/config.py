"""Function configuration: the one place that reads the environment, once, on first use."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, Field

# The variables that choose and configure the payout providers (see
# `shared.adapters.payout_providers`); each function's template entry sets its own.
PAYOUT_VARIABLES = (
    "GIFT_CARD_PROVIDER",
    "CASH_PROVIDER",
    "CHARITY_PROVIDER",
    "SANDBOX_PAYOUTS_FILE",
    "SANDBOX_PAYOUT_FAULTS",
    "TREMENDOUS_API_KEY_PARAMETER",
    "TREMENDOUS_PRODUCTS",
    "TREMENDOUS_CAMPAIGN_ID",
    "TREMENDOUS_BASE_URL",
    "PAYPAL_CLIENT_ID_PARAMETER",
    "PAYPAL_CLIENT_SECRET_PARAMETER",
    "PAYPAL_BASE_URL",
)


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    scoring_queue_url: str | None = None
    # Each reward kind's fulfilment queue; a function sees only the queues it may use.
    reward_queue_urls: dict[str, str] = Field(default_factory=dict)
    pii_key_parameter: str = Field(min_length=1)
    share_base_url: str = "https://refer.example.com/r/"
    model_dir: str = "models"
    # Promoted model versions: the bucket on AWS; locally, the stack's own models folder.
    model_bucket: str | None = None
    model_store_dir: str | None = None
    metrics_namespace: str = "ReferralRewards"
    payouts: dict[str, str] = Field(default_factory=dict)
    # Merchant webhooks: the queue notifications are enqueued on, its dead-letter queue,
    # whether plain http://127.0.0.1:<port> targets are allowed (the local stack only) and,
    # when set, a retry schedule other than the product's three days (seconds between
    # attempts; the local stack's is seconds long so retries are observable).
    webhook_queue_url: str | None = None
    webhook_dead_letter_queue_url: str | None = None
    webhook_allow_loopback_http: bool = False
    webhook_retry_delays_s: tuple[float, ...] | None = None


def from_environment(env: Mapping[str, str]) -> Settings:
    queues = {
        "gift_card": env.get("GIFT_CARD_QUEUE_URL", ""),
        "cash": env.get("CASH_QUEUE_URL", ""),
        "charity_donation": env.get("CHARITY_QUEUE_URL", ""),
        "points": env.get("POINTS_QUEUE_URL", ""),
    }
    return Settings(
        table_name=env.get("TABLE_NAME", ""),
        scoring_queue_url=env.get("SCORING_QUEUE_URL"),
        reward_queue_urls={kind: url for kind, url in queues.items() if url},
        pii_key_parameter=env.get("PII_KEY_PARAMETER", ""),
        share_base_url=env.get("SHARE_BASE_URL", "https://refer.example.com/r/"),
        model_dir=env.get("MODEL_DIR", "models"),
        model_bucket=env.get("MODEL_BUCKET") or None,
        model_store_dir=env.get("MODEL_STORE_DIR") or None,
        metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "ReferralRewards"),
        payouts={name: env[name] for name in PAYOUT_VARIABLES if name in env},
        webhook_queue_url=env.get("WEBHOOK_QUEUE_URL") or None,
        webhook_dead_letter_queue_url=env.get("WEBHOOK_DEAD_LETTER_QUEUE_URL") or None,
        webhook_allow_loopback_http=env.get("WEBHOOK_ALLOW_LOOPBACK_HTTP", "").lower() == "true",
        webhook_retry_delays_s=_delays(env.get("WEBHOOK_RETRY_DELAYS", "")),
    )


def _delays(value: str) -> tuple[float, ...] | None:
    """`"1,2,4"` as seconds between attempts; empty or unset: the product's schedule."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return tuple(float(p) for p in parts) if parts else None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return from_environment(os.environ)


# The command line's way to a deployed stack: `rewards labels export` and friends read
# that stack's table when this names it.
STACK_NAME_VARIABLE = "REWARDS_STACK_NAME"


def deployed_stack_name() -> str | None:
    return os.environ.get(STACK_NAME_VARIABLE) or None
