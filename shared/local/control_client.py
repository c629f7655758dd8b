"""The command line's one way to ask the local stack started from this checkout: a POST to
one of its loopback control endpoints, with a short-lived admin token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from shared.config import STACK_NAME_VARIABLE
from shared.local.dev_tokens import mint_token
from shared.local.discovery import discovery_path, read_discovery


class LocalStackUnavailable(RuntimeError):
    """No local stack is running, or none answers where its discovery file says."""


class LocalStackRefused(RuntimeError):
    """The stack answered with an error; the message is its problem detail."""


def ask_local_stack(path: str, body: bytes, *, timeout: float, actor: str = "local-cli") -> bytes:
    info = read_discovery()
    if info is None:
        raise LocalStackUnavailable(
            f"no local stack is running ({discovery_path()} not found); start one with "
            f"`rewards serve`, or set {STACK_NAME_VARIABLE} to read a deployed stack"
        )
    token = mint_token(["admin"], actor, ttl_hours=1)
    request = urllib.request.Request(  # noqa: S310 - http to our own loopback stack
        f"{info['url']}{path}",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        # Only http to our own loopback stack reaches urlopen.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            detail = json.loads(raw).get("detail") or raw.decode()
        except ValueError:
            detail = exc.reason
        raise LocalStackRefused(str(detail)) from exc
    except (urllib.error.URLError, ConnectionError) as exc:
        raise LocalStackUnavailable(
            f"no local stack answers at {info['url']} (stale {discovery_path()}?); "
            "start one with `rewards serve`"
        ) from exc
