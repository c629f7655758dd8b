"""Faults the sandbox providers inject, scripted or drawn from a seeded generator.

Real providers fail in ways that decide whether a reward is paid twice: a 5xx or a
timeout *after* the order was created is the dangerous one, because the caller sees an
error although the money is gone. A `FaultPlan` reproduces each of those failures on
purpose, deterministically, so tests and the local stack can exercise the recovery path.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from shared.payouts.port import (
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)

FaultKind = Literal[
    "rate_limit",
    "error_5xx_before_processing",
    "error_5xx_after_processing",
    "timeout_after_processing",
    "reject",
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after_seconds: float = 1.0
    reason: str = "recipient refused by the sandbox"

    @classmethod
    def rate_limit(cls, retry_after_seconds: float = 1.0) -> Fault:
        return cls("rate_limit", retry_after_seconds=retry_after_seconds)

    @classmethod
    def error_5xx_before_processing(cls) -> Fault:
        return cls("error_5xx_before_processing")

    @classmethod
    def error_5xx_after_processing(cls) -> Fault:
        return cls("error_5xx_after_processing")

    @classmethod
    def timeout_after_processing(cls) -> Fault:
        return cls("timeout_after_processing")

    @classmethod
    def reject(cls, reason: str = "recipient refused by the sandbox") -> Fault:
        return cls("reject", reason=reason)

    @property
    def happens_after_processing(self) -> bool:
        """The order is created and the caller still gets an error."""
        return self.kind in ("error_5xx_after_processing", "timeout_after_processing")

    def error(self, provider: str) -> ProviderError:
        if self.kind == "rate_limit":
            return ProviderRateLimited(self.retry_after_seconds, provider=provider)
        if self.kind == "reject":
            return ProviderRejected(self.reason, provider=provider)
        if self.kind == "timeout_after_processing":
            return ProviderTimeout("sandbox timeout (order was processed)", provider=provider)
        when = "after" if self.happens_after_processing else "before"
        return ProviderUnavailable(f"sandbox 503 ({when} processing)", provider=provider)


class FaultPlan:
    """Which fault, if any, each call meets.

    `script` is used first, one entry per `create_order` call (None = a clean call).
    After it runs out, each call draws from `probabilities` (fault kind -> chance,
    summing to at most 1) with a generator seeded by `seed`, so a run can be repeated.
    Lookups (`find_order`, `get_order`, `list_orders`) fail with a 503 at
    `lookup_failure_probability`, so recovery code must survive a failing lookup too.
    """

    def __init__(
        self,
        script: Iterable[Fault | None] = (),
        probabilities: Mapping[FaultKind, float] | None = None,
        *,
        retry_after_seconds: float = 1.0,
        lookup_failure_probability: float = 0.0,
        seed: int = 0,
    ) -> None:
        chances = dict(probabilities or {})
        unknown = set(chances) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        if any(p < 0 for p in chances.values()) or sum(chances.values()) > 1:
            raise ValueError("fault probabilities must be >= 0 and sum to at most 1")
        if not 0 <= lookup_failure_probability <= 1:
            raise ValueError("lookup_failure_probability must be within [0, 1]")
        self._script: deque[Fault | None] = deque(script)
        self._chances = chances
        self._retry_after = retry_after_seconds
        self._lookup_failure = lookup_failure_probability
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @classmethod
    def none(cls) -> FaultPlan:
        return cls()

    def next_create_fault(self) -> Fault | None:
        with self._lock:
            if self._script:
                return self._script.popleft()
            draw = self._random.random()
            cumulative = 0.0
            for kind, chance in self._chances.items():
                cumulative += chance
                if draw < cumulative:
                    return Fault(kind, retry_after_seconds=self._retry_after)
            return None

    def next_lookup_fault(self) -> Fault | None:
        with self._lock:
            if self._lookup_failure and self._random.random() < self._lookup_failure:
                return Fault.error_5xx_before_processing()
            return None
