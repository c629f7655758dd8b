"""Explicit fraud rules: each a stable reason code, a short sentence and its evidence.

A rule's `weight` (0..1) is how strongly it alone points to fraud; the decision combines
weights as independent signals (1 - prod(1 - w)). Thresholds are set so that a signal
that innocent people produce too (a shared household IP, a different country) never
flags a referral by itself, while the same signal beside others does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shared.domain.referrals import Reason
from shared.ports import BlockEntry
from shared.scoring.feature_spec import format_value
from shared.scoring.feature_values import Features
from shared.scoring.thresholds import (
    ADVOCATE_REFERRALS_1H,
    ADVOCATE_REFERRALS_7D,
    ADVOCATE_REFERRALS_24H,
    CARD_REFERRALS_MANY,
    CARD_SHARED_BY,
    CLAWBACK_SHARE_TO_HOLD,
    CLAWBACKS_TO_HOLD,
    CROSS_BORDER_MINIMUM_SECONDS,
    DEVICE_REFERRALS_FARM,
    FAST_PURCHASE_SECONDS,
    FAST_SIGNUP_SECONDS,
    IP_REFERRALS,
    MIN_DECIDED_FOR_REVERSALS,
    NEAR_IDENTICAL_EMAIL,
    NETWORK_REFERRALS,
    REBUILT_NAME_SIMILARITY,
    REVERSAL_RATES,
    SIMILAR_EMAIL,
)

# The model version of a decision the rules made alone (no trained model yet, or a
# referral refused before any scoring).
RULES_VERSION = "rules-1"

# The referee is the advocate (same customer id): refused at intake, never scored.
SELF_REFERRAL = "SELF_REFERRAL"
SELF_REFERRAL_DEVICE = "SELF_REFERRAL_DEVICE"
SELF_REFERRAL_IP = "SELF_REFERRAL_IP"
EMAIL_ALIAS = "EMAIL_ALIAS"
SHARED_PAYMENT = "SHARED_PAYMENT"
DISPOSABLE_EMAIL = "DISPOSABLE_EMAIL"
AUTOMATION = "AUTOMATION"
VELOCITY_ADVOCATE = "VELOCITY_ADVOCATE"
VELOCITY_DEVICE = "VELOCITY_DEVICE"
VELOCITY_IP = "VELOCITY_IP"
VELOCITY_PAYMENT = "VELOCITY_PAYMENT"
RING = "RING"
MUTUAL_REFERRAL = "MUTUAL_REFERRAL"
FAST_CONVERSION = "FAST_CONVERSION"
COUNTRY_MISMATCH = "COUNTRY_MISMATCH"
CROSS_BORDER_MINIMUM = "CROSS_BORDER_MINIMUM"
REFERRER_REVERSALS = "REFERRER_REVERSALS"
REFUND_AFTER_REWARD = "REFUND_AFTER_REWARD"
BLOCKED = "BLOCKED"
ANOMALY = "ANOMALY"

# Every code a risk's reasons can carry: the rules', intake's, the model's and a refund's.
REASON_CODES: tuple[str, ...] = (
    SELF_REFERRAL,
    SELF_REFERRAL_DEVICE,
    SELF_REFERRAL_IP,
    EMAIL_ALIAS,
    SHARED_PAYMENT,
    DISPOSABLE_EMAIL,
    AUTOMATION,
    VELOCITY_ADVOCATE,
    VELOCITY_DEVICE,
    VELOCITY_IP,
    VELOCITY_PAYMENT,
    RING,
    MUTUAL_REFERRAL,
    FAST_CONVERSION,
    COUNTRY_MISMATCH,
    CROSS_BORDER_MINIMUM,
    REFERRER_REVERSALS,
    REFUND_AFTER_REWARD,
    BLOCKED,
    ANOMALY,
)


@dataclass(frozen=True)
class RuleHit:
    reason: Reason
    weight: float
    hard_reject: bool = False
    # A firm hit holds the payout for review even when the model finds the referral
    # ordinary: the evidence (a pattern of clawbacks, a card shared by strangers) is about
    # accumulated behaviour the model's per-referral view cannot weigh.
    firm: bool = False

    @property
    def code(self) -> str:
        return self.reason.code


def plain(value: Any) -> Any:
    """Evidence as stored and served: no floats (DynamoDB refuses them, JSON rounds them).

    Whole numbers become ints, other fractions a decimal string of at most four places.
    """
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return f"{value:.4f}".rstrip("0")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _hit(code: str, weight: float, message: str, **evidence: Any) -> RuleHit:
    return RuleHit(Reason(code=code, message=message, evidence=plain(evidence)), weight)


def _firm(hit: RuleHit) -> RuleHit:
    return replace(hit, firm=True)


def _count(value: float) -> int:
    return round(value)


def self_referral_device(f: Features) -> RuleHit | None:
    if not f["same_device"]:
        return None
    return _hit(
        SELF_REFERRAL_DEVICE,
        0.6,
        "The referee used a device the advocate has used.",
        advocate_customer_id=f.evidence.get("advocate_customer_id"),
        same_ip=bool(f["same_ip"]),
        same_user_agent=bool(f["same_user_agent"]),
    )


def self_referral_ip(f: Features) -> RuleHit | None:
    if not f["same_ip"]:
        return None
    if f["same_user_agent"]:
        # Still a household more often than not: only a flag beside other signals.
        return _hit(
            SELF_REFERRAL_IP,
            0.3,
            "The referee came from the advocate's IP address with the same browser.",
            same_user_agent=True,
        )
    # Families and flatmates share one address: by itself this is only a hint.
    return _hit(
        SELF_REFERRAL_IP,
        0.15,
        "The referee came from the advocate's IP address (common in households).",
        same_user_agent=False,
    )


def email_alias(f: Features) -> RuleHit | None:
    if f["email_alias"]:
        # One mailbox is one person, whatever else looks ordinary.
        return _firm(
            _hit(
                EMAIL_ALIAS,
                0.9,
                "The referee's email is an alias of the advocate's (same mailbox).",
                similarity_percent=100,
            )
        )
    similarity = f["email_local_similarity"]
    if similarity == REBUILT_NAME_SIMILARITY:
        # Relatives and namesakes rebuild to the same parts too (`jclark`, `jessica.clark`):
        # a hint the model has to agree with.
        return _hit(
            EMAIL_ALIAS,
            0.5,
            "The referee's email name is made of the advocate's name parts.",
            similarity_percent=round(similarity * 100),
        )
    if similarity >= NEAR_IDENTICAL_EMAIL:
        return _firm(
            _hit(
                EMAIL_ALIAS,
                0.5,
                f"The referee's email name is {similarity:.0%} the same as the advocate's, "
                "at another address.",
                similarity_percent=round(similarity * 100),
            )
        )
    if similarity >= SIMILAR_EMAIL:
        return _hit(
            EMAIL_ALIAS,
            0.4,
            f"The referee's email name is {similarity:.0%} similar to the advocate's.",
            similarity_percent=round(similarity * 100),
        )
    return None


def shared_payment(f: Features) -> RuleHit | None:
    strangers = _count(f["payment_card_customers"])
    if not f["same_payment_fingerprint"]:
        reused = _count(f["payment_fingerprint_referrals_7d"])
        weight = 0.6
        if strangers >= CARD_SHARED_BY:
            message = f"The referee's card was also used by {strangers} other customers."
        elif strangers and reused:
            weight = 0.4  # VELOCITY_PAYMENT already counts the other referrals
            # One other customer on a card is a partner or a parent; that card paying for
            # another referral of the program within the week is a card passed around.
            message = (
                f"The referee's card was also used by another customer and paid for {reused} "
                f"other referral{'s' if reused > 1 else ''} of this program within 7 days."
            )
        else:
            return None
        return _firm(
            _hit(
                SHARED_PAYMENT,
                weight,
                message,
                customers=f.evidence.get("card_customers", []),
                referrals_7d=reused,
            )
        )
    if strangers < 1:
        # The family card: one household member paying with another's is ordinary.
        return _hit(
            SHARED_PAYMENT,
            0.5,
            "The referee paid with a card the advocate has used.",
            links_to_advocate=f.evidence.get("links_to_advocate", []),
        )
    # The advocate's card in strangers' hands too is no family: it stands without the model.
    return _firm(
        _hit(
            SHARED_PAYMENT,
            0.85,
            f"The referee paid with a card the advocate has used, and {strangers} other "
            f"customer{'s' if strangers > 1 else ''} did too.",
            links_to_advocate=f.evidence.get("links_to_advocate", []),
            customers=f.evidence.get("card_customers", []),
        )
    )


def disposable_email(f: Features) -> RuleHit | None:
    if not f["disposable_email"]:
        return None
    return _hit(
        DISPOSABLE_EMAIL,
        0.35,
        "The referee signed up with a disposable email address.",
        email_domain=f.evidence.get("referee_email_domain"),
    )


def automation(f: Features) -> RuleHit | None:
    if not f["automation_user_agent"]:
        return None
    return _hit(AUTOMATION, 0.5, "The referee's browser looks automated.")


def velocity_advocate(f: Features) -> RuleHit | None:
    counts = {
        "1h": _count(f["advocate_referrals_1h"]),
        "24h": _count(f["advocate_referrals_24h"]),
        "7d": _count(f["advocate_referrals_7d"]),
    }
    # Influencers cause bursts too: velocity alone never flags, it strengthens other signals.
    hour_hint, hour_strong = ADVOCATE_REFERRALS_1H
    day_hint, day_strong = ADVOCATE_REFERRALS_24H
    weight = max(
        0.3 if counts["1h"] >= hour_strong else 0.2 if counts["1h"] >= hour_hint else 0.0,
        0.3 if counts["24h"] >= day_strong else 0.2 if counts["24h"] >= day_hint else 0.0,
        0.2 if counts["7d"] >= ADVOCATE_REFERRALS_7D else 0.0,
    )
    if not weight:
        return None
    return _hit(
        VELOCITY_ADVOCATE,
        weight,
        f"The advocate's code was used {counts['1h']} times within an hour and "
        f"{counts['24h']} times within a day of this referral.",
        **{f"referrals_{k}": v for k, v in counts.items()},
    )


def velocity_device(f: Features) -> RuleHit | None:
    count = _count(f["device_referrals_24h"])
    if count < 1:
        return None
    return _hit(
        VELOCITY_DEVICE,
        0.8 if count >= DEVICE_REFERRALS_FARM else 0.45,
        f"{count} other referral{'s' if count > 1 else ''} came from the same device "
        "within 24 hours.",
        referrals_24h=count,
        customers=f.evidence.get("device_referees", []),
    )


def velocity_ip(f: Features) -> RuleHit | None:
    count = _count(f["ip_referrals_24h"])
    network = _count(f["ip_prefix_referrals_24h"])
    some, many = IP_REFERRALS
    if count >= some:
        return _hit(
            VELOCITY_IP,
            0.6 if count >= many else 0.3,
            f"{count} other referrals came from the same IP address within 24 hours.",
            referrals_24h=count,
            network_referrals_24h=network,
            customers=f.evidence.get("ip_referees", []),
        )
    if network >= NETWORK_REFERRALS:
        return _hit(
            VELOCITY_IP,
            0.2,
            f"{network} other referrals came from the same /24 network within 24 hours.",
            referrals_24h=count,
            network_referrals_24h=network,
        )
    return None


def velocity_payment(f: Features) -> RuleHit | None:
    count = _count(f["payment_fingerprint_referrals_7d"])
    if count < 1:
        return None
    return _hit(
        VELOCITY_PAYMENT,
        0.9 if count >= CARD_REFERRALS_MANY else 0.6,
        f"{count} other referral{'s' if count > 1 else ''} paid with the same card within 7 days.",
        referrals_7d=count,
        customers=f.evidence.get("payment_referees", []),
    )


def ring(f: Features) -> RuleHit | None:
    if not f["ring_cycle"]:
        return None
    path = f.evidence.get("ring", [])
    # Friends rarely refer each other round a cycle of three or more: it stands alone.
    return _firm(
        _hit(
            RING,
            0.9,
            f"The referral closes a ring of {max(len(path) - 1, 2)} referrals "
            "that leads back to the advocate.",
            customers=path,
            length=max(len(path) - 1, 2),
        )
    )


def mutual_referral(f: Features) -> RuleHit | None:
    if f["ring_cycle"] or not f.evidence.get("mutual_referral"):
        return None
    # Friends refer each other across programs; beside other links it is two accounts
    # of one person taking turns.
    return _hit(
        MUTUAL_REFERRAL,
        0.3,
        "The referee has also referred the advocate.",
        customers=[
            f.evidence.get("advocate_customer_id"),
            f.evidence.get("referee_customer_id"),
        ],
    )


def fast_conversion(f: Features) -> RuleHit | None:
    seconds = f["seconds_to_conversion"]
    # Signing up straight from a link is normal; buying within a minute rarely is.
    fast, quick = FAST_PURCHASE_SECONDS
    if f.evidence.get("qualifying_event") == "signup":
        weight = 0.2 if seconds < FAST_SIGNUP_SECONDS else 0.0
    else:
        weight = 0.3 if seconds < fast else 0.15 if seconds < quick else 0.0
    if not weight:
        return None
    return _hit(
        FAST_CONVERSION,
        weight,
        f"The referee converted only {format_value('seconds', seconds)} after the referral.",
        seconds_to_conversion=round(seconds),
    )


def country_mismatch(f: Features) -> RuleHit | None:
    if not f["country_mismatch"]:
        return None
    return _hit(
        COUNTRY_MISMATCH,
        0.1,
        "The referee is in a different country from the advocate.",
        **f.evidence.get("countries", {}),
    )


def cross_border_minimum(f: Features) -> RuleHit | None:
    """Abroad, exactly the minimum, within a day: firm, as no one signal of it is."""
    seconds = f["seconds_to_conversion"]
    if not (f["country_mismatch"] and f["order_at_minimum"]):
        return None
    if seconds >= CROSS_BORDER_MINIMUM_SECONDS:
        return None
    return _firm(
        _hit(
            CROSS_BORDER_MINIMUM,
            0.45,
            "The referee, in another country from the advocate, ordered exactly the "
            f"minimum {format_value('seconds', seconds)} after the referral.",
            seconds_to_conversion=round(seconds),
            **f.evidence.get("countries", {}),
        )
    )


def referrer_reversals(f: Features) -> RuleHit | None:
    decided = int(f.evidence.get("advocate_decided_referrals", 0))
    bad = int(f.evidence.get("advocate_reversed_or_rejected", 0))
    rate = bad / decided if decided else 0.0
    clawed_back = int(f.evidence.get("advocate_clawed_back", 0))
    if clawed_back >= CLAWBACKS_TO_HOLD and clawed_back >= CLAWBACK_SHARE_TO_HOLD * decided:
        return _firm(
            _hit(
                REFERRER_REVERSALS,
                0.6,
                f"{clawed_back} of the advocate's recent referrals were refunded after their "
                "rewards were paid.",
                clawed_back_referrals=clawed_back,
                decided_referrals=decided,
            )
        )
    some, many = REVERSAL_RATES
    if decided < MIN_DECIDED_FOR_REVERSALS or rate < some:
        return None
    return _hit(
        REFERRER_REVERSALS,
        0.45 if rate >= many else 0.2,
        f"{rate:.0%} of the advocate's {decided} recent decided referrals were reversed "
        "or rejected.",
        reversal_rate_percent=round(rate * 100),
        decided_referrals=decided,
        reversed_or_rejected=bad,
    )


Rule = Callable[[Features], RuleHit | None]
RULES: tuple[Rule, ...] = (
    self_referral_device,
    self_referral_ip,
    email_alias,
    shared_payment,
    disposable_email,
    automation,
    velocity_advocate,
    velocity_device,
    velocity_ip,
    velocity_payment,
    ring,
    mutual_referral,
    fast_conversion,
    country_mismatch,
    cross_border_minimum,
    referrer_reversals,
)


def blocked(entries: Sequence[BlockEntry]) -> RuleHit | None:
    """Blocked evidence is a hard reject, whatever else the referral looks like."""
    if not entries:
        return None
    kinds = sorted({e.kind.replace("_", " ") for e in entries})
    return RuleHit(
        Reason(
            code=BLOCKED,
            message=f"Blocked by finance: {', '.join(kinds)} on the blocklist.",
            evidence={
                "entries": [
                    {"entry_id": e.entry_id, "kind": e.kind, "reason": e.reason}
                    for e in sorted(entries, key=lambda e: (e.kind, e.entry_id))
                ]
            },
        ),
        1.0,
        hard_reject=True,
    )


def evaluate(features: Features, blocks: Sequence[BlockEntry] = ()) -> list[RuleHit]:
    """Every rule that fires, in a fixed order (blocked evidence first)."""
    hits = [blocked(blocks)]
    hits += [rule(features) for rule in RULES]
    return [hit for hit in hits if hit is not None]
