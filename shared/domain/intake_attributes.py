"""Non-personal attributes derived at intake from the raw values before they are hashed.

A stored fingerprint carries only keyed hashes, so what fraud signals need from the raw
user agent, device id, address and email is read here, once, and kept beside the hashes.
No raw value, nor any part of one, is kept: only families, formats and counts.
"""

from __future__ import annotations

import re
import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.domain.hosting_networks import NetworkType, read_network
from shared.domain.user_agents import read_user_agent

# Raised when the meaning of a field changes, so stored documents say which reading made them.
SCHEMA_VERSION = 1

_ANDROID_ID = re.compile(r"[0-9a-f]{16}")
_UUID_SHAPE = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")
_UUID_V4 = 4
_VOWELS = frozenset("aeiouy")
# A local part with five digits or more, or more than half digits, is rarely one a person chose
# ("john1985" has four); long strings of letters with few vowels are keyboard or random.
_MANY_DIGITS = 5
_DIGIT_SHARE_PERCENT = 50
_LONG_LOCAL = 16
_FEW_VOWELS_PERCENT = 20
_HEX_LOCAL = re.compile(r"[0-9a-f]{16,}")


class DeviceIdFormat(StrEnum):
    UUID_V4 = "uuid_v4"  # lower-case UUID v4, as web and Android apps generate them
    IDFA = "idfa"  # upper-case UUID v4, as Apple's advertising and vendor ids are written
    ZEROED = "zeroed"  # the all-zero UUID a device sends when ad tracking is limited
    UUID_OTHER = "uuid_other"  # a UUID of another version
    ANDROID_ID = "android_id"  # 16 lower-case hex digits (Settings.Secure.ANDROID_ID)
    OTHER = "other"
    MISSING = "missing"


class IntakeAttributes(BaseModel):
    """What intake read from a party's raw values, under a versioned schema."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    schema_version: int = SCHEMA_VERSION
    user_agent_family: str | None = None
    os_family: str | None = None
    device_family: str | None = None
    automated_agent: bool = False
    virtual_device: bool = False
    device_id_format: DeviceIdFormat = DeviceIdFormat.MISSING
    network_type: NetworkType | None = None
    hosting_provider: str | None = None
    email_local_length: int | None = None
    email_local_digit_percent: int | None = None
    email_looks_generated: bool = False


def device_id_format(device_id: str | None) -> DeviceIdFormat:
    value = (device_id or "").strip()
    if not value:
        return DeviceIdFormat.MISSING
    if _ANDROID_ID.fullmatch(value):
        return DeviceIdFormat.ANDROID_ID
    if not _UUID_SHAPE.fullmatch(value):
        return DeviceIdFormat.OTHER
    parsed = uuid.UUID(value)
    if parsed.int == 0:
        return DeviceIdFormat.ZEROED
    if parsed.version != _UUID_V4:
        return DeviceIdFormat.UUID_OTHER
    upper_case = value == value.upper() and value != value.lower()
    return DeviceIdFormat.IDFA if upper_case else DeviceIdFormat.UUID_V4


def email_local_part(email: str) -> str:
    """The part before the domain, without a "+tag", lower-cased."""
    return email.strip().rsplit("@", 1)[0].split("+", 1)[0].lower()


def digit_percent(text: str) -> int:
    return round(100 * sum(c.isdigit() for c in text) / len(text)) if text else 0


def looks_generated(local: str) -> bool:
    digits = sum(c.isdigit() for c in local)
    letters = [c for c in local if c.isalpha()]
    vowel_percent = round(100 * sum(c in _VOWELS for c in letters) / len(letters)) if letters else 0
    return (
        digits >= _MANY_DIGITS
        or (len(local) >= _MANY_DIGITS and digit_percent(local) > _DIGIT_SHARE_PERCENT)
        or bool(_HEX_LOCAL.fullmatch(local))
        or (len(local) >= _LONG_LOCAL and vowel_percent < _FEW_VOWELS_PERCENT)
    )


def intake_attributes(
    *, email: str | None, ip: str | None, device_id: str | None, user_agent: str | None
) -> IntakeAttributes:
    agent = read_user_agent(user_agent) if user_agent else None
    network = read_network(ip) if ip else None
    local = email_local_part(email) if email else None
    return IntakeAttributes(
        user_agent_family=agent.user_agent_family if agent else None,
        os_family=agent.os_family if agent else None,
        device_family=agent.device_family if agent else None,
        automated_agent=agent.automated if agent else False,
        virtual_device=agent.virtual_device if agent else False,
        device_id_format=device_id_format(device_id),
        network_type=network.network_type if network else None,
        hosting_provider=network.provider if network else None,
        email_local_length=len(local) if local is not None else None,
        email_local_digit_percent=digit_percent(local) if local is not None else None,
        email_looks_generated=looks_generated(local) if local else False,
    )
