"""Who is calling: the JWT claims the authorizer (or the local gateway) verified.

`roles` says what the caller may do; `programs`, when the token has it, the only programs
its client calls reach (see `shared.http.scope`). Without it a client token is the
merchant's backend key for every program.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ROLES = frozenset({"client", "finance", "admin"})


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    programs: frozenset[str] | None = None


class Unauthenticated(Exception):
    pass


def _claim_list(raw: Any) -> frozenset[str]:
    """A list claim arrives as a list, a JSON list, or API Gateway's flattened "[a b]"."""
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
    return frozenset(str(v) for v in values)


def principal_of(event: dict[str, Any]) -> Principal:
    claims = (event.get("requestContext") or {}).get("authorizer", {}).get("jwt", {}).get("claims")
    if not claims or not claims.get("sub"):
        raise Unauthenticated("a bearer token is required")
    # A `programs` claim of any shape limits the token; one that parses to nothing reaches
    # no program (never all of them).
    programs = _claim_list(claims["programs"]) if "programs" in claims else None
    return Principal(
        subject=str(claims["sub"]),
        roles=_claim_list(claims.get("roles")) & ROLES,
        programs=programs,
    )
