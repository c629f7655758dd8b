"""Finance review: the open-review queue, the evidence behind one review, decisions, and the
daily job that resolves reviews nobody decided in time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.clock import Clock, iso, parse_iso
from shared.domain.advocates import Advocate
from shared.domain.audit import AuditEntry
from shared.domain.evidence import EvidenceKind
from shared.domain.programs import Program
from shared.domain.referrals import Reason, Referral, ReferralStatus, Risk
from shared.domain.reviews import (
    TIMEOUT_ACTOR,
    DecisionOutcome,
    OpenReview,
    ReviewDecision,
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
from shared.pii import PiiHasher
from shared.repositories import keys
from shared.repositories.advocates import AdvocateRepository
from shared.repositories.audit import AuditLog
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository
from shared.repositories.reviews import LabelStore, ReviewFilter, ReviewIndex
from shared.repositories.rewards import RewardRepository
from shared.repositories.scoring_evidence import ScoringEvidence
from shared.repositories.stats import Counter, ProgramCounters
from shared.scoring import rules
from shared.scoring.features import FeatureExtractor
from shared.storage.table import ConditionFailed, Item, Table, WriteOp

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


def scored_features(table: Table, hasher: PiiHasher) -> FeatureSnapshot:
    """The features the scorer saw: recomputed as of the score's time, which replays them."""
    extractor = FeatureExtractor(ScoringEvidence(table), hasher)

    def snapshot(referral: Referral) -> dict[str, float] | None:
        if referral.risk is None or referral.qualified_at is None:
            return None
        features = extractor.extract(referral.referral_id, referral.risk.scored_at, referral)
        return dict(features.values)

    return snapshot


class ReviewService:
    def __init__(self, table: Table, clock: Clock, features: FeatureSnapshot = no_features) -> None:
        self._table = table
        self._clock = clock
        self._features = features
        self._referrals = ReferralRepository(table)
        self._programs = ProgramRepository(table)
        self._advocates = AdvocateRepository(table)
        self._audit = AuditLog(table)
        self._index = ReviewIndex(table)
        self._labels = LabelStore(table)
        self._ledger = RewardRepository(table)

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
        total = rewards_total(program, self._rewarded(referral.advocate_id))
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
        self, referral: Referral, advocate: Advocate | None, events: list[Any]
    ) -> tuple[list[SharedValue], list[LinkedAccount]]:
        values: dict[tuple[str, str], None] = {}
        for kind, value in referral.fingerprint.indexed().items():
            if kind in LINKING_KINDS:
                values[(kind.value, value)] = None
        for event in events:
            if event.payment_fingerprint:
                values[(EvidenceKind.PAYMENT.value, event.payment_fingerprint)] = None
        if advocate is not None:
            for kind, value in advocate.fingerprint.indexed().items():
                if kind in LINKING_KINDS:
                    values[(kind.value, value)] = None
        shared: list[SharedValue] = []
        linked: dict[str, LinkedAccount] = {}
        for kind_name, value in values:
            page = self._table.query(
                keys.evidence(kind_name, value), forward=False, limit=OBSERVATIONS_PER_VALUE
            )
            subjects = {_subject(item) for item in page.items}
            with_advocate = any(
                item["role"] == "advocate" and item["advocate_id"] == referral.advocate_id
                for item in page.items
            )
            if len(subjects) > 1:
                shared.append(
                    SharedValue(
                        kind_name, value, len(subjects), with_advocate, page.cursor is not None
                    )
                )
            for item in page.items:
                if _is_party_of(item, referral):
                    continue
                account = linked.setdefault(
                    _subject(item),
                    LinkedAccount(
                        subject_id=_subject(item),
                        role=item["role"],
                        referral_id=item.get("referral_id"),
                        advocate_id=item["advocate_id"],
                        customer_id=item["customer_id"],
                        program_id=item["program_id"],
                        status=None,
                    ),
                )
                if kind_name not in account.via:
                    account.via.append(kind_name)
                seen = parse_iso(item["occurred_at"])
                if account.first_seen is None or seen < account.first_seen:
                    account.first_seen = seen
        shown = sorted(linked.values(), key=lambda a: (-len(a.via), a.subject_id))
        shown = shown[:LINKED_ACCOUNTS_SHOWN]
        for account in shown:
            if account.referral_id:
                other = self._referrals.get(account.referral_id)
                account.status = other.status.value if other else None
        shared.sort(key=lambda s: (-s.parties, s.kind))
        return shared, shown

    def _timeline(self, referral: Referral, events: list[Any]) -> list[TimelineEntry]:
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
        total = rewards_total(program, self._rewarded(referral.advocate_id))
        needed = approvals_needed(program, total)
        now = self._clock.now()
        outcome = decide(referral, decision, actor=actor, at=now, needed=needed, note=note)
        details: dict[str, Any] = {
            "decision": decision,
            "approvals_needed": needed,
            "rewards_total": f"{total:f}",
        }
        ops = self._decision_ops(referral, outcome, actor, now, note, details)
        if outcome.final:
            ops.append(self._labels.put_op(self._label(referral, outcome.referral, decision, now)))
        self._write(ops, referral_id)
        return Decided(outcome.referral, needed, outcome.final)

    def _decision_ops(
        self,
        before: Referral,
        outcome: DecisionOutcome,
        actor: str,
        at: datetime,
        note: str | None,
        details: dict[str, Any],
    ) -> list[WriteOp]:
        after = outcome.referral
        ops: list[WriteOp] = [
            self._referrals.save_op(after, before.version),
            self._audit.entry_op(
                AuditEntry(
                    entry_id=new_id("aud"),
                    at=at,
                    actor=actor,
                    action=outcome.action,
                    referral_id=after.referral_id,
                    program_id=after.program_id,
                    before=_review_state(before),
                    after=_review_state(after),
                    note=note,
                    details=details,
                )
            ),
            *self._index.sync_ops(after, was_in_review=True),
        ]
        if after.status == ReferralStatus.REJECTED:
            ops.append(ProgramCounters.add_op(after.program_id, {Counter.REJECTED: 1}))
        return ops

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

    def _write(self, ops: list[WriteOp], referral_id: str) -> None:
        try:
            self._table.write(ops)
        except ConditionFailed as exc:
            if exc.index == 0:
                raise ReviewChanged(
                    f"referral {referral_id} changed while you decided; read it again"
                ) from exc
            raise

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
        total = rewards_total(program, self._rewarded(referral.advocate_id))
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
        ops = self._decision_ops(
            referral, outcome, TIMEOUT_ACTOR, now, outcome.referral.decision_note, details
        )
        try:
            self._table.write(ops)
        except ConditionFailed:
            # Decided or re-scored meanwhile: the next run sees its new state.
            report.skipped += 1
            return
        report.expired += 1
        if outcome.referral.status == ReferralStatus.HOLDING:
            report.approved += 1
        else:
            report.rejected += 1

    def _repair_index(self, referral: Referral, report: ExpiryReport) -> None:
        item = self._index.get(referral.referral_id)
        if item is None or int(item.get("referral_version", 0)) != referral.version:
            current = self._referrals.get(referral.referral_id)
            if current is not None and current.status == ReferralStatus.REVIEW:
                self._table.write([self._index.put_op(current)])
                report.index_repaired += 1

    def _remove_stale_index_items(self, in_review: set[str], report: ExpiryReport) -> None:
        for item in self._index.all_open():
            referral_id = item["doc"]["referral_id"]
            if referral_id in in_review:
                continue
            current = self._referrals.get(referral_id)
            if current is None or current.status != ReferralStatus.REVIEW:
                self._table.write([self._index.delete_op(referral_id)])
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


def _subject(item: Item) -> str:
    return str(item.get("referral_id") or item["advocate_id"])


def _is_party_of(item: Item, referral: Referral) -> bool:
    """The referral itself and its own advocate are not "linked accounts" of it."""
    if item.get("referral_id") == referral.referral_id:
        return True
    return item["role"] == "advocate" and item["advocate_id"] == referral.advocate_id


def _review_state(referral: Referral) -> dict[str, Any]:
    return {
        "status": referral.status.value,
        "approvals": [{"by": a.by, "at": iso(a.at)} for a in referral.approvals],
        "version": referral.version,
    }


def _audit_summary(entry: AuditEntry) -> str:
    words = entry.action.replace(".", " ").replace("_", " ")
    return f"{words[:1].upper()}{words[1:]} by {entry.actor}"
