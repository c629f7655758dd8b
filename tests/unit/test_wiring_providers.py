"""A process builds one payout provider per reward kind, also when two fulfilment batches
ask for it at the same moment (two in-memory sandboxes would each keep half the orders)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from shared import wiring
from shared.adapters import payout_providers
from shared.storage.memory_table import MemoryTable


@pytest.fixture
def fresh_wiring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TABLE_NAME", "rewards-test")
    monkeypatch.setenv("PII_KEY_PARAMETER", "/rewards/pii")
    wiring.reset()
    wiring.install(table=MemoryTable())
    yield
    wiring.reset()


def test_two_batches_asking_at_once_share_one_provider(
    fresh_wiring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a provider that takes a while to build: both askers would be inside at once
    # unless building is one at a time (the barrier lets a second builder in, if any)
    builders = threading.Barrier(2, timeout=0.5)
    built: list[object] = []

    def slow_build(kind: str, *args: Any, **kwargs: Any) -> object:
        with contextlib.suppress(threading.BrokenBarrierError):
            builders.wait()
        provider = object()
        built.append(provider)
        return provider

    monkeypatch.setattr(payout_providers, "provider_from_environment", slow_build)
    seen: list[object] = []

    # When two threads ask for the donation provider at the same moment
    threads = [
        threading.Thread(target=lambda: seen.append(wiring.payout_provider("charity_donation")))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then one provider was built and both got it
    assert len(built) == 1
    assert seen[0] is seen[1] is built[0]
