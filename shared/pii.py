"""Personal data is matched through keyed hashes, never stored or compared raw.

The HMAC key lives in SSM Parameter Store in AWS (generated once locally), so a table dump
alone cannot be reversed by hashing a list of known emails.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from enum import StrEnum
from typing import Any


class PiiKind(StrEnum):
    EMAIL = "email"
    EMAIL_CANONICAL = "email_canonical"
    EMAIL_DOMAIN = "email_domain"
    IP = "ip"
    IP_PREFIX = "ip_prefix"
    DEVICE = "device"
    USER_AGENT = "user_agent"
    PAYMENT = "payment"
    CUSTOMER = "customer"
    # Not personal data: the pad a webhook's signing secret is sealed with.
    WEBHOOK_SEAL = "webhook_seal"


# Providers that ignore dots and plus tags in the local part.
_DOT_BLIND = {"gmail.com", "googlemail.com"}
_PLUS_TAGGED = {
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "fastmail.com",
    "proton.me",
    "protonmail.com",
}


def canonical_email(email: str) -> str:
    """The mailbox an address delivers to: lower case, plus tags and gmail dots removed."""
    local, _, domain = email.strip().lower().rpartition("@")
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in _PLUS_TAGGED or domain in _DOT_BLIND:
        local = local.split("+", 1)[0]
    if domain in _DOT_BLIND:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


def ip_prefix(ip: str) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network an address belongs to."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


class PiiHasher:
    def __init__(self, key_source: Callable[[], bytes]) -> None:
        self._key_source = key_source
        self._key: bytes | None = None

    def digest(self, kind: PiiKind, value: str) -> str:
        if self._key is None:
            self._key = self._key_source()
        message = f"{kind.value}:{value.strip().lower()}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def stored_attributes(self, *raw: str | None) -> Any | None:
        """What intake read earlier from the originals of these values, when they are
        stand-ins for values already hashed (a replay of an exported history); None for
        raw values, which intake reads itself."""
        return None
