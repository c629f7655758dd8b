"""Which provider pays which reward kind, chosen by environment variables.

- `GIFT_CARD_PROVIDER`: `sandbox` (default) or `tremendous`; Tremendous reads its API key
  from the SSM SecureString named by `TREMENDOUS_API_KEY_PARAMETER`, and
  `TREMENDOUS_PRODUCTS` (comma-separated) or `TREMENDOUS_CAMPAIGN_ID`,
  `TREMENDOUS_BASE_URL` (sandbox host unless set).
- `CASH_PROVIDER`: `sandbox` (default) or `paypal`; PayPal reads its client id and secret
  from the SSM parameters named by `PAYPAL_CLIENT_ID_PARAMETER` and
  `PAYPAL_CLIENT_SECRET_PARAMETER`, and `PAYPAL_BASE_URL` (sandbox host unless set). The
  batch-per-key index PayPal needs is kept in the table.
- `CHARITY_PROVIDER`: `sandbox` (default) or `tremendous` (the same API key, base URL and
  account as gift cards; each donation names its charity's Tremendous product).
- Each kind's provider is built on its own (`provider_from_environment(kind, ...)`): a
  fulfilment function may read only its own provider's secrets, so building both there
  failed every gift-card payment once cash was paid through PayPal.
- `SANDBOX_PAYOUTS_FILE`: keep sandbox orders in this JSON file (shared by processes on one
  machine and across restarts) instead of in memory.
- `SANDBOX_PAYOUT_FAULTS`: e.g. `rate_limit=0.1,error_5xx_after_processing=0.05`, to see
  the recovery paths in a local run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from shared.payouts.sandbox_faults import FAULT_KINDS, FaultKind, FaultPlan

if TYPE_CHECKING:
    from shared.payouts import PayoutProvider
    from shared.payouts.port import PayoutKind
    from shared.payouts.sandbox_store import SandboxOrderStore
    from shared.storage.table import Table

# Reads a secret by its SSM parameter name.
SecretReader = Callable[[str], object]


class ProviderConfigError(RuntimeError):
    """The environment names a provider this service cannot build."""


def ssm_secret(parameter_name: str) -> object:
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_parameter(parameter_name, decrypt=True, max_age=3600)


def _secret(read: SecretReader, parameter_name: str | None, what: str) -> str:
    if not parameter_name:
        raise ProviderConfigError(f"{what}: no SSM parameter name is configured")
    value = read(parameter_name)
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
    from shared.payouts.sandbox_store import InMemoryOrderStore, JsonFileOrderStore

    return JsonFileOrderStore(path) if path else InMemoryOrderStore()


def provider_from_environment(
    kind: str,
    table: Table,
    env: Mapping[str, str],
    secret: SecretReader = ssm_secret,
) -> PayoutProvider:
    """The provider that pays `kind` rewards; reads that provider's secrets and no other's.
    `env` holds the payout variables (`Settings.payouts`)."""
    if kind == "gift_card":
        return _gift_card_provider(env, secret)
    if kind == "cash":
        return _cash_provider(table, env, secret)
    if kind == "charity_donation":
        return _charity_provider(env, secret)
    raise ProviderConfigError(f"no provider pays {kind!r} rewards")


def providers_from_environment(
    table: Table, env: Mapping[str, str], secret: SecretReader = ssm_secret
) -> dict[str, PayoutProvider]:
    """Every kind's provider, for reconciliation, which reads every provider's orders."""
    return {
        kind: provider_from_environment(kind, table, env, secret)
        for kind in ("gift_card", "cash", "charity_donation")
    }


def _gift_card_provider(env: Mapping[str, str], secret: SecretReader) -> PayoutProvider:
    gift = env.get("GIFT_CARD_PROVIDER", "sandbox") or "sandbox"
    if gift == "sandbox":
        from shared.payouts.sandbox import SandboxGiftCardProvider

        return SandboxGiftCardProvider(
            store=sandbox_store(env.get("SANDBOX_PAYOUTS_FILE")),
            faults=sandbox_faults(env.get("SANDBOX_PAYOUT_FAULTS")),
        )
    if gift == "tremendous":
        return _tremendous(env, secret, "gift_card")
    raise ProviderConfigError(f"GIFT_CARD_PROVIDER={gift!r}: use sandbox or tremendous")


def _charity_provider(env: Mapping[str, str], secret: SecretReader) -> PayoutProvider:
    charity = env.get("CHARITY_PROVIDER", "sandbox") or "sandbox"
    if charity == "sandbox":
        from shared.payouts.sandbox import SandboxCharityProvider

        return SandboxCharityProvider(
            store=sandbox_store(env.get("SANDBOX_PAYOUTS_FILE")),
            faults=sandbox_faults(env.get("SANDBOX_PAYOUT_FAULTS")),
        )
    if charity == "tremendous":
        return _tremendous(env, secret, "charity_donation")
    raise ProviderConfigError(f"CHARITY_PROVIDER={charity!r}: use sandbox or tremendous")


def _tremendous(env: Mapping[str, str], secret: SecretReader, kind: PayoutKind) -> PayoutProvider:
    from shared.payouts.http import UrllibTransport
    from shared.payouts.tremendous import (
        TREMENDOUS_SANDBOX_URL,
        TremendousConfig,
        TremendousProvider,
    )

    products = tuple(p for p in env.get("TREMENDOUS_PRODUCTS", "").split(",") if p)
    api_key = _secret(secret, env.get("TREMENDOUS_API_KEY_PARAMETER"), "Tremendous API key")
    return TremendousProvider(
        TremendousConfig(
            api_key=api_key,
            products=products,
            campaign_id=env.get("TREMENDOUS_CAMPAIGN_ID") or None,
            base_url=env.get("TREMENDOUS_BASE_URL") or TREMENDOUS_SANDBOX_URL,
            kinds=(kind,),
        ),
        UrllibTransport(),
    )


def _cash_provider(table: Table, env: Mapping[str, str], secret: SecretReader) -> PayoutProvider:
    cash = env.get("CASH_PROVIDER", "sandbox") or "sandbox"
    if cash == "sandbox":
        from shared.payouts.sandbox import SandboxCashProvider

        return SandboxCashProvider(
            store=sandbox_store(env.get("SANDBOX_PAYOUTS_FILE")),
            faults=sandbox_faults(env.get("SANDBOX_PAYOUT_FAULTS")),
        )
    if cash == "paypal":
        from shared.payouts.http import UrllibTransport
        from shared.payouts.paypal import PAYPAL_SANDBOX_URL, PayPalConfig, PayPalPayoutsProvider
        from shared.repositories.payout_references import TablePayoutReferences

        client_id = _secret(secret, env.get("PAYPAL_CLIENT_ID_PARAMETER"), "PayPal client id")
        client_secret = _secret(
            secret, env.get("PAYPAL_CLIENT_SECRET_PARAMETER"), "PayPal client secret"
        )
        return PayPalPayoutsProvider(
            PayPalConfig(
                client_id=client_id,
                client_secret=client_secret,
                base_url=env.get("PAYPAL_BASE_URL") or PAYPAL_SANDBOX_URL,
            ),
            UrllibTransport(),
            references=TablePayoutReferences(table, "paypal"),
        )
    raise ProviderConfigError(f"CASH_PROVIDER={cash!r}: use sandbox or paypal")
