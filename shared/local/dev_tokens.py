"""Dev bearer tokens: HS256 JWTs signed with a secret generated once per checkout.

The local gateway checks them the way the HTTP API's JWT authorizer checks real ones
(signature, issuer, audience, expiry), so handlers see the same claims shape locally.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from shared.local.paths import load_or_create_secret, runtime_dir

ISSUER = "referral-rewards-local"
AUDIENCE = "referral-rewards"
ALGORITHM = "HS256"
SECRET_FILENAME = "jwt-secret"  # noqa: S105 - a file name, not a secret


class InvalidTokenError(ValueError):
    """The token would not pass the authorizer; the message says why."""


def secret_path(root: Path | None = None) -> Path:
    return runtime_dir(root) / SECRET_FILENAME


def signing_secret(root: Path | None = None) -> bytes:
    return load_or_create_secret(secret_path(root))


def mint_token(
    roles: Iterable[str],
    sub: str,
    ttl_hours: float = 24,
    root: Path | None = None,
    *,
    programs: Iterable[str] | None = None,
    issued_at: datetime | None = None,
) -> str:
    """A signed token for `sub` holding `roles`; `issued_at` lets tests mint expired ones.

    With `programs` the token reaches only those programs (the `programs` claim); without,
    a client token is the merchant's backend key for every program.
    """
    role_list = list(roles)
    if not role_list or not all(isinstance(r, str) and r for r in role_list):
        raise ValueError("a token needs at least one non-empty role")
    if not sub:
        raise ValueError("a token needs a non-empty sub")
    program_list = None if programs is None else list(programs)
    if program_list is not None and not all(isinstance(p, str) and p for p in program_list):
        raise ValueError("a program id must be a non-empty string")
    iat = (issued_at or datetime.now(UTC)).replace(microsecond=0)
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": role_list,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(iat.timestamp()),
        "exp": int((iat + timedelta(hours=ttl_hours)).timestamp()),
    }
    if program_list is not None:
        claims["programs"] = program_list
    return jwt.encode(claims, signing_secret(root), algorithm=ALGORITHM)


def verify_token(token: str, root: Path | None = None) -> dict[str, Any]:
    """The token's claims, or InvalidTokenError naming the first check it fails."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_secret(root),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("the token has expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidTokenError("the token is not signed with this checkout's secret") from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidTokenError(f"the token's audience is not {AUDIENCE!r}") from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidTokenError(f"the token's issuer is not {ISSUER!r}") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidTokenError(f"the token lacks the {exc.claim!r} claim") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidTokenError(f"the token is not a valid JWT ({exc})") from exc
    return claims
