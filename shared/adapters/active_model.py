"""The model the pointer names, as scoring sees a judge: it follows promotions live.

Scoring holds one judge for the life of the process. This one reads the active version
at most once per `ttl` (30 s: a promotion reaches every warm function within half a
minute, for one GetItem per function per 30 s instead of one per message), loads each
version once, and delegates every call to the active version's judge. `refresh()` reads
the pointer now (the local stack calls it right after a promotion).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.scoring.decision import ModelVerdict
    from shared.scoring.drift import Histogram
    from shared.scoring.features import Features
    from shared.scoring.policy import PricedLines
    from shared.scoring.serving import ModelJudge

logger = logging.getLogger(__name__)

POINTER_TTL = timedelta(seconds=30)


class ActiveModel:
    def __init__(
        self,
        active_version: Callable[[], str | None],
        load: Callable[[str], ModelJudge],
        clock: Clock,
        ttl: timedelta = POINTER_TTL,
    ) -> None:
        self._active_version = active_version
        self._load = load
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.RLock()
        self._judges: dict[str, ModelJudge] = {}
        self._serving: ModelJudge | None = None
        self._read_at: datetime | None = None

    def refresh(self) -> ModelJudge:
        """Read the pointer now and serve what it names. If that version cannot be
        loaded, the version already serving stays (and the error is logged)."""
        with self._lock:
            self._read_at = self._clock.now()
            try:
                version = self._active_version()
                if version is None:
                    raise LookupError("no model version is active")
                judge = self._judges.get(version)
                if judge is None:
                    judge = self._judges[version] = self._load(version)
                self._serving = judge
            except Exception:
                if self._serving is None:
                    raise
                logger.exception("keeping model %s: the active one failed", self._serving.version)
            return self._serving

    def judge(self) -> ModelJudge:
        """The active version's judge, reading the pointer again once `ttl` has passed."""
        with self._lock:
            serving, read_at = self._serving, self._read_at
        if serving is None or read_at is None or self._clock.now() - read_at >= self._ttl:
            return self.refresh()
        return serving

    # --- what scoring uses of a ModelJudge ---------------------------------------------

    @property
    def version(self) -> str:
        return self.judge().version

    @property
    def feature_names(self) -> Sequence[str]:
        return self.judge().feature_names

    @property
    def review_at(self) -> float:
        return self.judge().review_at

    @property
    def reject_at(self) -> float | None:
        return self.judge().reject_at

    def row(self, features: Features) -> tuple[float, ...]:
        return self.judge().row(features)

    def verdict(self, features: Features, lines: PricedLines | None = None) -> ModelVerdict:
        return self.judge().verdict(features, lines)

    def reference_histograms(self) -> dict[str, Histogram]:
        return self.judge().reference_histograms()
