"""Who is calling: the JWT claims the authorizer (or the local gateway) verified."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ROLES = frozenset({"client", "finance", "admin"})


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]


class Unauthenticated(Exception):
    pass


def _roles(raw: Any) -> frozenset[str]:
    """Roles arrive as a list, a JSON list, or API Gateway's flattened "[a b]" string."""
    if isinstance(raw, list):
        values = raw
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            parsed = json.loads(text)
            values = parsed if isinstance(parsed, list) else [parsed]
        except ValueError:
            values = text.strip("[]").replace(",", " ").split()
    else:
        values = []
    return frozenset(str(v) for v in values) & ROLES


def principal_of(event: dict[str, Any]) -> Principal:
    claims = (event.get("requestContext") or {}).get("authorizer", {}).get("jwt", {}).get("claims")
    if not claims or not claims.get("sub"):
        raise Unauthenticated("a bearer token is required")
    return Principal(subject=str(claims["sub"]), roles=_roles(claims.get("roles")))
