"""Where the local stack keeps its files, and the secrets it generates once per checkout."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

RUNTIME_DIRNAME = ".local"


def repo_root() -> Path:
    """The checkout this package was imported from (the parent of the `shared` package)."""
    return Path(__file__).resolve().parents[2]


def runtime_dir(root: Path | None = None) -> Path:
    """`<root>/.local/`: git-ignored home of the dev secrets and the running stack's address."""
    return (root or repo_root()) / RUNTIME_DIRNAME


def load_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """Read a hex secret from `path`, generating it on first use.

    Creation is atomic (write a private temp file, then hard-link it into place), so two
    processes starting at once agree on one secret instead of one overwriting the other.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_bytes(nbytes).hex() + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    text = path.read_text().strip()
    try:
        value = bytes.fromhex(text)
    except ValueError as exc:
        raise ValueError(f"{path} does not hold a hex secret; delete it to regenerate") from exc
    if len(value) < 16:
        raise ValueError(f"{path} holds a secret shorter than 16 bytes; delete it to regenerate")
    return value


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable and writable by its owner only
    (0600): the stack's files name its endpoints and hold what was recorded there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    tmp.replace(path)
