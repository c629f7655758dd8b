"""The hourly re-score: every unpaid referral scored again on the evidence that has
arrived since, and qualified referrals whose scoring message was lost picked up.

Each referral is scored by `ScoringService`; the sweep decides which referrals to look
at, in which order, and reports what changed and how the features drifted.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.clock import iso
from shared.domain.changes import ReferralMoved
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.services.drift_monitor import DriftMonitor
from shared.services.scoring import RESCORE_TRIGGER, UNSCORED_TRIGGER, ScoringService

S = ReferralStatus
# A qualified referral still unscored this long after qualifying lost its queue message.
LOST_MESSAGE_GRACE = timedelta(minutes=15)
LOST_MESSAGE_LOOKBACK = timedelta(days=7)
# Statuses with no way back to holding or review.
_NEVER_RESCORED = frozenset({S.REWARDING, S.REWARDED, S.REVERSED, S.EXPIRED})


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


class UnpaidReferrals(Protocol):
    def referral(self, referral_id: str) -> Referral | None: ...

    def program_ids(self) -> list[str]: ...

    def with_status(
        self,
        status: ReferralStatus,
        program_ids: Sequence[str],
        *,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
    ) -> Iterator[Referral]: ...

    def sweep_position(self, referral: Referral) -> str:
        """Where the referral comes in a walk of its status."""
        ...


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


@dataclass
class _Run:
    """One run's state: its report, the feature rows for drift, what it has looked at."""

    as_of: datetime
    report: RescoreReport
    programs: dict[str, Program] = field(default_factory=dict)
    rows: list[list[float]] = field(default_factory=list)
    done: set[str] = field(default_factory=set)


class RescoreSweep:
    def __init__(
        self, scoring: ScoringService, referrals: UnpaidReferrals, drift: DriftMonitor
    ) -> None:
        self._scoring = scoring
        self._referrals = referrals
        self._drift = drift

    @property
    def model_version(self) -> str:
        return self._scoring.model_version

    @property
    def rules_only(self) -> bool:
        return self._scoring.rules_only

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
        run = _Run(as_of, RescoreReport(as_of=as_of, model_version=self.model_version))
        for referral in self._lost_messages(as_of):
            run.report.unscored_picked_up += 1
            self._run_one(run, referral, UNSCORED_TRIGGER)
        if candidates is not None:
            due: set[str] = set()
            if release_within is not None:
                due = self._released_before(as_of + release_within, run.programs)
            self._rescore_candidates(run, candidates, due)
        else:
            for status in (S.HOLDING, S.REVIEW):
                for referral in self._all_with_status(status):
                    self._run_one(run, referral, RESCORE_TRIGGER)
        figures = self._drift.measure(run.rows)
        run.report.drift_reference = figures.reference
        run.report.psi = figures.psi
        return run.report

    def _rescore_candidates(self, run: _Run, candidates: RescoreCandidates, due: set[str]) -> None:
        # A full run reads the holding partition, then the review one, each by status key.
        heap: list[tuple[tuple[int, str], str, Referral]] = []
        queued: set[str] = set()

        def add(referral_ids: set[str], after: tuple[int, str] | None) -> None:
            later: list[str] = []
            for referral_id in sorted(referral_ids - queued):
                referral = self._referrals.referral(referral_id)
                if referral is None or referral.status in _NEVER_RESCORED:
                    candidates.forget(referral_id)
                    continue
                if referral.status not in (S.HOLDING, S.REVIEW):
                    continue
                position = (
                    0 if referral.status == S.HOLDING else 1,
                    self._referrals.sweep_position(referral),
                )
                if referral_id in run.done or (after is not None and position <= after):
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
            self._run_one(run, referral, RESCORE_TRIGGER)
            add(candidates.take(), position)

    def _run_one(self, run: _Run, referral: Referral, trigger: str) -> None:
        if referral.referral_id in run.done:
            return  # moved into a partition read later in this run
        run.done.add(referral.referral_id)
        report = run.report
        report.examined += 1
        try:
            outcome = self._scoring.score_read(referral, trigger, run.as_of, run.programs)
        except ReferralMoved:
            report.failures[referral.referral_id] = "changed meanwhile; next run"
            return
        except Exception as exc:  # one bad referral must not stop the others
            report.failures[referral.referral_id] = f"{type(exc).__name__}: {exc}"
            return
        if outcome.features is not None:
            run.rows.append(outcome.features.row())
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
            program = self._scoring.terms(program_id, programs)
            cutoff = until - timedelta(days=program.holding_period_days)
            holding = self._referrals.with_status(S.HOLDING, [program_id], due_before=cutoff)
            due.update(referral.referral_id for referral in holding)
        return due

    def _all_with_status(self, status: ReferralStatus) -> Iterator[Referral]:
        return self._referrals.with_status(status, self._referrals.program_ids())

    def _lost_messages(self, as_of: datetime) -> Iterator[Referral]:
        """Qualified, still pending referrals: a pending referral's status key is its
        qualifying time once it qualified, so one key range finds the recent ones."""
        recent = self._referrals.with_status(
            S.PENDING,
            self._referrals.program_ids(),
            due_after=as_of - LOST_MESSAGE_LOOKBACK,
            due_before=as_of - LOST_MESSAGE_GRACE,
        )
        for referral in recent:
            if referral.qualified_at is not None and referral.risk is None:
                yield referral
