"""Domain errors; the HTTP layer maps each to a problem+json status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str = "invalid"


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class InvalidRequest(DomainError):
    """The request is well-formed but names things that cannot be (422, with field errors)."""

    status = 422
    title = "Validation failed"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def field(cls, field: str, message: str, code: str = "invalid") -> InvalidRequest:
        return cls([FieldError(field, message, code)])


class Deferred(Exception):
    """Not now: leave the queue message and deliver it again after `delay_seconds`."""

    def __init__(self, delay_seconds: float, reason: str) -> None:
        super().__init__(f"{reason} (retry in {delay_seconds:g}s)")
        self.delay_seconds = delay_seconds
        self.reason = reason


class InvalidCursor(ValueError):
    """A pagination cursor that the table did not issue."""
