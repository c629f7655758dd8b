"""Fault-injecting proxies over the ports, driven by one seeded `InjectionPlan`.

The proxies count every call per site (also when disarmed, which is how a clean run
measures how often each site is called) and inject the plan's fault at the chosen calls.
A crash is a `WorkerCrash`, a `BaseException`: a process that dies cannot be caught by the
code it was running, so not even an `except Exception` in the product may swallow it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from shared.payouts.port import ProviderTimeout
from shared.payouts.sandbox_faults import Fault
from shared.storage.table import ConditionFailed, Item, NotExists, Page, Table, WriteOp
from tests.fault.sites import SITES, Site


class WorkerCrash(BaseException):
    """The worker process died here."""


@dataclass(frozen=True)
class InjectionPlan:
    site: str
    fault: str
    at_calls: frozenset[int]
    seed: int


@dataclass
class Injector:
    """Which call of which site meets the fault; what was injected."""

    plan: InjectionPlan | None = None
    armed: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    injected: int = 0
    _due: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.plan is not None:
            self._due = set(self.plan.at_calls)

    def due(self, site: str, eligible: Callable[[str], bool] = lambda _: True) -> str | None:
        """The fault to inject into this call of `site`, if any. A fault that cannot
        happen on this call (a condition failure on an unconditional write) waits for
        the next call it can happen on."""
        if not self.armed:
            return None
        self.calls[site] += 1
        plan = self.plan
        if plan is None or plan.site != site or not eligible(plan.fault):
            return None
        ready = [n for n in self._due if n <= self.calls[site]]
        if not ready:
            return None
        self._due.discard(min(ready))
        self.injected += 1
        return plan.fault

    @property
    def exhausted(self) -> bool:
        return not self._due


def _site(name: str) -> Site:
    return next(s for s in SITES if s.name == name)


# --- the table --------------------------------------------------------------------------


def throttled(operation: str) -> ClientError:
    """What boto3 raises when DynamoDB throttles a request past its own retries."""
    error = {
        "Code": "ProvisionedThroughputExceededException",
        "Message": "The level of configured provisioned throughput for the table was exceeded.",
    }
    return ClientError({"Error": error}, operation)


def _refusable(ops: Sequence[WriteOp]) -> int | None:
    """The operation a concurrent writer could have made fail: the first one guarded by
    more than create-once (a version, a budget), else the first guarded at all."""
    guarded = [i for i, op in enumerate(ops) if op.condition is not None]
    for index in guarded:
        if not isinstance(ops[index].condition, NotExists):
            return index
    return guarded[0] if guarded else None


class FaultyTable:
    """`Table` whose write methods (as the Protocol declares them) meet the plan's faults."""

    def __init__(
        self, inner: Table, injector: Injector, after_write: Callable[[], None] = lambda: None
    ) -> None:
        self.inner = inner
        self._injector = injector
        self._after_write = after_write

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        return self.inner.get(pk, sk, consistent=consistent)

    def query(self, pk: str, **kwargs: Any) -> Page:
        return self.inner.query(pk, **kwargs)

    def write(self, ops: Sequence[WriteOp]) -> None:
        def eligible(fault: str) -> bool:
            return fault != "condition_failed" or _refusable(ops) is not None

        fault = self._injector.due("Table.write", eligible)
        if fault == "crash_before":
            raise WorkerCrash("before Table.write")
        if fault == "throttled":
            raise throttled("TransactWriteItems" if len(ops) > 1 else "PutItem")
        if fault == "condition_failed":
            index = _refusable(ops)
            assert index is not None
            raise ConditionFailed(index, ops[index])
        self.inner.write(ops)
        self._after_write()
        if fault == "crash_after":
            raise WorkerCrash("after Table.write")


# --- the queues -------------------------------------------------------------------------


class FaultyQueue:
    """A queue port (scoring or reward) whose sends meet the plan's faults. A message
    sent out of order is held back and goes out after the next send, or at `flush`."""

    def __init__(self, inner: Any, port: type, injector: Injector) -> None:
        self.inner = inner
        self._port = port.__name__
        self._injector = injector
        self._held: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Callable[..., None]:
        site = f"{self._port}.{method}"
        if site not in {s.name for s in SITES}:
            raise AttributeError(method)

        def send(*args: Any, **kwargs: Any) -> None:
            fault = self._injector.due(site)
            if fault == "crash_before":
                raise WorkerCrash(f"before {site}")
            if fault == "out_of_order":
                self._held.append((method, args, kwargs))
                return
            copies = 5 if fault == "duplicate_x5" else 1
            for _ in range(copies):
                getattr(self.inner, method)(*args, **kwargs)
            self.flush()
            if fault == "crash_after":
                raise WorkerCrash(f"after {site}")

        return send

    def flush(self) -> None:
        held, self._held = self._held, []
        for method, args, kwargs in held:
            getattr(self.inner, method)(*args, **kwargs)

    @property
    def holding(self) -> bool:
        return bool(self._held)


# --- the providers ----------------------------------------------------------------------


class FaultyProvider:
    """A `PayoutProvider` whose calls meet the plan's faults; errors are the sandbox's own."""

    def __init__(self, inner: Any, injector: Injector) -> None:
        self.inner = inner
        self._injector = injector
        # Which reward each key was asked to pay, as the requests said (not as the key
        # reads), so two keys paying one reward are seen whatever form they take.
        self.reward_of_key: dict[str, str] = {}

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def __getattr__(self, method: str) -> Callable[..., Any]:
        site = f"PayoutProvider.{method}"
        if site not in {s.name for s in SITES}:
            return getattr(self.inner, method)
        call = getattr(self.inner, method)
        writes = _site(site).kind == "provider_write"

        def invoke(*args: Any, **kwargs: Any) -> Any:
            if writes:
                request = args[0] if args else next(iter(kwargs.values()))
                self.reward_of_key[request.idempotency_key] = request.reward_id
            fault = self._injector.due(site)
            if fault is None:
                return call(*args, **kwargs)
            before = {
                "error_5xx_before": Fault.error_5xx_before_processing(),
                "error_5xx": Fault.error_5xx_before_processing(),
                "rate_limited": Fault.rate_limit(),
            }
            if fault in before:
                raise before[fault].error(self.name)
            if fault == "timeout":
                raise ProviderTimeout("no answer in time", provider=self.name)
            call(*args, **kwargs)
            if fault == "crash_after":
                raise WorkerCrash(f"after {site}")
            after = {
                "lost_response": Fault.timeout_after_processing(),
                "error_5xx_after": Fault.error_5xx_after_processing(),
            }
            assert writes and fault in after, fault
            raise after[fault].error(self.name)

        return invoke
