"""The served model follows the active pointer: read at most once per 30 s, or on refresh."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.active_model import ActiveModel
from shared.adapters.model_store import DirectoryModelStore
from shared.clock import FixedClock
from shared.model_wiring import served_model
from shared.storage.memory_table import MemoryTable
from tests.support import T0


class _Judge:
    """A judge that answers with its own version, whatever the features."""

    def __init__(self, version: str) -> None:
        self.version = version

    def verdict(self, features: Any, lines: Any = None) -> str:
        priced = "" if lines is None else f" on {lines}"
        return f"verdict of {self.version}{priced}"

    def reference_histograms(self) -> dict[str, Any]:
        return {"from": self.version}


class _Versions:
    """The pointer (a plain value here) and a loader that counts each version's loads."""

    def __init__(self, active: str) -> None:
        self.active = active
        self.loads: list[str] = []
        self.broken: set[str] = set()

    def read(self) -> str:
        return self.active

    def load(self, version: str) -> Any:
        self.loads.append(version)
        if version in self.broken:
            raise RuntimeError(f"{version} cannot be loaded")
        return _Judge(version)


def _served(versions: _Versions, clock: FixedClock) -> ActiveModel:
    return ActiveModel(versions.read, versions.load, clock, ttl=timedelta(seconds=30))


def test_it_serves_the_version_the_pointer_names() -> None:
    versions = _Versions("v1")
    served = _served(versions, FixedClock(T0))

    assert served.version == "v1"
    assert served.verdict({}) == "verdict of v1"  # type: ignore[arg-type]
    assert served.reference_histograms() == {"from": "v1"}


def test_the_served_verdict_is_judged_on_the_programs_priced_lines() -> None:
    served = _served(_Versions("v1"), FixedClock(T0))

    assert served.verdict({}, "lines") == "verdict of v1 on lines"  # type: ignore[arg-type]


def test_a_promotion_is_served_once_the_pointer_is_read_again_after_the_ttl() -> None:
    # Given a served model that read the pointer at T0
    versions, clock = _Versions("v1"), FixedClock(T0)
    served = _served(versions, clock)
    assert served.version == "v1"

    # When v2 is promoted, Then v1 still serves 29 s later, and v2 from 30 s on
    versions.active = "v2"
    clock.advance(timedelta(seconds=29))
    assert served.version == "v1"
    clock.advance(timedelta(seconds=1))
    assert served.version == "v2"


def test_refresh_serves_a_promotion_at_once() -> None:
    versions = _Versions("v1")
    served = _served(versions, FixedClock(T0))
    assert served.version == "v1"

    versions.active = "v2"
    served.refresh()

    assert served.version == "v2"


def test_each_version_is_loaded_once_however_often_it_is_served_again() -> None:
    # Given a promotion and a rollback, each read after the ttl
    versions, clock = _Versions("v1"), FixedClock(T0)
    served = _served(versions, clock)
    for active in ("v1", "v2", "v1", "v2"):
        versions.active = active
        clock.advance(timedelta(seconds=31))
        assert served.version == active

    # Then v1 and v2 were loaded one time each
    assert versions.loads == ["v1", "v2"]


def test_a_version_that_fails_to_load_leaves_the_serving_one_in_place() -> None:
    versions, clock = _Versions("v1"), FixedClock(T0)
    served = _served(versions, clock)
    assert served.version == "v1"

    versions.active, versions.broken = "v2", {"v2"}
    clock.advance(timedelta(seconds=31))

    assert served.version == "v1"


def test_without_any_version_to_serve_the_first_read_fails() -> None:
    versions = _Versions("v1")
    versions.broken = {"v1"}
    served = _served(versions, FixedClock(T0))

    with pytest.raises(RuntimeError, match="v1 cannot be loaded"):
        served.refresh()


def test_no_bundled_model_and_no_promotion_means_no_served_model(tmp_path: Path) -> None:
    # Given an empty models directory (no version trained yet)
    store = DirectoryModelStore(tmp_path / "models", tmp_path / "published")

    # Then scoring gets no model, and decides on rules alone
    assert served_model(MemoryTable(), store, FixedClock(T0)) is None
