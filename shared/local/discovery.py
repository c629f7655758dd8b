"""`.local/stack.json`: how CLI commands find the stack running from this checkout."""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path
from typing import Any

from shared.local.paths import runtime_dir, write_private

FILENAME = "stack.json"


def discovery_path(root: Path | None = None) -> Path:
    return runtime_dir(root) / FILENAME


def write_discovery(root: Path, info: dict[str, Any]) -> dict[str, Any] | None:
    """Write stack.json; returns what it said before, for `remove_discovery`."""
    previous = read_discovery(root)
    write_private(discovery_path(root), json.dumps(info, indent=2) + "\n")
    return previous


def read_discovery(root: Path | None = None) -> dict[str, Any] | None:
    try:
        info = json.loads(discovery_path(root).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return info if isinstance(info, dict) else None


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return a is not None and b is not None and all(a.get(k) == b.get(k) for k in ("pid", "port"))


def _answers(info: dict[str, Any]) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(info["port"])), timeout=0.5):
            return True
    except (KeyError, ValueError, OSError):
        return False


def remove_discovery(
    root: Path, info: dict[str, Any], previous: dict[str, Any] | None = None
) -> None:
    """Unlist this stack, handing stack.json back to the stack it replaced if that one's
    process still runs (a test stack started beside `make run`, say). A file that no
    longer describes this stack is left alone."""
    if not _same(read_discovery(root), info):
        return
    if previous is not None and not _same(previous, info) and _answers(previous):
        write_discovery(root, previous)
        return
    with contextlib.suppress(FileNotFoundError):
        discovery_path(root).unlink()
