"""What a request tells us about who sent it, kept only as keyed hashes."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from disposable_email_domains import allowlist as _kept_domains
from disposable_email_domains import blocklist as _disposable_domains
from pydantic import BaseModel, ConfigDict

from shared.domain.intake_attributes import IntakeAttributes, intake_attributes
from shared.pii import PiiHasher, PiiKind, canonical_email, email_domain, ip_prefix

_AUTOMATION = re.compile(
    r"headless|phantomjs|selenium|webdriver|puppeteer|playwright|python-requests|python-urllib|"
    r"curl/|wget/|httpclient|okhttp|go-http-client|java/|libwww|scrapy|bot\b|crawler|spider",
    re.IGNORECASE,
)


class EvidenceKind(StrEnum):
    """The kinds of evidence referrals are indexed by, for linking and velocity."""

    ADVOCATE = "advocate"
    DEVICE = "device"
    IP = "ip"
    IP_PREFIX = "ip_prefix"
    USER_AGENT = "user_agent"
    EMAIL = "email"
    EMAIL_DOMAIN = "email_domain"
    PAYMENT = "payment"
    CUSTOMER = "customer"


class Fingerprint(BaseModel):
    """Hashed identifiers of one party (advocate or referee) at one moment."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    email: str | None = None
    email_domain: str | None = None
    device: str | None = None
    ip: str | None = None
    ip_prefix: str | None = None
    user_agent: str | None = None
    country: str | None = None
    automation_user_agent: bool = False
    # Kept as a flag because the raw address may be erased later.
    disposable_email: bool = False
    # Read from the raw values at intake; documents stored before it load without.
    attributes: IntakeAttributes | None = None

    def indexed(self) -> dict[EvidenceKind, str]:
        pairs = {
            EvidenceKind.EMAIL: self.email,
            EvidenceKind.EMAIL_DOMAIN: self.email_domain,
            EvidenceKind.DEVICE: self.device,
            EvidenceKind.IP: self.ip,
            EvidenceKind.IP_PREFIX: self.ip_prefix,
            EvidenceKind.USER_AGENT: self.user_agent,
        }
        return {kind: value for kind, value in pairs.items() if value}


class Observation(BaseModel):
    """One sighting of an evidence value: who used it, in which role, when."""

    model_config = ConfigDict(defer_build=True)

    kind: EvidenceKind
    value: str
    occurred_at: datetime
    program_id: str
    advocate_id: str
    referral_id: str | None
    customer_id: str
    role: str  # "advocate" | "referee"


def looks_automated(user_agent: str | None) -> bool:
    return bool(user_agent) and bool(_AUTOMATION.search(user_agent or ""))


def is_disposable(email: str | None) -> bool:
    """Whether the address is at a known throwaway-mail domain (or a subdomain of one)."""
    if not email:
        return False
    domain = email_domain(email)
    if domain in _kept_domains:
        return False
    parts = domain.split(".")
    return any(".".join(parts[i:]) in _disposable_domains for i in range(len(parts) - 1))


def fingerprint(
    hasher: PiiHasher,
    *,
    email: str | None,
    ip: str | None,
    device_id: str | None,
    user_agent: str | None,
    country: str | None,
) -> Fingerprint:
    prefix = ip_prefix(ip) if ip else None
    return Fingerprint(
        email=hasher.digest(PiiKind.EMAIL_CANONICAL, canonical_email(email)) if email else None,
        # Domains are not personal; hashing keeps one matching path for every kind.
        email_domain=hasher.digest(PiiKind.EMAIL_DOMAIN, email_domain(email)) if email else None,
        device=hasher.digest(PiiKind.DEVICE, device_id) if device_id else None,
        ip=hasher.digest(PiiKind.IP, ip) if ip else None,
        ip_prefix=hasher.digest(PiiKind.IP_PREFIX, prefix) if prefix else None,
        user_agent=hasher.digest(PiiKind.USER_AGENT, user_agent) if user_agent else None,
        country=country.strip().upper() if country else None,
        automation_user_agent=looks_automated(user_agent),
        disposable_email=is_disposable(email),
        attributes=hasher.stored_attributes(email, ip, device_id, user_agent)
        or intake_attributes(email=email, ip=ip, device_id=device_id, user_agent=user_agent),
    )
