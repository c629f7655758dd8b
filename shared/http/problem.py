"""RFC 9457 problem responses."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from shared.errors import FieldError

# Error path parts that name no field: validator functions and union members' tags
# (`shared.schemas.common.KIND_TAG`).
_NOT_FIELDS = ("function-", "kind:")

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://docs.referral-rewards.dev/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{TYPE_BASE}{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message, "code": e.code} for e in errors]
    if extra:
        body.update(extra)
    return body


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Pydantic errors as field paths a client can act on (`rewards.advocate.amount`)."""
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"] if not str(p).startswith(_NOT_FIELDS)]
        field = ".".join(loc) or prefix or "body"
        if prefix and loc:
            field = f"{prefix}.{field}"
        message = err["msg"].removeprefix("Value error, ")
        code = "unknown_field" if err["type"] == "extra_forbidden" else err["type"]
        out.append(FieldError(field=field, message=message, code=code))
    return out


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
