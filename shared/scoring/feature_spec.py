"""The fixed, ordered feature contract between the feature extractor and the model.

Every scored referral becomes one float64 row with exactly these columns, in this
order. A trained model records the order it was trained with in its manifest, so a
model and an extractor that disagree fail loudly instead of scoring garbage.

``direction`` says which side of typical traffic is the suspicious one. Explanations
only name a feature when the referral sits on that side: an unusually *old* advocate
account may isolate a row in the forest, but it is no reason to distrust it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Kind = Literal["flag", "count", "ratio", "share", "seconds", "days"]
Direction = Literal["high", "low"]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: Kind
    direction: Direction
    description: str
    # Sentence used when the feature drives an anomaly; ``{value}`` is the formatted value.
    explanation: str

    def explain(self, value: float) -> str:
        return self.explanation.format(value=format_value(self.kind, value))


def format_value(kind: Kind, value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if kind in ("flag", "count"):
        return str(round(value))
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "share":
        return f"{value:.0%}"
    if kind == "days":
        return f"{value:.1f}"
    return _duration(value)


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "same_device",
        "flag",
        "high",
        "Referee's device id equals the advocate's device id (0 on a shared terminal: a "
        "device the advocate shares with 3+ customers paying with their own cards).",
        "the referee used the advocate's device",
    ),
    FeatureSpec(
        "same_ip",
        "flag",
        "high",
        "Referee's IP address equals the advocate's.",
        "the referee came from the advocate's IP address",
    ),
    FeatureSpec(
        "same_ip_prefix24",
        "flag",
        "high",
        "Referee's IPv4 /24 network equals the advocate's.",
        "the referee came from the advocate's /24 network",
    ),
    FeatureSpec(
        "same_user_agent",
        "flag",
        "high",
        "Referee's user agent string equals the advocate's.",
        "the referee used the advocate's exact browser user agent",
    ),
    FeatureSpec(
        "email_alias",
        "flag",
        "high",
        "Normalised emails are equal (gmail dots and +tags removed).",
        "the referee's email is an alias of the advocate's",
    ),
    FeatureSpec(
        "email_local_similarity",
        "share",
        "high",
        "Similarity (0..1) of the advocate's and referee's email local parts.",
        "the referee's email name is {value} similar to the advocate's",
    ),
    FeatureSpec(
        "same_payment_fingerprint",
        "flag",
        "high",
        "Referee's payment fingerprint was seen on the advocate's own orders.",
        "the referee paid with a card the advocate has used",
    ),
    FeatureSpec(
        "disposable_email",
        "flag",
        "high",
        "Referee's email domain is a known disposable-mail domain.",
        "the referee signed up with a disposable email address",
    ),
    FeatureSpec(
        "automation_user_agent",
        "flag",
        "high",
        "Referee's user agent looks like automation (headless browser, HTTP library).",
        "the referee's browser looks automated",
    ),
    FeatureSpec(
        "country_mismatch",
        "flag",
        "high",
        "Referee's country differs from the advocate's.",
        "the referee is in a different country from the advocate",
    ),
    FeatureSpec(
        "referee_is_advocate",
        "flag",
        "high",
        "The referee is already an advocate in this program.",
        "the referee is already an advocate in this program",
    ),
    FeatureSpec(
        "advocate_referrals_1h",
        "count",
        "high",
        "Referrals made with this advocate's code in the hour before this one.",
        "{value} referrals used this advocate's code in the hour before",
    ),
    FeatureSpec(
        "advocate_referrals_24h",
        "count",
        "high",
        "Referrals made with this advocate's code in the 24 hours before this one.",
        "{value} referrals used this advocate's code in the 24 hours before",
    ),
    FeatureSpec(
        "advocate_referrals_7d",
        "count",
        "high",
        "Referrals made with this advocate's code in the 7 days before this one.",
        "{value} referrals used this advocate's code in the 7 days before",
    ),
    FeatureSpec(
        "device_referrals_24h",
        "count",
        "high",
        "Other referrals in the program from the referee's device in 24 hours.",
        "{value} other referrals came from the same device within 24 hours",
    ),
    FeatureSpec(
        "ip_referrals_24h",
        "count",
        "high",
        "Other referrals in the program from the referee's IP address in 24 hours.",
        "{value} other referrals came from the same IP address within 24 hours",
    ),
    FeatureSpec(
        "ip_prefix_referrals_24h",
        "count",
        "high",
        "Other referrals in the program from the referee's /24 network in 24 hours.",
        "{value} other referrals came from the same /24 network within 24 hours",
    ),
    FeatureSpec(
        "payment_fingerprint_referrals_7d",
        "count",
        "high",
        "Other referrals in the program paid with the referee's payment fingerprint in 7 days.",
        "{value} other referrals paid with the same card within 7 days",
    ),
    FeatureSpec(
        "payment_card_customers",
        "count",
        "high",
        "Other customers (not the referee or advocate) who paid with the referee's card in any "
        "program, up to the scoring time.",
        "{value} other customers paid with the same card",
    ),
    FeatureSpec(
        "seconds_to_conversion",
        "seconds",
        "low",
        "Time from the referral to its qualifying event, in seconds.",
        "the referee converted only {value} after the referral",
    ),
    FeatureSpec(
        "order_value_ratio",
        "ratio",
        "low",
        "Order amount divided by the program's minimum order value (1.0 when none).",
        "the order was {value} times the minimum order value",
    ),
    FeatureSpec(
        "ring_cycle",
        "flag",
        "high",
        "The referral closes a cycle of 3 to 6 referrals among advocates and referees "
        "(two customers referring each other is not one).",
        "the referral closes a referral ring",
    ),
    FeatureSpec(
        "advocate_shared_fingerprint_referees",
        "count",
        "high",
        "The advocate's other referees sharing a device or card with this referee.",
        "{value} of the advocate's other referees share a device or card with this one",
    ),
    FeatureSpec(
        "advocate_reversal_rate",
        "share",
        "high",
        "Share (0..1) of the advocate's past decided referrals refunded, reversed or "
        "rejected, counting two more as fine so that one outcome is not yet a pattern.",
        "the advocate's earlier referrals were reversed or rejected (rate {value})",
    ),
    FeatureSpec(
        "advocate_tenure_days",
        "days",
        "low",
        "Days from the advocate's enrolment to this referral.",
        "the advocate enrolled only {value} days before the referral",
    ),
    FeatureSpec(
        "order_at_minimum",
        "flag",
        "high",
        "The qualifying order's amount is exactly the program's minimum order value.",
        "the order was exactly the minimum order value",
    ),
    FeatureSpec(
        "virtual_device",
        "flag",
        "high",
        "Referee's user agent names an emulator or a virtual device model.",
        "the referee's device is an emulator",
    ),
    FeatureSpec(
        "hosting_network",
        "flag",
        "high",
        "Referee's IP address is in a hosting, datacenter or VPN network.",
        "the referee came from a datacenter or VPN network",
    ),
    FeatureSpec(
        "generated_mailbox",
        "flag",
        "high",
        "Referee's mailbox name looks machine-made (long digit runs, hex, no vowels).",
        "the referee's mailbox name looks machine-made",
    ),
    FeatureSpec(
        "device_id_mismatch",
        "flag",
        "high",
        "Referee's app device id has the format of another operating system than its user "
        "agent names.",
        "the referee's device id does not match its operating system",
    ),
    FeatureSpec(
        "seconds_since_previous_referral",
        "seconds",
        "low",
        "Seconds since the advocate's previous referral (since enrolment for the first).",
        "the advocate's previous referral came only {value} before",
    ),
    FeatureSpec(
        "hours_from_usual_time",
        "count",
        "high",
        "Hours (0..12) between the referral's time of day and the advocate's usual one "
        "(0 before the advocate has 3 referrals).",
        "the referral came {value} hours away from the advocate's usual time",
    ),
    FeatureSpec(
        "device_customers",
        "count",
        "high",
        "Other customers (not the referee or advocate) seen on the referee's device.",
        "{value} other customers used the referee's device",
    ),
    FeatureSpec(
        "ip_customers",
        "count",
        "high",
        "Other customers (not the referee or advocate) seen on the referee's IP address.",
        "{value} other customers came from the referee's IP address",
    ),
    FeatureSpec(
        "linked_bad_referrals",
        "count",
        "high",
        "Of the latest 20 other referrals on the referee's device or cards, those rejected, "
        "reversed or clawed back.",
        "{value} referrals on the same device or card were rejected or reversed",
    ),
    FeatureSpec(
        "household",
        "flag",
        "low",
        "The referee shares the advocate's IP address but has their own device, a card no "
        "one else used and a mailbox unlike the advocate's: one home, two people.",
        "the referee looks like a member of the advocate's household",
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
SPEC_BY_NAME: dict[str, FeatureSpec] = {f.name: f for f in FEATURES}

if len(FEATURE_INDEX) != len(FEATURES):
    raise RuntimeError("duplicate feature name in FEATURES")

# The evidence group (`shared.scoring.evidence.<group>`) that computes each feature. The
# row order stays FEATURES' order whatever the groups: trained models depend on it.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "identity": (
        "same_device",
        "same_ip",
        "same_ip_prefix24",
        "same_user_agent",
        "same_payment_fingerprint",
        "automation_user_agent",
        "country_mismatch",
        "payment_card_customers",
        "advocate_shared_fingerprint_referees",
    ),
    "email": ("email_alias", "email_local_similarity", "disposable_email"),
    "velocity": (
        "advocate_referrals_1h",
        "advocate_referrals_24h",
        "advocate_referrals_7d",
        "device_referrals_24h",
        "ip_referrals_24h",
        "ip_prefix_referrals_24h",
        "payment_fingerprint_referrals_7d",
    ),
    "conversion": ("seconds_to_conversion", "order_value_ratio", "order_at_minimum"),
    "traits": ("virtual_device", "hosting_network", "generated_mailbox", "device_id_mismatch"),
    "timing": ("seconds_since_previous_referral", "hours_from_usual_time"),
    "crowd": ("device_customers", "ip_customers", "linked_bad_referrals", "household"),
    "graph": ("referee_is_advocate", "ring_cycle"),
    "history": ("advocate_reversal_rate", "advocate_tenure_days"),
}
GROUP_OF: dict[str, str] = {
    name: group for group, names in FEATURE_GROUPS.items() for name in names
}
if sorted(GROUP_OF) != sorted(FEATURE_NAMES) or len(GROUP_OF) != sum(
    len(names) for names in FEATURE_GROUPS.values()
):
    raise RuntimeError("every feature belongs to exactly one group in FEATURE_GROUPS")
DESCRIPTIONS: dict[str, str] = {f.name: f.description for f in FEATURES}
EXPLANATIONS: dict[str, str] = {f.name: f.explanation for f in FEATURES}
