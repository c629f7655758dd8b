"""Email evidence: aliases, look-alike mailbox names and disposable domains."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Any

from shared.domain.evidence import is_disposable
from shared.pii import canonical_email, email_domain
from shared.scoring.evidence.source import EvidenceView, Found, equal, flag
from shared.scoring.thresholds import REBUILT_NAME_SIMILARITY

_NOT_A_NAME = re.compile(r"[^a-z0-9]")
_LETTERS = re.compile(r"[a-z]+")
_NOT_LETTERS = re.compile(r"[^a-z]")


def email_signals(view: EvidenceView) -> Found:
    referral, advocate = view.referral, view.advocate
    mine, theirs = referral.fingerprint, advocate.fingerprint
    similarity = email_local_similarity(referral.referee_email, advocate.email)
    alias = flag(equal(mine.email, theirs.email))
    values = {
        "email_alias": alias,
        "email_local_similarity": 1.0 if alias else similarity,
        "disposable_email": flag(mine.disposable_email or is_disposable(referral.referee_email)),
    }
    evidence: dict[str, Any] = {}
    if referral.referee_email:
        evidence["referee_email_domain"] = email_domain(referral.referee_email)
    evidence["email_similarity"] = values["email_local_similarity"]
    return Found(values, evidence)


@lru_cache(maxsize=4096)
def email_local_similarity(first: str | None, second: str | None) -> float:
    """0..1 similarity of two addresses' mailbox names, ignoring case, tags and punctuation.

    A name rebuilt from the other's name parts scores `REBUILT_NAME_SIMILARITY` at least."""
    if not first or not second:
        return 0.0
    a = _local_name(first)
    b = _local_name(second)
    if not a or not b:
        return 0.0
    ratio = round(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)
    if rebuilt_name(first, second) or rebuilt_name(second, first):
        return max(ratio, REBUILT_NAME_SIMILARITY)
    return ratio


def rebuilt_name(email: str, source: str) -> bool:
    """Whether `email`'s mailbox name, digits and punctuation aside, is made of `source`'s
    name parts (each whole or as its initial, each at most once, in any order), with at
    least two parts and one whole part of three letters or more."""
    parts = [p for p in _LETTERS.findall(_raw_local(source)) if len(p) >= 2]
    target = _NOT_LETTERS.sub("", _raw_local(email))
    if len(parts) < 2 or len(parts) > 5 or not target:
        return False
    return _built_from(target, tuple(parts), 0, False)


def _built_from(rest: str, unused: tuple[str, ...], pieces: int, whole: bool) -> bool:
    """Whether `rest` is made of `unused` parts, whole or as initials, each at most once."""
    if not rest:
        return pieces >= 2 and whole
    for i, part in enumerate(unused):
        others = unused[:i] + unused[i + 1 :]
        if rest.startswith(part) and _built_from(
            rest[len(part) :], others, pieces + 1, whole or len(part) >= 3
        ):
            return True
        if rest[0] == part[0] and _built_from(rest[1:], others, pieces + 1, whole):
            return True
    return False


def _raw_local(email: str) -> str:
    return email.lower().rpartition("@")[0].split("+", 1)[0]


def _local_name(email: str) -> str:
    local = canonical_email(email).rpartition("@")[0]
    return _NOT_A_NAME.sub("", local.split("+", 1)[0])
