"""Who else stands behind the referee's device, address and cards, and how their
referrals ended: the part of the graph one bounded hop away, not only cycles.

A stall's tablet or an office router gathers many people who each bring their own card and
mailbox; a farm gathers many accounts that share cards and end rejected together. Counts
alone cannot tell the two apart; together with the cards and outcomes they can. A household
is the plainest case: one address shared with the advocate by people with their own
devices, cards and mailboxes is a home, not an alias.
"""

from __future__ import annotations

from shared.domain.evidence import EvidenceKind
from shared.domain.referrals import ReferralStatus
from shared.scoring.evidence.identity import IdentityLinks, ids
from shared.scoring.evidence.source import EvidenceView, Found, flag
from shared.scoring.thresholds import LINKED_OUTCOMES_READ, SIMILAR_EMAIL

_BAD = frozenset({ReferralStatus.REJECTED, ReferralStatus.REVERSED})
# Kinds whose every sighting, at any time, can change a referral's crowd counts.
CROWD_KINDS = frozenset({EvidenceKind.DEVICE, EvidenceKind.IP})


def crowd(view: EvidenceView, found: IdentityLinks, values: dict[str, float]) -> Found:
    device = _others(view, EvidenceKind.DEVICE, view.referral.fingerprint.device)
    address = _others(view, EvidenceKind.IP, view.referral.fingerprint.ip)
    linked = _linked_referrals(view, found)
    bad = _bad_outcomes(view, linked)
    return Found(
        {
            "device_customers": float(len(device)),
            "ip_customers": float(len(address)),
            "linked_bad_referrals": float(len(bad)),
            "household": flag(household(found, values)),
        },
        {"device_customers": ids(device), "linked_bad_referrals": ids(bad)},
    )


def household(found: IdentityLinks, values: dict[str, float]) -> bool:
    """The referee shares the advocate's address and nothing else that is one person's:
    their own device, their own card (seen on no one else), a mailbox unlike the advocate's."""
    return bool(
        values["same_ip"]
        and not values["same_device"]
        and found.cards
        and not found.payment.advocate_seen
        and not found.card_customers
        and not values["email_alias"]
        and values["email_local_similarity"] < SIMILAR_EMAIL
    )


def _others(view: EvidenceView, kind: EvidenceKind, value: str | None) -> set[str]:
    if not value:
        return set()
    mine = {view.referral.referee_customer_id, view.referral.advocate_customer_id}
    return {o.customer_id for o in view.seen(kind, value)} - mine


def _linked_referrals(view: EvidenceView, found: IdentityLinks) -> list[str]:
    """Other referrals whose referee used the referee's device or one of its cards, latest
    first (`seen` is in time order)."""
    own = view.referral.referral_id
    linked: dict[str, str] = {}
    values = [(EvidenceKind.DEVICE, view.referral.fingerprint.device)]
    values += [(EvidenceKind.PAYMENT, card) for card in found.cards]
    for kind, value in values:
        if not value:
            continue
        for o in view.seen(kind, value):
            if o.role == "referee" and o.referral_id and o.referral_id != own:
                linked[o.referral_id] = o.at
    return sorted(linked, key=lambda r: linked[r], reverse=True)[:LINKED_OUTCOMES_READ]


def _bad_outcomes(view: EvidenceView, referrals: list[str]) -> list[str]:
    bad = []
    for referral_id in referrals:
        outcome = view.source.outcome(referral_id)
        if outcome is not None and (outcome.status in _BAD or outcome.clawed_back):
            bad.append(referral_id)
    return bad
