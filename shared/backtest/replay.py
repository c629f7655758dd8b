"""The replay: each operation through the same services the functions use, on a simulated
clock, with the scheduled jobs run at their times.

Between operations the clock jumps to the next one; on the way it stops at every hour
boundary to re-score, and at every midnight (UTC) to expire overdue reviews, release due
referrals, pay what the release queued and reconcile with the providers. Each operation
drains the scoring queue before the next one, as a warm queue consumer would.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from shared.adapters.memory_blocklist import MemoryBlocklist
from shared.adapters.memory_queue import MemoryScoringQueue
from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.backtest.hashed import HashedInputs, KnownDigests
from shared.backtest.incremental import FootprintTracker, JournalingTable
from shared.backtest.ops import Op
from shared.bootstrap import Services, bootstrap
from shared.clock import FixedClock
from shared.domain.referrals import Referral
from shared.errors import DomainError, InvalidRequest, NotFound
from shared.payouts.sandbox import (
    SandboxCashProvider,
    SandboxCharityProvider,
    SandboxGiftCardProvider,
)
from shared.repositories.advocates import AdvocateRepository
from shared.repositories.footprints import FootprintStore
from shared.repositories.referrals import ReferralRepository
from shared.repositories.rewards import RewardRepository
from shared.repositories.scoring_evidence import ScoringEvidence
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from shared.schemas.rewards import RefundCreate, RewardEntryOut
from shared.scoring.features import FeatureExtractor
from shared.scoring.serving import ModelJudge
from shared.services.fulfilment import RetryLater
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Table

HOUR = timedelta(hours=1)
# The replay's own key: hashes never leave it, and equal inputs give equal hashes.
BACKTEST_KEY = b"backtest-pii-key-not-a-secret-00"
# Reward ids, referral ids and provider references are minted per run; a decisions file
# names referrals by (program, referee) instead, so two runs of one input are identical.
_RUN_SPECIFIC = ("reward_id", "referral_id", "program_id", "provider_reference")
_MINTED_ID = re.compile(r"\b[a-z]{3}_[0-9a-z]{26}\b")


@dataclass
class _ReferralLine:
    program: str
    referee: str
    referral_id: str | None = None
    error: dict[str, Any] | None = None


@dataclass
class BacktestResult:
    lines: list[dict[str, Any]]
    features: list[dict[str, float] | None]
    stats: dict[str, Any] = field(default_factory=dict)


def _error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, DomainError):
        return {"status": exc.status, "title": exc.title, "detail": exc.detail}
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return {"status": 422, "title": "Validation failed", "detail": f"{where}: {first['msg']}"}
    raise exc


class Backtest:
    def __init__(
        self,
        model: ModelJudge | None = None,
        *,
        table: Table | None = None,
        incremental: bool = True,
        outer: Callable[[Table], Table] | None = None,
        footprints: Callable[[Table], FootprintStore] | None = None,
        release_within: timedelta | None = None,
    ) -> None:
        """`incremental` re-scores only referrals whose inputs changed (same outcome as a
        full hourly re-score, see `shared.backtest.incremental`); off, every run looks at
        every holding and review referral, as the deployed job does. `outer` wraps the
        table every service (and the feature extractor) calls, above the replay's own
        read cache: a meter there sees each call a deployed function would make.
        `footprints` keeps the incremental re-score's footprints and marks in a store built
        on the replay's table (the deployed one, say) instead of in memory, and
        `release_within` has each run also look at holding referrals due for release that
        soon, as the deployed job does."""
        self.clock = FixedClock(datetime.fromisoformat("2000-01-01T00:00:00+00:00"))
        self.hasher = KnownDigests(BACKTEST_KEY)
        self._hashed = HashedInputs(self.hasher)
        self.tracker: FootprintTracker | None = None
        base = table if table is not None else MemoryTable()
        self.table: Table = self._tracked(base, incremental, outer, footprints)
        self.scoring_queue = MemoryScoringQueue()
        self.reward_queue = MemoryRewardQueue()
        self.blocklist = MemoryBlocklist()
        self._use(self._services(model))
        t = self.table
        self._advocate_repo = AdvocateRepository(t)
        self._referral_repo = ReferralRepository(t)
        self._reward_repo = RewardRepository(t)
        self._program_ids: dict[str, str] = {}
        self._lines: list[_ReferralLine] = []
        self._next_job: datetime | None = None
        self._release_within = release_within
        self._rescore_examined = 0
        self._counts: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._job_seconds: defaultdict[str, float] = defaultdict(float)

    def _tracked(
        self,
        store: Table,
        incremental: bool,
        outer: Callable[[Table], Table] | None,
        footprints: Callable[[Table], FootprintStore] | None,
    ) -> Table:
        """The table every service calls: `outer` around the replay's journal, whose
        writes the incremental re-score's tracker reads."""
        wrap: Callable[[Table], Table] = outer if outer is not None else (lambda t: t)
        if not incremental:
            return wrap(store)
        journal = JournalingTable(store)
        wrapped = wrap(journal)
        kept = footprints(journal.inner) if footprints is not None else None
        extractor = FeatureExtractor(ScoringEvidence(wrapped), self.hasher)
        self.tracker = FootprintTracker(extractor, journal, kept)
        return wrapped

    def _services(self, model: ModelJudge | None) -> Services:
        providers = {
            "gift_card": SandboxGiftCardProvider(clock=self.clock),
            "cash": SandboxCashProvider(clock=self.clock),
            "charity_donation": SandboxCharityProvider(clock=self.clock),
        }
        return bootstrap(
            table=self.table,
            clock=self.clock,
            hasher=self.hasher,
            providers=providers,
            reward_queue=self.reward_queue,
            scoring_queue=self.scoring_queue,
            model=model,
            blocklist=self.blocklist,
            extractor=self.tracker,
        )

    def _use(self, services: Services) -> None:
        self.programs = services.programs
        self.advocates = services.advocates
        self.referrals = services.referrals
        self.events = services.events
        self.scoring = services.scoring
        self.rescore = services.sweep
        self.refunds = services.refunds
        self.reviews = services.reviews
        self.release = services.release
        self.fulfilment = services.fulfilment()
        self.reconcile = services.reconcile

    # --- running ------------------------------------------------------------------------------

    def run(self, ops: Iterable[Op]) -> BacktestResult:
        started = time.perf_counter()
        for op in ops:
            self.apply(op)
        lines = [self._line(line) for line in self._lines]
        features = [self._features(line) for line in self._lines]
        stats = {
            "ops": dict(sorted(self._counts.items())),
            "refused": dict(sorted(self._errors.items())),
            "referrals": len(lines),
            "model_version": self.scoring.model_version,
            "feature_extractions": self.tracker.extractions if self.tracker else None,
            "rescore_examined": self._rescore_examined,
            "job_seconds": {k: round(v, 3) for k, v in sorted(self._job_seconds.items())},
            "seconds": round(time.perf_counter() - started, 3),
        }
        return BacktestResult(lines=lines, features=features, stats=stats)

    def apply(self, op: Op) -> None:
        self._run_jobs_until(op.at)
        self.clock.set(op.at)
        self._counts[op.op] += 1
        line = _ReferralLine(op.program or "", op.referee or "") if op.op == "referral" else None
        try:
            self._dispatch(op, line)
        except (DomainError, ValidationError) as exc:
            self._errors[op.op] += 1
            if line is not None:
                line.error = _error(exc)
        if line is not None:
            self._lines.append(line)
        self._drain_scoring()
        self._drain_rewards()

    def _body(self, op: Op) -> dict[str, Any]:
        """The body with raw values: for a hashed line, stand-ins (`shared.backtest.hashed`)."""
        if not op.hashed:
            return op.body
        convert = {
            "advocate": self._hashed.advocate,
            "referral": self._hashed.referral,
            "event": self._hashed.event,
        }.get(op.op)
        return convert(op.body) if convert else op.body

    def _dispatch(self, op: Op, line: _ReferralLine | None) -> None:
        at = op.at
        body = self._body(op)
        if op.op == "program":
            body = {**op.body, "occurred_at": at}
            program = self.programs.create(ProgramCreate.model_validate(body).command())
            self._program_ids[op.ref or ""] = program.program_id
            return
        program_id = self._program_id(op.program or "")
        if op.op == "advocate":
            self.advocates.enrol(
                program_id, AdvocateEnrol.model_validate({**body, "occurred_at": at}).command()
            )
        elif op.op == "referral":
            assert line is not None
            referee = body.get("referee") or {}
            line.referee = str(referee.get("customer_id", "")) if isinstance(referee, dict) else ""
            enrolment = self._advocate_repo.find_enrolment(program_id, op.advocate or "")
            body = {
                **body,
                "program_id": program_id,
                # An advocate who never enrolled has no code: intake refuses it as unknown.
                "referral_code": enrolment.referral_code if enrolment else "NOT-ENROLLED",
                "occurred_at": at,
            }
            referral = self.referrals.create(ReferralCreate.model_validate(body).command())
            line.referral_id = referral.referral_id
        elif op.op == "event":
            referral_id = self._referral_id(program_id, op.referee or "")
            self.events.record(
                referral_id, EventCreate.model_validate({**body, "occurred_at": at}).command()
            )
        elif op.op == "refund":
            referral_id = self._referral_id(program_id, op.referee or "")
            self.refunds.record(
                referral_id, RefundCreate.model_validate({**body, "occurred_at": at}).command()
            )
        else:
            referral_id = self._referral_id(program_id, op.referee or "")
            self.reviews.decide(
                referral_id, body.get("decision", ""), body.get("note"), str(body.get("by", ""))
            )

    def referral_id_of(self, program_ref: str, referee: str) -> str | None:
        """The id a replayed referral got, by its program ref and referee customer id."""
        program_id = self._program_ids.get(program_ref)
        if program_id is None:
            return None
        referral = self._referral_repo.find_by_referee(program_id, referee)
        return referral.referral_id if referral else None

    def _program_id(self, ref: str) -> str:
        program_id = self._program_ids.get(ref)
        if program_id is None:
            raise InvalidRequest.field("program", f"no program {ref!r} was created before")
        return program_id

    def _referral_id(self, program_id: str, referee: str) -> str:
        referral = self._referral_repo.find_by_referee(program_id, referee)
        if referral is None:
            raise NotFound(f"no referral of customer {referee} in this program")
        return referral.referral_id

    # --- queues and scheduled jobs ------------------------------------------------------------

    def _drain_scoring(self) -> None:
        while True:
            requests = self.scoring_queue.take()
            if not requests:
                return
            for referral_id, trigger in requests:
                self.scoring.score(referral_id, trigger, self.clock.now())

    def _drain_rewards(self) -> None:
        for _ in range(5):  # a retry-later message is tried again on the next drain
            messages = self.reward_queue.take()
            if not messages:
                return
            for _kind, message in messages:
                try:
                    self.fulfilment.fulfil(message)
                except RetryLater:
                    self.reward_queue.send_reward(_kind, message.reward_id, message.referral_id)

    def _rescore(self, moment: datetime) -> None:
        report = self.rescore.rescore_unpaid(
            moment, self.tracker, release_within=self._release_within
        )
        self._rescore_examined += report.examined

    def _run_jobs_until(self, until: datetime) -> None:
        if self._next_job is None:
            start = until.replace(minute=0, second=0, microsecond=0)
            self._next_job = start + HOUR
        while self._next_job <= until:
            moment = self._next_job
            self.clock.set(moment)
            self._timed("rescore", lambda m=moment: self._rescore(m))
            if moment.hour == 0:
                self._timed("expire_reviews", lambda m=moment: self.reviews.expire_reviews(m))
                self._timed("release", lambda m=moment: self.release.run(m))
                self._timed("fulfilment", self._drain_rewards)
                self._timed("reconcile", lambda m=moment: self.reconcile.run(m))
                self._drain_rewards()
            self._next_job = moment + HOUR

    def _timed(self, name: str, job: Any) -> None:
        started = time.perf_counter()
        job()
        self._job_seconds[name] += time.perf_counter() - started
        self._counts[f"job:{name}"] += 1

    # --- output -------------------------------------------------------------------------------

    def _line(self, line: _ReferralLine) -> dict[str, Any]:
        out: dict[str, Any] = {"program": line.program, "referee": line.referee}
        referral = self._referral_repo.get(line.referral_id) if line.referral_id else None
        if referral is None:
            out.update(status="refused", risk=None, rewards=[], error=self._named(line.error))
            return out
        out["status"] = referral.status.value
        out["risk"] = _risk(referral)
        out["rewards"] = [
            {
                k: v
                for k, v in RewardEntryOut.of(r).model_dump(mode="json").items()
                # `points` only where an entry has them: other lines stay as they were.
                if k not in _RUN_SPECIFIC and not (k == "points" and v is None)
            }
            for r in self._reward_repo.of_referral(referral.referral_id)
        ]
        return out

    def _named(self, error: dict[str, Any] | None) -> dict[str, Any] | None:
        """The error with run-specific referral ids replaced by `program/referee`."""
        if error is None:
            return None
        names = {line.referral_id: f"{line.program}/{line.referee}" for line in self._lines}

        def name(match: re.Match[str]) -> str:
            return names.get(match.group(0), "<id>")

        return {**error, "detail": _MINTED_ID.sub(name, str(error.get("detail", "")))}

    def _features(self, line: _ReferralLine) -> dict[str, float] | None:
        referral = self._referral_repo.get(line.referral_id) if line.referral_id else None
        if referral is None:
            return None
        return self.scoring.feature_snapshot(referral)


def _risk(referral: Referral) -> dict[str, Any] | None:
    risk = referral.risk
    if risk is None:
        return None
    return {
        "score": float(risk.score),
        "decision": risk.decision,
        "reasons": [r.model_dump(mode="json") for r in risk.reasons],
        "model_version": risk.model_version,
    }
