"""Fraud scoring: the first score after a referral qualifies, and the hourly re-score.

Each score is written with the referral's status move, the review index, the program
counters and an audit entry in one conditional transaction, so a duplicate queue message
or a concurrent writer can never apply a score twice or over a newer state.
"""

from __future__ import annotations

import contextlib
import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.clock import Clock, iso
from shared.domain.audit import AuditEntry
from shared.domain.programs import Program
from shared.domain.referrals import Decision, Referral, ReferralStatus, Risk
from shared.domain.reviews import enter_review
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.pii import PiiHasher
from shared.ports import BlockEntry, BlockKind, Blocklist
from shared.repositories import keys
from shared.repositories.audit import AuditLog
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository, StaleReferral, status_due
from shared.repositories.reviews import ReviewIndex
from shared.repositories.stats import Counter, ProgramCounters
from shared.scoring import drift, rules
from shared.scoring.decision import decide
from shared.scoring.feature_spec import FEATURE_NAMES
from shared.scoring.features import FeatureExtractor, Features
from shared.scoring.serving import ModelJudge
from shared.storage.table import ConditionFailed, NotExists, Put, Table, WriteOp

S = ReferralStatus
SCORING_ACTOR = "system:scoring"
RESCORE_ACTOR = "system:rescore"
RESCORE_TRIGGER = "rescore"
UNSCORED_TRIGGER = "rescore:unscored"
# A qualified referral still unscored this long after qualifying lost its queue message.
LOST_MESSAGE_GRACE = timedelta(minutes=15)
LOST_MESSAGE_LOOKBACK = timedelta(days=7)
PAGE_SIZE = 100
# Rows needed before a run's features are kept as the drift reference.
MIN_REFERENCE_ROWS = 200
_ATTEMPTS = 3
_SEVERITY: dict[Decision, int] = {"approve": 0, "review": 1, "reject": 2}
# Statuses with no way back to holding or review.
_NEVER_RESCORED = frozenset({S.REWARDING, S.REWARDED, S.REVERSED, S.EXPIRED})
_TARGET: dict[Decision, ReferralStatus] = {
    "approve": S.HOLDING,
    "review": S.REVIEW,
    "reject": S.REJECTED,
}


class RescoreCandidates(Protocol):
    """Which referrals a re-score run must look at (the rest are known to be unchanged)."""

    def start_run(self) -> None:
        """A run begins (its first take may read more than the later ones)."""
        ...

    def take(self) -> set[str]:
        """Referrals whose inputs changed since the last take."""
        ...

    def put_back(self, referral_ids: Iterable[str]) -> None:
        """Referrals to hand out again at the next take."""
        ...

    def forget(self, referral_id: str) -> None:
        """The referral is past re-scoring for good (paid, reversed or expired)."""
        ...


class FeatureSource(Protocol):
    def extract(
        self, referral_id: str, as_of: datetime, referral: Referral | None = None
    ) -> Features: ...


@dataclass
class RescoreReport:
    """What one re-scoring run did, and the drift figures to publish as metrics."""

    as_of: datetime
    model_version: str
    examined: int = 0
    unchanged: int = 0
    updated: int = 0
    unscored_picked_up: int = 0
    reopened: int = 0
    moves: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    psi: dict[str, float] = field(default_factory=dict)
    drift_reference: str = "none"  # model | stored | created | none

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": iso(self.as_of),
            "model_version": self.model_version,
            "examined": self.examined,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "unscored_picked_up": self.unscored_picked_up,
            "reopened": self.reopened,
            "moves": dict(sorted(self.moves.items())),
            "failures": dict(sorted(self.failures.items())),
            "psi": dict(sorted(self.psi.items())),
            "drift_reference": self.drift_reference,
        }


@dataclass(frozen=True)
class _Outcome:
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


class ScoringService:
    def __init__(
        self,
        table: Table,
        clock: Clock,
        hasher: PiiHasher,
        model: ModelJudge | None,
        blocklist: Blocklist,
        extractor: FeatureSource | None = None,
    ) -> None:
        self._table = table
        self._clock = clock
        self._judge = model
        self._blocklist = blocklist
        self._extractor: FeatureSource = extractor or FeatureExtractor(table, hasher)
        self._referrals = ReferralRepository(table)
        self._programs = ProgramRepository(table)
        self._audit = AuditLog(table)
        self._reviews = ReviewIndex(table)

    @property
    def model_version(self) -> str:
        """The model deciding with the rules, or `rules-1` when no model is trained yet."""
        return self._judge.version if self._judge is not None else rules.RULES_VERSION

    @property
    def rules_only(self) -> bool:
        return self._judge is None

    # --- one referral -------------------------------------------------------------------------

    def score(self, referral_id: str, trigger: str, as_of: datetime) -> Risk | None:
        """Score a referral on the evidence up to `as_of`; None if it has not qualified.

        The first score moves `pending` to holding, review or rejected. A message for a
        referral that has been scored already is a duplicate and writes nothing; only the
        re-score trigger looks again at a scored referral.
        """
        for _ in range(_ATTEMPTS):
            referral = self._referrals.get(referral_id)
            if referral is None:
                raise NotFound(f"no referral {referral_id}")
            try:
                return self._score(referral, trigger, as_of).risk
            except StaleReferral:
                continue  # it changed while we scored: read it again
        raise Conflict(f"referral {referral_id} kept changing while it was scored; retry")

    def feature_snapshot(self, referral: Referral) -> dict[str, float] | None:
        """The features behind the referral's current score (kept with reviewer labels)."""
        if referral.risk is None or referral.qualified_at is None:
            return None
        features = self._extractor.extract(referral.referral_id, referral.risk.scored_at, referral)
        return dict(features.values)

    def _score(
        self,
        referral: Referral,
        trigger: str,
        as_of: datetime,
        programs: dict[str, Program] | None = None,
    ) -> _Outcome:
        status = referral.status
        if status == S.PENDING:
            if referral.qualified_at is None:
                return _Outcome(None)
            # The qualifying event itself is evidence, even if its clock ran a little ahead.
            as_of = max(as_of, referral.qualified_at)
            program = self._program(referral.program_id, programs)
            features = self._extractor.extract(referral.referral_id, as_of, referral)
            risk = self._risk(referral, features, program)
            target = _TARGET[risk.decision]
            actor = RESCORE_ACTOR if trigger == UNSCORED_TRIGGER else SCORING_ACTOR
            self._write(referral, risk, target, "referral.scored", actor, trigger, as_of)
            return _Outcome(risk, True, f"{status.value}->{target.value}", features=features)
        if status in (S.HOLDING, S.REVIEW) and trigger == RESCORE_TRIGGER:
            return self._rescore(referral, as_of, self._program(referral.program_id, programs))
        # Already scored (a duplicate message), or past scoring: paid, reversed, decided.
        return _Outcome(referral.risk)

    def _rescore(self, referral: Referral, as_of: datetime, program: Program) -> _Outcome:
        features = self._extractor.extract(referral.referral_id, as_of, referral)
        risk = self._risk(referral, features, program)
        status = referral.status
        if status == S.HOLDING and referral.decided_at is not None:
            # A finance decision stands unless evidence that arrived after it says more.
            if not self._worse_since_decision(referral, risk, program):
                return _Outcome(referral.risk, features=features)
            self._write(
                referral, risk, S.REVIEW, "referral.reopened", RESCORE_ACTOR, RESCORE_TRIGGER, as_of
            )
            return _Outcome(risk, True, "holding->review", reopened=True, features=features)
        if status == S.HOLDING:
            target = _TARGET[risk.decision]
        elif risk.decision == "reject" and not referral.approvals:
            target = S.REJECTED
        else:
            # Under review: a person decides; re-scoring only refreshes what they see.
            target = S.REVIEW
        if target == status and _same(referral.risk, risk):
            return _Outcome(referral.risk, features=features)
        self._write(
            referral, risk, target, "referral.scored", RESCORE_ACTOR, RESCORE_TRIGGER, as_of
        )
        move = None if target == status else f"{status.value}->{target.value}"
        return _Outcome(risk, True, move, features=features)

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
        verdict = self._judge.verdict(features) if self._judge is not None else None
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

    def _program(self, program_id: str, cache: dict[str, Program] | None = None) -> Program:
        if cache is not None and program_id in cache:
            return cache[program_id]
        program = self._programs.terms(program_id)
        if program is None:  # pragma: no cover - referrals always name a stored program
            raise NotFound(f"no program {program_id}")
        if cache is not None:
            cache[program_id] = program
        return program

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
        counters: dict[str, int] = {}
        if target == S.REVIEW and referral.status != S.REVIEW and referral.review_opened_at is None:
            counters[Counter.FLAGGED] = 1
        if target == S.REJECTED and referral.status != S.REJECTED:
            counters[Counter.REJECTED] = 1
        entry = AuditEntry(
            entry_id=new_id("aud"),
            at=now,
            actor=actor,
            action=action,
            referral_id=referral.referral_id,
            program_id=referral.program_id,
            before=_summary(referral),
            after=_summary(updated),
            details={"trigger": trigger, "as_of": iso(as_of), "model_version": risk.model_version},
        )
        ops: list[WriteOp] = [
            self._referrals.save_op(updated, referral.version),
            *self._reviews.sync_ops(updated, was_in_review=referral.status == S.REVIEW),
            self._audit.entry_op(entry),
        ]
        if counters:
            ops.append(ProgramCounters.add_op(referral.program_id, counters))
        try:
            self._table.write(ops)
        except ConditionFailed as exc:
            if exc.index == 0:
                raise StaleReferral(referral.referral_id) from exc
            raise

    # --- the hourly job -----------------------------------------------------------------------

    def rescore_unpaid(
        self,
        as_of: datetime,
        candidates: RescoreCandidates | None = None,
        *,
        release_within: timedelta | None = None,
    ) -> RescoreReport:
        """Score every holding and review referral again on the evidence up to `as_of`, and
        score qualified referrals whose queue message was lost. Paid referrals are never
        touched: they are past `holding`.

        With `candidates`, only the referrals it names (and those it names while the run
        goes on) are looked at, in the order a full run would take them; a caller that
        knows which referrals' inputs changed gets the full run's outcome for less.
        `release_within` (the time to the next run) adds every holding referral whose
        release falls before then, changed or not: a mark lost to a crash after its write
        is then still made up for before the referral is paid.
        """
        report = RescoreReport(as_of=as_of, model_version=self.model_version)
        programs: dict[str, Program] = {}
        rows: list[list[float]] = []
        done: set[str] = set()
        for referral in self._lost_messages(as_of):
            report.unscored_picked_up += 1
            self._run_one(referral, UNSCORED_TRIGGER, as_of, programs, report, rows, done)
        if candidates is not None:
            due: set[str] = set()
            if release_within is not None:
                due = self._released_before(as_of + release_within, programs)
            self._rescore_candidates(as_of, candidates, due, programs, report, rows, done)
            self._measure_drift(report, rows)
            return report
        for status in (S.HOLDING, S.REVIEW):
            for referral in self._all_with_status(status):
                self._run_one(referral, RESCORE_TRIGGER, as_of, programs, report, rows, done)
        self._measure_drift(report, rows)
        return report

    def _rescore_candidates(
        self,
        as_of: datetime,
        candidates: RescoreCandidates,
        due: set[str],
        programs: dict[str, Program],
        report: RescoreReport,
        rows: list[list[float]],
        done: set[str],
    ) -> None:
        # A full run reads the holding partition, then the review one, each by status key.
        heap: list[tuple[tuple[int, str], str, Referral]] = []
        queued: set[str] = set()

        def add(referral_ids: set[str], after: tuple[int, str] | None) -> None:
            later: list[str] = []
            for referral_id in sorted(referral_ids - queued):
                referral = self._referrals.get(referral_id)
                if referral is None or referral.status in _NEVER_RESCORED:
                    candidates.forget(referral_id)
                    continue
                if referral.status not in (S.HOLDING, S.REVIEW):
                    continue
                position = (0 if referral.status == S.HOLDING else 1, status_due(referral))
                if referral_id in done or (after is not None and position <= after):
                    later.append(referral_id)  # a full run has passed it: next run
                    continue
                queued.add(referral_id)
                heapq.heappush(heap, (position, referral_id, referral))
            candidates.put_back(later)

        candidates.start_run()
        add(candidates.take() | due, None)
        while heap:
            position, referral_id, referral = heapq.heappop(heap)
            queued.discard(referral_id)
            self._run_one(referral, RESCORE_TRIGGER, as_of, programs, report, rows, done)
            add(candidates.take(), position)

    def _run_one(
        self,
        referral: Referral,
        trigger: str,
        as_of: datetime,
        programs: dict[str, Program],
        report: RescoreReport,
        rows: list[list[float]],
        done: set[str],
    ) -> None:
        if referral.referral_id in done:
            return  # moved into a partition read later in this run
        done.add(referral.referral_id)
        report.examined += 1
        try:
            outcome = self._score(referral, trigger, as_of, programs)
        except StaleReferral:
            report.failures[referral.referral_id] = "changed meanwhile; next run"
            return
        except Exception as exc:  # one bad referral must not stop the others
            report.failures[referral.referral_id] = f"{type(exc).__name__}: {exc}"
            return
        if outcome.features is not None:
            rows.append(outcome.features.row())
        if not outcome.written:
            report.unchanged += 1
            return
        report.updated += 1
        report.reopened += outcome.reopened
        if outcome.move:
            report.moves[outcome.move] = report.moves.get(outcome.move, 0) + 1

    def _released_before(self, until: datetime, programs: dict[str, Program]) -> set[str]:
        """Holding referrals the release job may pay before `until`: each program's holding
        shards up to `until` minus its holding period, as the release job reads them."""
        due: set[str] = set()
        for program_id in self._referrals.program_ids():
            program = self._program(program_id, programs)
            cutoff = until - timedelta(days=program.holding_period_days)
            holding = self._referrals.each_with_status(S.HOLDING, [program_id], due_before=cutoff)
            due.update(referral.referral_id for referral in holding)
        return due

    def _all_with_status(self, status: ReferralStatus) -> Iterator[Referral]:
        return self._referrals.each_with_status(status, self._referrals.program_ids())

    def _lost_messages(self, as_of: datetime) -> Iterator[Referral]:
        """Qualified, still pending referrals: a pending referral's status key is its
        qualifying time once it qualified, so one key range finds the recent ones."""
        recent = self._referrals.each_with_status(
            S.PENDING,
            self._referrals.program_ids(),
            due_after=as_of - LOST_MESSAGE_LOOKBACK,
            due_before=as_of - LOST_MESSAGE_GRACE,
        )
        for referral in recent:
            if referral.qualified_at is not None and referral.risk is None:
                yield referral

    # --- drift --------------------------------------------------------------------------------

    def _measure_drift(self, report: RescoreReport, rows: list[list[float]]) -> None:
        references = self._judge.reference_histograms() if self._judge is not None else {}
        if references:
            report.drift_reference = "model"
        else:
            references = self._stored_reference()
            if references:
                report.drift_reference = "stored"
            elif len(rows) >= MIN_REFERENCE_ROWS:
                self._store_reference(rows)
                report.drift_reference = "created"
                return
        report.psi = drift.psi_by_feature(references, rows, FEATURE_NAMES)

    def _stored_reference(self) -> dict[str, drift.Histogram]:
        item = self._table.get(*keys.drift_reference(self.model_version))
        if item is None:
            return {}
        data = json.loads(item["histograms"])
        return {name: drift.Histogram.from_dict(h) for name, h in data.items()}

    def _store_reference(self, rows: list[list[float]]) -> None:
        """The first large enough run becomes the reference later runs are compared with."""
        histograms = {
            name: drift.reference([row[i] for row in rows]).as_dict()
            for i, name in enumerate(FEATURE_NAMES)
        }
        pk, sk = keys.drift_reference(self.model_version)
        item = {
            "pk": pk,
            "sk": sk,
            "type": "drift_reference",
            "rows": len(rows),
            "created_at": iso(self._clock.now()),
            # JSON text: DynamoDB numbers would need every float turned into a Decimal.
            "histograms": json.dumps(histograms, sort_keys=True),
        }
        # Another run may have stored one first; either is a fair reference.
        with contextlib.suppress(ConditionFailed):
            self._table.write([Put(item, NotExists())])
