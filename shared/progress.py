"""Progress of long commands: a bar on a terminal, plain periodic lines elsewhere (CI logs).

Tooling only (training, backtests, exports, evaluations): serving code never imports it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

T = TypeVar("T")

# Off a terminal, one line every this many seconds keeps a CI log readable (a 10-minute
# backtest writes ~20 lines) while showing it is alive.
PLAIN_EVERY_S = 30.0


def progress(
    items: Iterable[T],
    *,
    total: int | None = None,
    desc: str,
    unit: str = "it",
    stream: IO[str] | None = None,
) -> Iterator[T]:
    """Yield `items`, showing how far along they are on `stream` (standard error)."""
    out = stream or sys.stderr
    if out.isatty():
        from tqdm import tqdm

        yield from tqdm(items, total=total, desc=desc, unit=unit, file=out, dynamic_ncols=True)
        return
    yield from _plain(items, total, desc, unit, out)


def _plain(
    items: Iterable[T], total: int | None, desc: str, unit: str, out: IO[str]
) -> Iterator[T]:
    started = last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= PLAIN_EVERY_S:
            last = now
            print(
                f"{desc}: {_count(done, total)} {unit} ({now - started:.0f} s)",
                file=out,
                flush=True,
            )
    print(
        f"{desc}: {_count(done, total)} {unit}, done in {time.monotonic() - started:.0f} s",
        file=out,
        flush=True,
    )


def _count(done: int, total: int | None) -> str:
    return f"{done}/{total}" if total else str(done)
