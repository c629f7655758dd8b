"""Structured logs that never carry personal data."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import LogRecord

REDACTED_KEYS = frozenset(
    {
        "email",
        "referee_email",
        "ip",
        "source_ip",
        "sourceip",
        "device_id",
        "user_agent",
        "useragent",
        "payment_fingerprint",
        "authorization",
        "body",
    }
)
MASK = "[redacted]"


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in REDACTED_KEYS else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: LogRecord) -> str:
        return super().serialize(redact(log))


def make_logger(service: str) -> Logger:
    return Logger(service=service, logger_formatter=RedactingFormatter())
