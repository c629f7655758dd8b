"""The fraud features of one referral, composed from its evidence groups as of a moment.

Every lookup goes through an `EvidenceSource` (the referral, its events, its advocate and
program, and the evidence index partitions of its device, IP, /24 network, cards, advocate
and customer). Times are the records' `occurred_at`, bounded by `as_of`, never the wall
clock: replaying the same records gives the same features as live traffic did.

The groups (`shared.scoring.evidence.*`) run in a fixed order, because two read what
others found: the shared terminal needs the identity links and the email signals, and
the advocate's shared referees need the terminal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.referrals import Referral
from shared.errors import NotFound
from shared.pii import PiiHasher, PiiKind
from shared.scoring.evidence import (
    conversion,
    crowd,
    email,
    graph,
    history,
    identity,
    timing,
    traits,
    velocity,
)
from shared.scoring.evidence.source import EvidenceSource, EvidenceView, Found
from shared.scoring.feature_spec import FEATURE_NAMES
from shared.scoring.feature_values import Features


class FeatureExtractor:
    """A `FeatureSource` on stored evidence."""

    def __init__(self, evidence: EvidenceSource, hasher: PiiHasher) -> None:
        self._evidence = evidence
        self._hasher = hasher

    def extract(
        self, referral_id: str, as_of: datetime, referral: Referral | None = None
    ) -> Features:
        """Features of the referral as of `as_of`; pass `referral` if it was just read."""
        referral = referral or self._evidence.referral(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        advocate = self._evidence.advocate(referral.advocate_id)
        if advocate is None:  # pragma: no cover - referrals always name a stored advocate
            raise NotFound(f"no advocate {referral.advocate_id}")
        program = self._evidence.program(referral.program_id)
        if program is None:  # pragma: no cover - referrals always name a stored program
            raise NotFound(f"no program {referral.program_id}")
        view = EvidenceView(self._evidence, self._customer_hash, referral, advocate, program, as_of)
        return build(view)

    def _customer_hash(self, customer_id: str) -> str:
        return self._hasher.digest(PiiKind.CUSTOMER, customer_id)


def build(view: EvidenceView) -> Features:
    """Every group's features for one referral, in `FEATURE_NAMES` order."""
    referral, advocate = view.referral, view.advocate
    values: dict[str, float] = {}
    evidence: dict[str, Any] = {
        "advocate_id": advocate.advocate_id,
        "advocate_customer_id": advocate.customer_id,
        "referee_customer_id": referral.referee_customer_id,
    }

    def add(found: Found) -> None:
        values.update(found.values)
        evidence.update(found.evidence)

    links = identity.read_links(view)
    add(identity.own_links(view, links))
    add(email.email_signals(view))
    add(graph.referee_is_advocate(view))
    add(velocity.advocate_velocity(view))
    add(velocity.link_velocity(links))
    add(conversion.conversion(view))
    add(graph.ring_cycle(view))
    add(crowd.crowd(view, links, values))
    terminal = identity.shared_terminal(view, links, values)
    if terminal:
        identity.explain_terminal(terminal, values, evidence)
    add(identity.shared_referees(links, terminal))
    add(history.advocate_history(view))
    add(traits.device_traits(view))
    add(timing.advocate_timing(view))
    return Features(
        referral_id=referral.referral_id,
        as_of=view.as_of,
        values={name: float(values[name]) for name in FEATURE_NAMES},
        evidence=evidence,
    )
