"""Which stored changes can move a referral's features: the contract the incremental
re-score relies on (`shared.repositories.rescore_marks`, `shared.backtest.incremental`).

It reads keys and items as stored, so it lives with the keys; what it knows about the
features (their windows, the referral's own inputs, which outcomes count) comes from
`shared.scoring`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.clock import iso
from shared.domain.evidence import EvidenceKind
from shared.domain.referrals import Referral, ReferralStatus
from shared.repositories import keys
from shared.scoring.evidence.crowd import CROWD_KINDS
from shared.scoring.evidence.history import BAD_OUTCOME, DECIDED
from shared.scoring.evidence.source import OWN_INPUTS
from shared.scoring.thresholds import WINDOWED


def _outcome(item: Mapping[str, Any] | None) -> tuple[bool, bool, bool] | None:
    if item is None or "status" not in item:
        return None
    status = ReferralStatus(item["status"])
    return (status in DECIDED, status in BAD_OUTCOME, bool(item.get("clawed_back")))


def change_matters(
    referral: Referral,
    pk: str,
    sk: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> bool:
    """Whether a write to an item this referral's features were computed from can change
    them: answer True whenever unsure. `before`/`after` are the item around a put (None:
    absent or unknown); an update or a delete comes with neither and always matters."""
    if after is None:
        return True
    if pk.startswith("EV#") and before is None:
        return _sighting_matters(referral, pk, after)
    if pk == keys.referral(referral.referral_id)[0] and sk == keys.referral("")[1]:
        if before is None:
            return True
        old, new = before.get("doc", {}), after.get("doc", {})
        return any(old.get(name) != new.get(name) for name in OWN_INPUTS)
    if pk.startswith("REFERRAL#") and sk == keys.referral("")[1]:
        # Another referral of the advocate: only whether it is decided and how counts.
        old_outcome = _outcome(before)
        return old_outcome is None or old_outcome != _outcome(after)
    return True


def _sighting_matters(referral: Referral, pk: str, after: Mapping[str, Any]) -> bool:
    """A new evidence-index item: a windowed kind counts only near the referral, unless it
    links to the advocate."""
    kind = EvidenceKind(pk.split("#", 2)[1])
    window = WINDOWED.get(kind)
    if window is None or kind in CROWD_KINDS:
        # The crowd features count every customer ever seen on a device or address.
        return True
    if after.get("customer_id") == referral.advocate_customer_id:
        return True
    if after.get("advocate_id") == referral.advocate_id:
        return True
    at = str(after.get("occurred_at", ""))
    return iso(referral.occurred_at - window) <= at <= iso(referral.occurred_at + window)
