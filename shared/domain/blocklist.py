"""Blocklist entries: evidence finance has declared fraudulent, kept only as keyed hashes.

Each kind is hashed exactly the way intake hashes the same evidence into a referral's
fingerprint, so scoring matches an entry with one lookup of the hash it already holds.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.pii import PiiHasher, PiiKind, email_domain
from shared.ports import BlockEntry, BlockKind


class BlocklistEntry(BaseModel):
    """The stored entry; scoring sees only its `BlockEntry` view (no hint, no author)."""

    model_config = ConfigDict(defer_build=True)

    entry_id: str
    kind: BlockKind
    value_hash: str
    hint: str
    note: str | None = None
    created_by: str
    created_at: datetime

    def as_block(self) -> BlockEntry:
        return BlockEntry(
            entry_id=self.entry_id, kind=self.kind, value_hash=self.value_hash, reason=self.note
        )


class InvalidBlockValue(ValueError):
    """The value cannot be of the kind it is declared as."""


class AlreadyBlocked(Exception):
    """The value is blocked already, by the entry named."""

    def __init__(self, existing_id: str) -> None:
        super().__init__(existing_id)
        self.entry_id = existing_id


class NoSuchEntry(Exception):
    """No blocklist entry has this id (any more)."""


def normalise(kind: BlockKind, raw: str) -> str:
    value = raw.strip()
    if not value:
        raise InvalidBlockValue("the value is empty")
    if kind == "email_domain":
        domain = email_domain(value if "@" in value else f"x@{value}")
        if "." not in domain or any(c.isspace() for c in domain):
            raise InvalidBlockValue("an email domain looks like example.com")
        return domain
    if kind == "ip":
        try:
            ipaddress.ip_address(value)
        except ValueError as exc:
            raise InvalidBlockValue("not an IPv4 or IPv6 address") from exc
    return value


def value_hash(hasher: PiiHasher, kind: BlockKind, raw: str) -> str:
    """The hash scoring sees for this evidence.

    Advocates are blocked by advocate_id, an identifier this service issued and not
    personal data, which is also what the evidence index stores for them.
    """
    value = normalise(kind, raw)
    if kind == "advocate":
        return value
    pii_kind = {
        "email_domain": PiiKind.EMAIL_DOMAIN,
        "device": PiiKind.DEVICE,
        "ip": PiiKind.IP,
        "payment": PiiKind.PAYMENT,
    }[kind]
    return hasher.digest(pii_kind, value)


def hint(kind: BlockKind, raw: str) -> str:
    """Enough for a person to recognise the entry, too little to recover the value."""
    value = normalise(kind, raw)
    if kind in ("advocate", "email_domain"):
        # Our own ids and mail domains are not personal data: show them whole.
        return value
    if kind == "ip":
        address = ipaddress.ip_address(value)
        if address.version == 4:
            return ".".join([*value.split(".")[:3], "x"])
        groups = address.exploded.split(":")
        return ":".join([*groups[:3], "x"])
    if len(value) <= 4:
        return "…"
    if kind == "payment":
        return f"…{value[-4:]}"
    return f"{value[:2]}…{value[-2:]}"


def entry_id(kind: BlockKind, hashed: str) -> str:
    """Derived from (kind, hash): blocking the same value twice names the same entry."""
    digest = hashlib.sha256(f"{kind}:{hashed}".encode()).hexdigest()[:24]
    return f"blk_{digest}"
