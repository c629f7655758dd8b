"""Identity links: the referee's device, IP, /24 network and cards, seen with the advocate
or with other referrals, and the shared terminal that explains some of them away."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.domain.evidence import EvidenceKind
from shared.scoring.evidence.source import EvidenceView, Found, equal, flag
from shared.scoring.thresholds import (
    CARD_WINDOW,
    EVIDENCE_IDS,
    SIMILAR_EMAIL,
    TERMINAL_CUSTOMERS,
    TERMINAL_EXPLAINS,
    WINDOWED,
)


@dataclass
class Links:
    """What one evidence partition says about the referral."""

    advocate_seen: bool = False
    # Other referrals, referral_id -> the referee's customer_id (what evidence shows).
    window_referrals: dict[str, str] = field(default_factory=dict)
    advocate_referees: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IdentityLinks:
    device: Links
    ip: Links
    prefix: Links
    payment: Links
    cards: list[str]
    # Customers other than the referee and the advocate who paid with the referee's cards.
    card_customers: set[str]


def ids(values: Iterable[str]) -> list[str]:
    return sorted(values)[:EVIDENCE_IDS]


def links(
    view: EvidenceView,
    kind: EvidenceKind,
    value: str | None,
    window: timedelta,
    centre: datetime | None = None,
) -> Links:
    found = Links()
    if not value:
        return found
    referral = view.referral
    low, high = view.window(centre or view.t, window)
    for obs in view.seen(kind, value):
        if obs.customer_id == referral.advocate_customer_id:
            found.advocate_seen = True
        if obs.role != "referee" or not obs.referral_id:
            continue
        if obs.referral_id == referral.referral_id:
            continue
        if obs.program_id == referral.program_id and low <= obs.at <= high:
            found.window_referrals[obs.referral_id] = obs.customer_id
        if obs.advocate_id == referral.advocate_id:
            found.advocate_referees[obs.referral_id] = obs.customer_id
    return found


def read_links(view: EvidenceView) -> IdentityLinks:
    mine = view.referral.fingerprint
    device = links(view, EvidenceKind.DEVICE, mine.device, WINDOWED[EvidenceKind.DEVICE])
    ip = links(view, EvidenceKind.IP, mine.ip, WINDOWED[EvidenceKind.IP])
    prefix = links(view, EvidenceKind.IP_PREFIX, mine.ip_prefix, WINDOWED[EvidenceKind.IP_PREFIX])
    cards = sorted({e.payment_fingerprint for e in view.events if e.payment_fingerprint})
    payment = Links()
    card_customers: set[str] = set()
    for card in cards:
        found = links(view, EvidenceKind.PAYMENT, card, CARD_WINDOW, centre=_card_time(view, card))
        payment.advocate_seen |= found.advocate_seen
        payment.window_referrals.update(found.window_referrals)
        payment.advocate_referees.update(found.advocate_referees)
        card_customers.update(o.customer_id for o in view.seen(EvidenceKind.PAYMENT, card))
    # A family shares a card with the advocate; strangers sharing one are not a family.
    card_customers -= {view.referral.referee_customer_id, view.referral.advocate_customer_id}
    return IdentityLinks(device, ip, prefix, payment, cards, card_customers)


def _card_time(view: EvidenceView, card: str) -> datetime:
    own = [
        e.occurred_at
        for e in view.events
        if e.payment_fingerprint == card and e.occurred_at <= view.as_of
    ]
    return min(own) if own else view.t


def own_links(view: EvidenceView, found: IdentityLinks) -> Found:
    """Links between the referee and the advocate themselves."""
    mine, theirs = view.referral.fingerprint, view.advocate.fingerprint
    values = {
        "same_device": flag(found.device.advocate_seen or equal(mine.device, theirs.device)),
        "same_ip": flag(found.ip.advocate_seen or equal(mine.ip, theirs.ip)),
        "same_ip_prefix24": flag(
            found.prefix.advocate_seen or equal(mine.ip_prefix, theirs.ip_prefix)
        ),
        "same_user_agent": flag(equal(mine.user_agent, theirs.user_agent)),
        "same_payment_fingerprint": flag(found.payment.advocate_seen),
        "automation_user_agent": flag(mine.automation_user_agent),
        "country_mismatch": flag(
            bool(mine.country and theirs.country and mine.country != theirs.country)
        ),
        "payment_card_customers": float(len(found.card_customers)),
    }
    evidence: dict[str, Any] = {
        "countries": {"advocate": theirs.country, "referee": mine.country},
        "card_customers": ids(found.card_customers),
        "payment_cards": found.cards,
        "links_to_advocate": sorted(
            name
            for name, link in (
                ("device", found.device),
                ("ip", found.ip),
                ("ip_prefix", found.prefix),
                ("payment", found.payment),
            )
            if link.advocate_seen
        ),
    }
    return Found(values, evidence)


def shared_terminal(view: EvidenceView, found: IdentityLinks, values: dict[str, float]) -> set[str]:
    """The advocate's other referees on the referee's device if it is a shared terminal,
    else an empty set: the advocate's own device (a store tablet they enrolled on) or one
    they sign people up on (a stall's tablet at an event).

    It is one only for a referee with nothing else tying them to the advocate: their
    own card (no one else's, not the advocate's), a mailbox name unlike the advocate's.
    """
    if not found.cards:
        return set()
    payment = found.payment
    if payment.advocate_seen or payment.advocate_referees or found.card_customers:
        return set()
    if values["email_alias"] or values["email_local_similarity"] >= SIMILAR_EMAIL:
        return set()
    others = set(found.device.advocate_referees.values()) - {view.referral.referee_customer_id}
    return others if len(others) >= TERMINAL_CUSTOMERS else set()


def explain_terminal(
    terminal: set[str], values: dict[str, float], evidence: dict[str, Any]
) -> None:
    """Many customers each paying with their own card on the advocate's device is an
    in-store or event sign-up, not one person's aliases: the device and its network say
    nothing about this referee, so they are left out rather than counted."""
    evidence["shared_terminal"] = {"device_customers": len(terminal), "customers": ids(terminal)}
    for name in TERMINAL_EXPLAINS:
        values[name] = 0.0
    evidence["links_to_advocate"] = [
        name for name in evidence["links_to_advocate"] if name == "payment"
    ]


def shared_referees(found: IdentityLinks, terminal: set[str]) -> Found:
    """The advocate's other referees on the referee's device or card."""
    # A family behind one router shares an IP; sharing a device or a card is rarer.
    device = {} if terminal else found.device.advocate_referees
    shared = {**device, **found.payment.advocate_referees}
    return Found(
        {"advocate_shared_fingerprint_referees": float(len(shared))},
        {"shared_referees": ids(shared.values())},
    )
