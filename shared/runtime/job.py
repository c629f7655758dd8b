"""A scheduled function: the clock, the logger and the metrics, so the handler is one call.

The scheduled event's `time` is "now", so a manual run (`rewards run <job> --now ...`)
acts at a chosen moment; without one the clock says. The function's remaining time is
offered to the work, which stops between items before the timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.logging import make_logger
from shared.clock import Clock, parse_iso

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@dataclass(frozen=True)
class Run:
    """One invocation of a job, as the work sees it."""

    now: datetime
    logger: Logger
    context: LambdaContext
    metrics: Any | None = None

    def time_left(self) -> float:
        """Seconds this invocation has left."""
        return float(self.context.get_remaining_time_in_millis()) / 1000

    def count(self, name: str, value: float, *, unit: str = "Count") -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=name, unit=unit, value=value)

    def dimension(self, name: str, value: str) -> None:
        if self.metrics is not None:
            self.metrics.add_dimension(name=name, value=value)


class Job:
    """`Job("release").handler(work)`: `work(run)` returns the run's report (a dict), which
    is logged under `done` and returned."""

    def __init__(
        self,
        name: str,
        *,
        done: str,
        clock: Callable[[], Clock],
        metrics_namespace: Callable[[], str] | None = None,
    ) -> None:
        self.name = name
        self.logger = make_logger(name)
        self._done = done
        self._clock = clock
        self._namespace = metrics_namespace

    def handler(self, work: Callable[[Run], Mapping[str, Any]]) -> LambdaHandler:
        @self.logger.inject_lambda_context(clear_state=True)
        def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            metrics = self._metrics()
            run = Run(self._now(event), self.logger, context, metrics)
            try:
                report = dict(work(run))
            finally:
                if metrics is not None:
                    metrics.flush_metrics()
            self.logger.info(self._done, extra=report)
            return report

        return lambda_handler

    def _now(self, event: Mapping[str, Any]) -> datetime:
        when = event.get("time")
        return parse_iso(when) if isinstance(when, str) and when else self._clock().now()

    def _metrics(self) -> Any | None:
        if self._namespace is None:
            return None
        # Imported with the first run that publishes: most jobs never do.
        from aws_lambda_powertools import Metrics

        return Metrics(service=self.name, namespace=self._namespace())
