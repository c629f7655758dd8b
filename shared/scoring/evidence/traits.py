"""What the referee's own device, network and mailbox are, read at intake from the raw
values (`IntakeAttributes`): an emulator, a datacenter address, a machine-made mailbox, a
device id whose format belongs to another operating system.

None of these is a person's choice the way a shared card or a home IP is, so none needs
another customer's evidence to mean something; each is also common enough in legitimate
traffic (VPN users on datacenter ranges, privacy relays minting random mailboxes) that it
only ever weighs with the rest.
"""

from __future__ import annotations

from shared.domain.hosting_networks import NetworkType
from shared.domain.intake_attributes import DeviceIdFormat, IntakeAttributes
from shared.scoring.evidence.source import EvidenceView, Found, flag

# Device id formats each operating system's apps send; a web browser sends its own cookie id.
_FORMATS_OF_OS: dict[str, frozenset[DeviceIdFormat]] = {
    "Android": frozenset({DeviceIdFormat.ANDROID_ID, DeviceIdFormat.UUID_V4}),
    "iOS": frozenset({DeviceIdFormat.IDFA, DeviceIdFormat.ZEROED, DeviceIdFormat.UUID_V4}),
}
_APP_FORMATS = frozenset({DeviceIdFormat.ANDROID_ID, DeviceIdFormat.IDFA})


def device_traits(view: EvidenceView) -> Found:
    attributes = view.referral.fingerprint.attributes or IntakeAttributes()
    values = {
        "virtual_device": flag(attributes.virtual_device),
        "hosting_network": flag(attributes.network_type == NetworkType.HOSTING),
        "generated_mailbox": flag(attributes.email_looks_generated),
        "device_id_mismatch": flag(device_id_mismatch(attributes)),
    }
    evidence: dict[str, object] = {
        "device": {
            "os_family": attributes.os_family,
            "device_family": attributes.device_family,
            "device_id_format": attributes.device_id_format.value,
        }
    }
    if attributes.hosting_provider:
        evidence["hosting_provider"] = attributes.hosting_provider
    return Found(values, evidence)


def device_id_mismatch(attributes: IntakeAttributes) -> bool:
    """An app id of one operating system sent by a user agent naming another: an Android id
    from an iPhone, an advertising id from an Android phone. Spoofed agents do this; real
    apps cannot."""
    fmt, os_family = attributes.device_id_format, attributes.os_family
    if fmt not in _APP_FORMATS or not os_family:
        return False
    expected = _FORMATS_OF_OS.get(os_family)
    return expected is not None and fmt not in expected
