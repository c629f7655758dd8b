"""Which provider pays which reward kind, chosen by environment variables.

- `GIFT_CARD_PROVIDER`: `sandbox` (default) or `tremendous`; Tremendous reads its API key
  from the SSM SecureString named by `TREMENDOUS_API_KEY_PARAMETER`, and
  `TREMENDOUS_PRODUCTS` (comma-separated) or `TREMENDOUS_CAMPAIGN_ID`,
  `TREMENDOUS_BASE_URL` (sandbox host unless set).
- `CASH_PROVIDER`: `sandbox` (default) or `paypal`; PayPal reads its client id and secret
  from the SSM parameters named by `PAYPAL_CLIENT_ID_PARAMETER` and
  `PAYPAL_CLIENT_SECRET_PARAMETER`, and `PAYPAL_BASE_URL` (sandbox host unless set). The
  batch-per-key index PayPal needs is kept in the table.
- `SANDBOX_PAYOUTS_FILE`: keep sandbox orders in this JSON file (shared by processes on one
  machine and across restarts) instead of in memory.
- `SANDBOX_PAYOUT_FAULTS`: e.g. `rate_limit=0.1,error_5xx_after_processing=0.05`, to see
  the recovery paths in a local run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from shared.payouts import PayoutProvider
from shared.payouts.http import UrllibTransport
from shared.payouts.paypal import PAYPAL_SANDBOX_URL, PayPalConfig, PayPalPayoutsProvider
from shared.payouts.sandbox import SandboxCashProvider, SandboxGiftCardProvider
from shared.payouts.sandbox_faults import FAULT_KINDS, FaultKind, FaultPlan
from shared.payouts.sandbox_store import InMemoryOrderStore, JsonFileOrderStore, SandboxOrderStore
from shared.payouts.tremendous import TREMENDOUS_SANDBOX_URL, TremendousConfig, TremendousProvider
from shared.repositories.payout_references import TablePayoutReferences
from shared.storage.table import Table


class ProviderConfigError(RuntimeError):
    """The environment names a provider this service cannot build."""


def _secret(parameter_name: str | None, what: str) -> str:
    if not parameter_name:
        raise ProviderConfigError(f"{what}: no SSM parameter name is configured")
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(parameter_name, decrypt=True, max_age=3600)
    if not isinstance(value, str) or not value:
        raise ProviderConfigError(f"{what}: SSM parameter {parameter_name} is empty")
    return value


def sandbox_faults(spec: str | None) -> FaultPlan:
    if not spec:
        return FaultPlan.none()
    chances: dict[FaultKind, float] = {}
    for part in spec.split(","):
        name, _, value = part.strip().partition("=")
        if name not in FAULT_KINDS:
            raise ProviderConfigError(f"SANDBOX_PAYOUT_FAULTS: unknown fault {name!r}")
        chances[name] = float(value)
    return FaultPlan(probabilities=chances)


def sandbox_store(path: str | None) -> SandboxOrderStore:
    return JsonFileOrderStore(path) if path else InMemoryOrderStore()


def providers_from_environment(
    table: Table, env: Mapping[str, str] | None = None
) -> dict[str, PayoutProvider]:
    env = os.environ if env is None else env
    store = sandbox_store(env.get("SANDBOX_PAYOUTS_FILE"))
    faults = sandbox_faults(env.get("SANDBOX_PAYOUT_FAULTS"))
    providers: dict[str, PayoutProvider] = {}

    gift = env.get("GIFT_CARD_PROVIDER", "sandbox") or "sandbox"
    if gift == "sandbox":
        providers["gift_card"] = SandboxGiftCardProvider(store=store, faults=faults)
    elif gift == "tremendous":
        products = tuple(p for p in env.get("TREMENDOUS_PRODUCTS", "").split(",") if p)
        providers["gift_card"] = TremendousProvider(
            TremendousConfig(
                api_key=_secret(env.get("TREMENDOUS_API_KEY_PARAMETER"), "Tremendous API key"),
                products=products,
                campaign_id=env.get("TREMENDOUS_CAMPAIGN_ID") or None,
                base_url=env.get("TREMENDOUS_BASE_URL") or TREMENDOUS_SANDBOX_URL,
            ),
            UrllibTransport(),
        )
    else:
        raise ProviderConfigError(f"GIFT_CARD_PROVIDER={gift!r}: use sandbox or tremendous")

    cash = env.get("CASH_PROVIDER", "sandbox") or "sandbox"
    if cash == "sandbox":
        providers["cash"] = SandboxCashProvider(store=store, faults=faults)
    elif cash == "paypal":
        providers["cash"] = PayPalPayoutsProvider(
            PayPalConfig(
                client_id=_secret(env.get("PAYPAL_CLIENT_ID_PARAMETER"), "PayPal client id"),
                client_secret=_secret(
                    env.get("PAYPAL_CLIENT_SECRET_PARAMETER"), "PayPal client secret"
                ),
                base_url=env.get("PAYPAL_BASE_URL") or PAYPAL_SANDBOX_URL,
            ),
            UrllibTransport(),
            references=TablePayoutReferences(table, "paypal"),
        )
    else:
        raise ProviderConfigError(f"CASH_PROVIDER={cash!r}: use sandbox or paypal")
    return providers
