"""Finance review: the open-review queue, the evidence behind one review, decisions, and the
daily job that resolves reviews nobody decided in time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from shared.atomic_changes import Changes, UnitOfWork
from shared.clock import Clock, iso
from shared.domain.advocates import Advocate
from shared.domain.audit import AuditEntry
from shared.domain.changes import ReferralMoved
from shared.domain.counters import Counter
from shared.domain.events import ReferralEvent
from shared.domain.evidence import EvidenceKind, Observation
from shared.domain.programs import Program
from shared.domain.referrals import Reason, Referral, ReferralStatus, Risk
from shared.domain.reviews import (
    TIMEOUT_ACTOR,
    DecisionOutcome,
    OpenReview,
    ReviewDecision,
    ReviewFilter,
    ReviewLabel,
    TimeoutRejection,
    approvals_needed,
    decide,
    expire,
    review_deadline,
    rewards_total,
)
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.scoring import rules
from shared.services.notifications import (
    NO_NOTIFICATIONS,
    MerchantNotifications,
    review_decided_data,
    tell,
)
from shared.services.stores import Audit, Counters

# Evidence kinds that identify a person or a machine; domains, /24 networks and user agents
# are shared by strangers and would link everyone to everyone.
LINKING_KINDS = (
    EvidenceKind.EMAIL,
    EvidenceKind.DEVICE,
    EvidenceKind.IP,
    EvidenceKind.PAYMENT,
    EvidenceKind.CUSTOMER,
)
OBSERVATIONS_PER_VALUE = 50
LINKED_ACCOUNTS_SHOWN = 25
AUDIT_ENTRIES_SHOWN = 100

logger = logging.getLogger(__name__)

FeatureSnapshot = Callable[[Referral], dict[str, float] | None]


class Referrals(Protocol):
    def get(self, referral_id: str) -> Referral | None: ...
    def events(self, referral_id: str) -> list[ReferralEvent]: ...
    def stage_save(self, referral: Referral, expected_version: int, *, within: Changes) -> None: ...
    def with_status(
        self,
        status: ReferralStatus,
        *,
        due_before: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Referral], str | None]: ...


class Programs(Protocol):
    def get(self, program_id: str) -> Program | None: ...


class Advocates(Protocol):
    def get(self, advocate_id: str) -> Advocate | None: ...


class Sightings(Protocol):
    def latest(
        self, kind: EvidenceKind, value: str, limit: int
    ) -> tuple[list[Observation], bool]: ...


class ReviewAudit(Audit, Protocol):
    def for_referral(
        self, referral_id: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[AuditEntry], str | None]: ...


class ReviewQueue(Protocol):
    def page(
        self, where: ReviewFilter, limit: int, cursor: str | None
    ) -> tuple[list[OpenReview], str | None]: ...
    def sync(
        self, referral: Referral, *, was_in_review: bool | None = None, within: Changes
    ) -> None: ...
    def restore(self, referral: Referral) -> None: ...
    def close(self, referral_id: str) -> None: ...
    def indexed_version(self, referral_id: str) -> int | None: ...
    def open_referral_ids(self) -> list[str]: ...


class Labels(Protocol):
    def add(self, label: ReviewLabel, *, within: Changes) -> None: ...


class RewardedCounts(Protocol):
    def rewarded_referrals(self, advocate_id: str) -> tuple[int, bool]: ...


class ReviewChanged(Conflict):
    title = "Review changed"


@dataclass(frozen=True)
class Decided:
    referral: Referral
    approvals_needed: int
    final: bool


@dataclass(frozen=True)
class SharedValue:
    """One hashed device, IP, email, payment fingerprint or customer, and who used it."""

    kind: str
    value_hash: str
    parties: int
    with_advocate: bool
    truncated: bool


@dataclass
class LinkedAccount:
    subject_id: str
    role: str
    referral_id: str | None
    advocate_id: str
    customer_id: str
    program_id: str
    status: str | None
    via: list[str] = field(default_factory=list)
    first_seen: datetime | None = None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    summary: str
    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewDetail:
    referral: Referral
    program: Program
    rewards_total: Decimal
    approvals_needed: int
    deadline: datetime
    shared: list[SharedValue]
    linked: list[LinkedAccount]
    timeline: list[TimelineEntry]


@dataclass
class ExpiryReport:
    expired: int = 0
    approved: int = 0
    rejected: int = 0
    skipped: int = 0
    index_repaired: int = 0
    index_removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def no_features(_: Referral) -> dict[str, float] | None:
    return None


class ReviewService:
    def __init__(
        self,
        *,
        referrals: Referrals,
        programs: Programs,
        advocates: Advocates,
        evidence: Sightings,
        audit: ReviewAudit,
        index: ReviewQueue,
        labels: Labels,
        ledger: RewardedCounts,
        counters: Counters,
        units: UnitOfWork,
        clock: Clock,
        features: FeatureSnapshot = no_features,
        notifications: MerchantNotifications = NO_NOTIFICATIONS,
    ) -> None:
        self._notifications = notifications
        self._referrals = referrals
        self._programs = programs
        self._advocates = advocates
        self._evidence_index = evidence
        self._audit = audit
        self._index = index
        self._labels = labels
        self._ledger = ledger
        self._counters = counters
        self._units = units
        self._clock = clock
        self._features = features

    # --- the queue ------------------------------------------------------------------------

    def open_reviews(
        self, where: ReviewFilter, limit: int, cursor: str | None
    ) -> tuple[list[OpenReview], str | None]:
        return self._index.page(where, limit, cursor)

    # --- one review -------------------------------------------------------------------------

    def detail(self, referral_id: str) -> ReviewDetail:
        referral = self._referral(referral_id)
        program = self._program(referral.program_id)
        advocate = self._advocates.get(referral.advocate_id)
        total = rewards_total(program, self._rewarded(referral.advocate_id), referral.variant)
        events = self._referrals.events(referral_id)
        shared, linked = self._evidence(referral, advocate, events)
        return ReviewDetail(
            referral=referral,
            program=program,
            rewards_total=total,
            approvals_needed=approvals_needed(program, total),
            deadline=review_deadline(referral, program),
            shared=shared,
            linked=linked,
            timeline=self._timeline(referral, events),
        )

    def _evidence(
        self, referral: Referral, advocate: Advocate | None, events: list[ReferralEvent]
    ) -> tuple[list[SharedValue], list[LinkedAccount]]:
        shared: list[SharedValue] = []
        linked: dict[str, LinkedAccount] = {}
        for kind, value in _linking_values(referral, advocate, events):
            seen, truncated = self._evidence_index.latest(kind, value, OBSERVATIONS_PER_VALUE)
            subjects = {_subject(obs) for obs in seen}
            with_advocate = any(
                obs.role == "advocate" and obs.advocate_id == referral.advocate_id for obs in seen
            )
            if len(subjects) > 1:
                shared.append(
                    SharedValue(kind.value, value, len(subjects), with_advocate, truncated)
                )
            for obs in seen:
                if not _is_party_of(obs, referral):
                    _link(linked, obs)
        shown = sorted(linked.values(), key=lambda a: (-len(a.via), a.subject_id))
        shown = shown[:LINKED_ACCOUNTS_SHOWN]
        for account in shown:
            if account.referral_id:
                other = self._referrals.get(account.referral_id)
                account.status = other.status.value if other else None
        shared.sort(key=lambda s: (-s.parties, s.kind))
        return shared, shown

    def _timeline(self, referral: Referral, events: list[ReferralEvent]) -> list[TimelineEntry]:
        entries = [
            TimelineEntry(
                at=referral.occurred_at,
                kind="referral",
                summary=f"Referral recorded with code {referral.referral_code}",
            )
        ]
        for event in events:
            words = [event.type.capitalize(), event.order_id or ""]
            if event.amount is not None:
                words.append(f"{event.amount} {event.currency}")
            if event.qualifying:
                words.append("(qualifying)")
            entries.append(
                TimelineEntry(
                    at=event.occurred_at,
                    kind="event",
                    summary=" ".join(w for w in words if w),
                    details={"order_id": event.order_id, "qualifying": event.qualifying},
                )
            )
        audit, _ = self._audit.for_referral(referral.referral_id, limit=AUDIT_ENTRIES_SHOWN)
        scored_in_audit = any(e.action.startswith("referral.scored") for e in audit)
        if referral.risk is not None and not scored_in_audit:
            risk = referral.risk
            entries.append(
                TimelineEntry(
                    at=risk.scored_at,
                    kind="scoring",
                    summary=f"Scored {risk.score} ({risk.decision}) by {risk.model_version}",
                    details={"reasons": [r.code for r in risk.reasons]},
                )
            )
        for entry in audit:
            entries.append(
                TimelineEntry(
                    at=entry.at,
                    kind="scoring" if entry.action.startswith("referral.scored") else "audit",
                    summary=_audit_summary(entry),
                    actor=entry.actor,
                    details={"action": entry.action, "note": entry.note},
                )
            )
        return sorted(entries, key=lambda e: e.at)

    # --- decisions --------------------------------------------------------------------------

    def decide(
        self, referral_id: str, decision: ReviewDecision, note: str | None, actor: str
    ) -> Decided:
        referral = self._referral(referral_id)
        program = self._program(referral.program_id)
        total = rewards_total(program, self._rewarded(referral.advocate_id), referral.variant)
        needed = approvals_needed(program, total)
        now = self._clock.now()
        outcome = decide(referral, decision, actor=actor, at=now, needed=needed, note=note)
        details: dict[str, Any] = {
            "decision": decision,
            "approvals_needed": needed,
            "rewards_total": f"{total:f}",
        }
        changes = self._units.begin()
        self._stage_decision(referral, outcome, actor, now, note, details, within=changes)
        if outcome.final:
            label = self._label(referral, outcome.referral, decision, now)
            self._labels.add(label, within=changes)
        try:
            changes.commit()
        except ReferralMoved as exc:
            raise ReviewChanged(
                f"referral {referral_id} changed while you decided; read it again"
            ) from exc
        if outcome.final:
            self._tell_decided(outcome.referral, decision, now, timed_out=False)
        return Decided(outcome.referral, needed, outcome.final)

    def _tell_decided(
        self, referral: Referral, decision: str, at: datetime, *, timed_out: bool
    ) -> None:
        data = review_decided_data(referral, decision, timed_out=timed_out)
        tell(self._notifications, "referral.review_decided", referral.program_id, data, at)

    def _stage_decision(
        self,
        before: Referral,
        outcome: DecisionOutcome,
        actor: str,
        at: datetime,
        note: str | None,
        details: dict[str, Any],
        *,
        within: Changes,
    ) -> None:
        after = outcome.referral
        self._referrals.stage_save(after, before.version, within=within)
        entry = AuditEntry.record(
            at,
            actor,
            outcome.action,
            referral_id=after.referral_id,
            program_id=after.program_id,
            before=_review_state(before),
            after=_review_state(after),
            note=note,
            details=details,
        )
        self._audit.append(entry, within=within)
        self._index.sync(after, was_in_review=True, within=within)
        if after.status == ReferralStatus.REJECTED:
            self._counters.count(
                after.program_id, {Counter.REJECTED: 1}, within=within, variant=after.variant
            )

    def _label(
        self, before: Referral, referral: Referral, decision: ReviewDecision, at: datetime
    ) -> ReviewLabel:
        risk = referral.risk
        deciders = [a.by for a in referral.approvals] if decision == "approve" else []
        if decision == "reject" and referral.decided_by:
            deciders = [referral.decided_by]
        try:
            features = self._features(before)
        except Exception:  # a label without features beats a decision that cannot be saved
            logger.warning("feature snapshot failed for %s", referral.referral_id, exc_info=True)
            features = None
        return ReviewLabel(
            label_id=new_id("lbl"),
            referral_id=referral.referral_id,
            program_id=referral.program_id,
            decision=decision,
            fraud=decision == "reject",
            decided_by=deciders,
            decided_at=at,
            score=risk.score if risk else None,
            model_version=risk.model_version if risk else None,
            reason_codes=[r.code for r in risk.reasons] if risk else [],
            features=features,
        )

    # --- the review-timeout job -------------------------------------------------------------

    def expire_reviews(self, now: datetime) -> ExpiryReport:
        report = ExpiryReport()
        programs: dict[str, Program | None] = {}
        in_review: set[str] = set()
        cursor: str | None = None
        while True:
            page, cursor = self._referrals.with_status(
                ReferralStatus.REVIEW, due_before=now, limit=100, cursor=cursor
            )
            for referral in page:
                in_review.add(referral.referral_id)
                if referral.program_id not in programs:
                    programs[referral.program_id] = self._programs.get(referral.program_id)
                program = programs[referral.program_id]
                if program is None:  # pragma: no cover - referrals name stored programs
                    continue
                if review_deadline(referral, program) <= now:
                    self._expire_one(referral, program, now, report)
                else:
                    self._repair_index(referral, report)
            if cursor is None:
                break
        self._remove_stale_index_items(in_review, report)
        return report

    def _expire_one(
        self, referral: Referral, program: Program, now: datetime, report: ExpiryReport
    ) -> None:
        total = rewards_total(program, self._rewarded(referral.advocate_id), referral.variant)
        needed = approvals_needed(program, total)
        firm = firm_hold_reasons(referral.risk)
        because: TimeoutRejection | None = None
        if program.review_timeout_action == "approve":
            because = "dual_approval" if needed > 1 else "firm_rule" if firm else None
        outcome = expire(referral, program, now, reject_because=because)
        details: dict[str, Any] = {
            "review_timeout_days": program.review_timeout_days,
            "review_timeout_action": program.review_timeout_action,
            "approvals_needed": needed,
            "rewards_total": f"{total:f}",
        }
        if because is not None:
            details["rejected_because"] = because
        if firm:
            details["firm_reasons"] = firm
        changes = self._units.begin()
        note = outcome.referral.decision_note
        self._stage_decision(referral, outcome, TIMEOUT_ACTOR, now, note, details, within=changes)
        try:
            changes.commit()
        except ReferralMoved:
            # Decided or re-scored meanwhile: the next run sees its new state.
            report.skipped += 1
            return
        report.expired += 1
        decided = "approve" if outcome.referral.status == ReferralStatus.HOLDING else "reject"
        self._tell_decided(outcome.referral, decided, now, timed_out=True)
        if outcome.referral.status == ReferralStatus.HOLDING:
            report.approved += 1
        else:
            report.rejected += 1

    def _repair_index(self, referral: Referral, report: ExpiryReport) -> None:
        if self._index.indexed_version(referral.referral_id) != referral.version:
            current = self._referrals.get(referral.referral_id)
            if current is not None and current.status == ReferralStatus.REVIEW:
                self._index.restore(current)
                report.index_repaired += 1

    def _remove_stale_index_items(self, in_review: set[str], report: ExpiryReport) -> None:
        for referral_id in self._index.open_referral_ids():
            if referral_id in in_review:
                continue
            current = self._referrals.get(referral_id)
            if current is None or current.status != ReferralStatus.REVIEW:
                self._index.close(referral_id)
                report.index_removed += 1

    # --- shared -----------------------------------------------------------------------------

    def _referral(self, referral_id: str) -> Referral:
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        return referral

    def _rewarded(self, advocate_id: str) -> int:
        """The advocate's rewarded referrals so far, from the ledger's counter."""
        return self._ledger.rewarded_referrals(advocate_id)[0]

    def _program(self, program_id: str) -> Program:
        program = self._programs.get(program_id)
        if program is None:  # pragma: no cover - referrals name stored programs
            raise NotFound(f"no program {program_id}")
        return program


def firm_hold_reasons(risk: Risk | None) -> list[str]:
    """The reasons of a risk that hold a payout whatever the model thinks: the rules' firm
    hits, recognised by the evidence each firm branch of shared/scoring/rules.py records."""
    if risk is None:
        return []
    return sorted({reason.code for reason in risk.reasons if _is_firm(reason)})


def _is_firm(reason: Reason) -> bool:
    evidence = reason.evidence
    if reason.code == rules.SHARED_PAYMENT:
        # A card of strangers (or passed around); the family card records links_to_advocate.
        return "referrals_7d" in evidence
    if reason.code == rules.REFERRER_REVERSALS:
        # A pattern of clawbacks; a high reversal rate records reversal_rate_percent.
        return "clawed_back_referrals" in evidence
    if reason.code == rules.EMAIL_ALIAS:
        # A near-identical name at another provider; names rebuilt from the advocate's
        # parts (95%, "name parts") are a hint only.
        similarity = evidence.get("similarity_percent")
        return (
            isinstance(similarity, int | float)
            and similarity >= rules.NEAR_IDENTICAL_EMAIL * 100
            and "name parts" not in reason.message
        )
    return False


def _linking_values(
    referral: Referral, advocate: Advocate | None, events: list[ReferralEvent]
) -> list[tuple[EvidenceKind, str]]:
    """The values that can link the referral to other accounts: its own, its payments' and
    its advocate's, each once, in that order."""
    values: dict[tuple[EvidenceKind, str], None] = {}
    for kind, value in referral.fingerprint.indexed().items():
        if kind in LINKING_KINDS:
            values[(kind, value)] = None
    for event in events:
        if event.payment_fingerprint:
            values[(EvidenceKind.PAYMENT, event.payment_fingerprint)] = None
    if advocate is not None:
        for kind, value in advocate.fingerprint.indexed().items():
            if kind in LINKING_KINDS:
                values[(kind, value)] = None
    return list(values)


def _link(linked: dict[str, LinkedAccount], obs: Observation) -> None:
    """Note that the observation's subject shares the observed value."""
    subject = _subject(obs)
    account = linked.setdefault(
        subject,
        LinkedAccount(
            subject_id=subject,
            role=obs.role,
            referral_id=obs.referral_id,
            advocate_id=obs.advocate_id,
            customer_id=obs.customer_id,
            program_id=obs.program_id,
            status=None,
        ),
    )
    if obs.kind.value not in account.via:
        account.via.append(obs.kind.value)
    if account.first_seen is None or obs.occurred_at < account.first_seen:
        account.first_seen = obs.occurred_at


def _subject(obs: Observation) -> str:
    return obs.referral_id or obs.advocate_id


def _is_party_of(obs: Observation, referral: Referral) -> bool:
    """The referral itself and its own advocate are not "linked accounts" of it."""
    if obs.referral_id == referral.referral_id:
        return True
    return obs.role == "advocate" and obs.advocate_id == referral.advocate_id


def _review_state(referral: Referral) -> dict[str, Any]:
    return {
        "status": referral.status.value,
        "approvals": [{"by": a.by, "at": iso(a.at)} for a in referral.approvals],
        "version": referral.version,
    }


def _audit_summary(entry: AuditEntry) -> str:
    words = entry.action.replace(".", " ").replace("_", " ")
    return f"{words[:1].upper()}{words[1:]} by {entry.actor}"
