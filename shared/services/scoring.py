"""Fraud scoring of one referral: the first score after it qualifies, and a re-score.

A score is recorded with the referral's status move, the review index, the program
counters and an audit entry as one change, so a duplicate queue message or a concurrent
writer can never apply a score twice or over a newer state. The hourly sweep that
re-scores unpaid referrals is `shared.services.rescore_sweep`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.clock import Clock, iso
from shared.domain.audit import AuditEntry
from shared.domain.changes import ReferralMoved
from shared.domain.counters import Counter
from shared.domain.programs import Program
from shared.domain.referrals import Decision, Referral, ReferralStatus, Risk
from shared.domain.reviews import enter_review
from shared.errors import Conflict, NotFound
from shared.ports import BlockEntry, BlockKind, Blocklist
from shared.scoring import policy, rules
from shared.scoring.decision import decide
from shared.scoring.feature_values import Features, FeatureSource
from shared.scoring.serving import ModelJudge
from shared.services.notifications import (
    NO_NOTIFICATIONS,
    MerchantNotifications,
    scored_data,
    tell,
)

S = ReferralStatus
SCORING_ACTOR = "system:scoring"
RESCORE_ACTOR = "system:rescore"
RESCORE_TRIGGER = "rescore"
UNSCORED_TRIGGER = "rescore:unscored"
_ATTEMPTS = 3
_SEVERITY: dict[Decision, int] = {"approve": 0, "review": 1, "reject": 2}
_TARGET: dict[Decision, ReferralStatus] = {
    "approve": S.HOLDING,
    "review": S.REVIEW,
    "reject": S.REJECTED,
}


class ScoreRecords(Protocol):
    def referral(self, referral_id: str) -> Referral | None: ...

    def program(self, program_id: str) -> Program | None: ...

    def record_score(
        self, read: Referral, scored: Referral, entry: AuditEntry, counters: dict[str, int]
    ) -> None:
        """Save `scored` over `read` with its audit entry and counters, at once; raises
        `ReferralMoved` if the referral changed since it was read."""
        ...


@dataclass(frozen=True)
class ScoreOutcome:
    """What scoring one referral did (`risk` is its risk afterwards)."""

    risk: Risk | None
    written: bool = False
    move: str | None = None
    reopened: bool = False
    features: Features | None = None


def _same(first: Risk | None, second: Risk) -> bool:
    if first is None:
        return False
    return first.model_dump(exclude={"scored_at"}) == second.model_dump(exclude={"scored_at"})


def _summary(referral: Referral) -> dict[str, Any]:
    risk = referral.risk
    return {
        "status": referral.status.value,
        "risk": None
        if risk is None
        else {
            "score": str(risk.score),
            "decision": risk.decision,
            "reasons": [r.code for r in risk.reasons],
            "model_version": risk.model_version,
        },
    }


def _counters(referral: Referral, target: ReferralStatus) -> dict[str, int]:
    """The program counters a move to `target` adds to."""
    counters: dict[str, int] = {}
    if target == S.REVIEW and referral.status != S.REVIEW and referral.review_opened_at is None:
        counters[Counter.FLAGGED] = 1
    if target == S.REJECTED and referral.status != S.REJECTED:
        counters[Counter.REJECTED] = 1
    if referral.risk is None:
        counters[Counter.SCORED] = 1
    return counters


class ScoringService:
    def __init__(
        self,
        records: ScoreRecords,
        clock: Clock,
        model: ModelJudge | None,
        blocklist: Blocklist,
        extractor: FeatureSource,
        *,
        notifications: MerchantNotifications = NO_NOTIFICATIONS,
    ) -> None:
        self._notifications = notifications
        self._records = records
        self._clock = clock
        self._judge = model
        self._blocklist = blocklist
        self._extractor = extractor

    @property
    def model_version(self) -> str:
        """The model deciding with the rules, or `rules-1` when no model is trained yet."""
        return self._judge.version if self._judge is not None else rules.RULES_VERSION

    @property
    def rules_only(self) -> bool:
        return self._judge is None

    def score(self, referral_id: str, trigger: str, as_of: datetime) -> Risk | None:
        """Score a referral on the evidence up to `as_of`; None if it has not qualified.

        The first score moves `pending` to holding, review or rejected. A message for a
        referral that has been scored already is a duplicate and writes nothing; only the
        re-score trigger looks again at a scored referral.
        """
        for _ in range(_ATTEMPTS):
            referral = self._records.referral(referral_id)
            if referral is None:
                raise NotFound(f"no referral {referral_id}")
            try:
                return self.score_read(referral, trigger, as_of).risk
            except ReferralMoved:
                continue  # it changed while we scored: read it again
        raise Conflict(f"referral {referral_id} kept changing while it was scored; retry")

    def feature_snapshot(self, referral: Referral) -> dict[str, float] | None:
        """The features behind the referral's current score (kept with reviewer labels)."""
        if referral.risk is None or referral.qualified_at is None:
            return None
        features = self._extractor.extract(referral.referral_id, referral.risk.scored_at, referral)
        return dict(features.values)

    def score_read(
        self,
        referral: Referral,
        trigger: str,
        as_of: datetime,
        programs: dict[str, Program] | None = None,
    ) -> ScoreOutcome:
        """Score a referral just read (`programs` caches terms across calls). Raises
        `ReferralMoved` if it changed since it was read."""
        status = referral.status
        if status == S.PENDING:
            if referral.qualified_at is None:
                return ScoreOutcome(None)
            # The qualifying event itself is evidence, even if its clock ran a little ahead.
            as_of = max(as_of, referral.qualified_at)
            program = self.terms(referral.program_id, programs)
            features = self._extractor.extract(referral.referral_id, as_of, referral)
            risk = self._risk(referral, features, program)
            target = _TARGET[risk.decision]
            actor = RESCORE_ACTOR if trigger == UNSCORED_TRIGGER else SCORING_ACTOR
            self._write(referral, risk, target, "referral.scored", actor, trigger, as_of)
            return ScoreOutcome(risk, True, f"{status.value}->{target.value}", features=features)
        if status in (S.HOLDING, S.REVIEW) and trigger == RESCORE_TRIGGER:
            return self._rescore(referral, as_of, self.terms(referral.program_id, programs))
        # Already scored (a duplicate message), or past scoring: paid, reversed, decided.
        return ScoreOutcome(referral.risk)

    def terms(self, program_id: str, cache: dict[str, Program] | None = None) -> Program:
        """The program's terms, remembered in `cache` if given."""
        if cache is not None and program_id in cache:
            return cache[program_id]
        program = self._records.program(program_id)
        if program is None:  # pragma: no cover - referrals always name a stored program
            raise NotFound(f"no program {program_id}")
        if cache is not None:
            cache[program_id] = program
        return program

    def _rescore(self, referral: Referral, as_of: datetime, program: Program) -> ScoreOutcome:
        features = self._extractor.extract(referral.referral_id, as_of, referral)
        risk = self._risk(referral, features, program)
        status = referral.status
        if status == S.HOLDING and referral.decided_at is not None:
            # A finance decision stands unless evidence that arrived after it says more.
            if not self._worse_since_decision(referral, risk, program):
                return ScoreOutcome(referral.risk, features=features)
            self._write(
                referral, risk, S.REVIEW, "referral.reopened", RESCORE_ACTOR, RESCORE_TRIGGER, as_of
            )
            return ScoreOutcome(risk, True, "holding->review", reopened=True, features=features)
        if status == S.HOLDING:
            target = _TARGET[risk.decision]
        elif risk.decision == "reject" and not referral.approvals:
            target = S.REJECTED
        else:
            # Under review: a person decides; re-scoring only refreshes what they see.
            target = S.REVIEW
        if target == status and _same(referral.risk, risk):
            return ScoreOutcome(referral.risk, features=features)
        self._write(
            referral, risk, target, "referral.scored", RESCORE_ACTOR, RESCORE_TRIGGER, as_of
        )
        move = None if target == status else f"{status.value}->{target.value}"
        return ScoreOutcome(risk, True, move, features=features)

    def _worse_since_decision(self, referral: Referral, risk: Risk, program: Program) -> bool:
        if risk.decision == "approve" or referral.decided_at is None:
            return False
        then = self._risk(
            referral,
            self._extractor.extract(referral.referral_id, referral.decided_at, referral),
            program,
        )
        if _SEVERITY[risk.decision] > _SEVERITY[then.decision]:
            return True
        return bool({r.code for r in risk.reasons} - {r.code for r in then.reasons})

    def _risk(self, referral: Referral, features: Features, program: Program) -> Risk:
        hits = rules.evaluate(features, self._blocks(referral, features))
        verdict = None
        if self._judge is not None:
            verdict = self._judge.verdict(features, policy.lines_for(program))
        return decide(hits, verdict, auto_reject=program.auto_reject, scored_at=self._clock.now())

    def _blocks(self, referral: Referral, features: Features) -> list[BlockEntry]:
        prints = referral.fingerprint
        candidates: list[tuple[BlockKind, str | None]] = [
            ("advocate", referral.advocate_id),
            ("email_domain", prints.email_domain),
            ("device", prints.device),
            ("ip", prints.ip),
        ]
        candidates += [("payment", card) for card in features.evidence.get("payment_cards", [])]
        found = []
        for kind, value in candidates:
            if value:
                entry = self._blocklist.blocked(kind, value)
                if entry is not None:
                    found.append(entry)
        return found

    def _write(
        self,
        referral: Referral,
        risk: Risk,
        target: ReferralStatus,
        action: str,
        actor: str,
        trigger: str,
        as_of: datetime,
    ) -> None:
        now = self._clock.now()
        if target == S.REVIEW:
            updated = enter_review(referral, now, risk=risk)
        else:
            updated = referral.move(target, now, risk=risk)
        entry = AuditEntry.record(
            now,
            actor,
            action,
            referral_id=referral.referral_id,
            program_id=referral.program_id,
            before=_summary(referral),
            after=_summary(updated),
            details={"trigger": trigger, "as_of": iso(as_of), "model_version": risk.model_version},
        )
        self._records.record_score(referral, updated, entry, _counters(referral, target))
        if action == "referral.scored":
            tell(
                self._notifications,
                "referral.scored",
                updated.program_id,
                scored_data(updated),
                now,
            )
