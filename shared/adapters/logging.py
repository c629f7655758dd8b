"""Structured logs that never carry personal data."""

from __future__ import annotations

import logging
import re
import sys
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
# Personal values inside free text (exception messages, provider error bodies): whatever
# looks like an email address or an IP address is masked wherever it stands.
_IN_TEXT = (
    (re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+"), "[redacted email]"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "[redacted ip]"),
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), "[redacted ip]"),
)
# The product's own modules log through the standard library; their records go through
# the same redaction as the functions' own loggers.
PRODUCT_LOGGER = "shared"


def redact_text(text: str) -> str:
    for pattern, mask in _IN_TEXT:
        text = pattern.sub(mask, text)
    return text


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in REDACTED_KEYS else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str | BaseException):
        # An exception object (a stack trace's value) is written as its text.
        return redact_text(str(value))
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: LogRecord) -> str:
        return super().serialize(redact(log))


def make_logger(service: str) -> Logger:
    """The function's logger; the product modules' standard-library logs join it."""
    _route_product_logs(service)
    return Logger(service=service, logger_formatter=RedactingFormatter())


class _StandardOutput(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is at the time (Lambda's stream, a test's capture)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def _route_product_logs(service: str) -> None:
    product = logging.getLogger(PRODUCT_LOGGER)
    if any(isinstance(h.formatter, RedactingFormatter) for h in product.handlers):
        return
    handler = _StandardOutput()
    handler.setFormatter(RedactingFormatter(service=service))
    product.addHandler(handler)
    product.setLevel(logging.INFO)
    # Not also through the root logger, whose handler (Lambda's own) would print them raw.
    product.propagate = False
