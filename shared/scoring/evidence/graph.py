"""The referral graph: a referee who is an advocate already, rings of referrals, and two
customers referring each other."""

from __future__ import annotations

from typing import Any

from shared.scoring.evidence.source import EvidenceView, Found, flag
from shared.scoring.thresholds import RING_MAX_CUSTOMERS, RING_MAX_LENGTH


def referee_is_advocate(view: EvidenceView) -> Found:
    referral = view.referral
    referee = view.customer(referral.referee_customer_id)
    already = any(o.role == "advocate" and o.program_id == referral.program_id for o in referee)
    return Found({"referee_is_advocate": flag(already)}, {})


def ring_cycle(view: EvidenceView) -> Found:
    ring, mutual = ring_search(view)
    evidence: dict[str, Any] = {}
    if ring is not None:
        evidence["ring"] = ring
    evidence["mutual_referral"] = mutual
    return Found({"ring_cycle": flag(ring is not None)}, evidence)


def referred_by(view: EvidenceView, customer_id: str) -> list[str]:
    """Customers referred by any advocate enrolment of `customer_id`, up to as_of."""
    advocacies = sorted({o.advocate_id for o in view.customer(customer_id) if o.role == "advocate"})
    referred: set[str] = set()
    for advocate_id in advocacies:
        referred.update(
            o.customer_id for o in view.seen_with_advocate(advocate_id) if o.role == "referee"
        )
    return sorted(referred)


def ring_search(view: EvidenceView) -> tuple[list[str] | None, bool]:
    """The shortest referral path from the referee back to the advocate that closes a
    cycle of three to RING_MAX_LENGTH referrals (this one included), and whether the
    referee referred the advocate directly.

    Two friends referring each other (one in each program) is ordinary; three or more
    people passing referrals round a circle is not, so the direct return does not
    count as a ring on its own.
    """
    target = view.referral.advocate_customer_id
    start = view.referral.referee_customer_id
    if start == target:
        return None, False
    mutual = False
    parent: dict[str, str | None] = {start: None}
    frontier = [start]
    for _ in range(RING_MAX_LENGTH - 1):
        following: list[str] = []
        for customer in frontier:
            for referee in referred_by(view, customer):
                if referee == target and customer == start:
                    mutual = True
                    continue
                if referee == target:
                    return [target, *_path(parent, customer), target], mutual
                if referee in parent or len(parent) >= RING_MAX_CUSTOMERS:
                    continue
                parent[referee] = customer
                following.append(referee)
        if not following:
            return None, mutual
        frontier = following
    return None, mutual


def _path(parent: dict[str, str | None], customer: str) -> list[str]:
    path: list[str] = []
    node: str | None = customer
    while node is not None:
        path.append(node)
        node = parent[node]
    return list(reversed(path))
