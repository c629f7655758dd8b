"""The registry names the served model version in one place, and changes it safely."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from shared.adapters.model_store import DirectoryModelStore
from shared.bootstrap import model_registry
from shared.clock import FixedClock
from shared.domain.audit import AuditEntry
from shared.domain.model_versions import (
    ActiveModelMoved,
    AlreadyActive,
    ModelVersionUnavailable,
    NothingToRollBack,
)
from shared.repositories.audit import AuditLog
from shared.services.audit import AuditService
from shared.services.model_registry import ModelRegistry
from shared.storage.memory_table import MemoryTable
from tests.model_support import BUNDLED_MODELS, bundled_version, copy_of_bundled
from tests.support import T0, unique


def _registry(published: Path, table: MemoryTable | None = None) -> ModelRegistry:
    store = DirectoryModelStore(BUNDLED_MODELS, published)
    return model_registry(table or MemoryTable(), store, FixedClock(T0))


def _audit(table: MemoryTable) -> list[AuditEntry]:
    entries, _ = AuditService(AuditLog(table)).entries(
        referral_id=None, program_id=None, limit=50, cursor=None
    )
    return entries


def test_without_a_promotion_the_bundled_default_is_active(tmp_path: Path) -> None:
    # Given a table no version was ever promoted in
    registry = _registry(tmp_path)

    # Then models/CURRENT's version is active, with nothing to roll back to
    assert registry.active() == bundled_version()
    assert registry.history() == [bundled_version()]


def test_a_promoted_version_is_active_and_the_default_is_next_for_rollback(
    tmp_path: Path,
) -> None:
    # Given a second version beside the bundled one
    candidate = unique("ifgb")
    copy_of_bundled(tmp_path, candidate)
    registry = _registry(tmp_path)

    # When it is promoted
    registry.promote(candidate, "alice")

    # Then it is active, and the bundled default is what rollback returns to
    assert registry.active() == candidate
    assert registry.history() == [candidate, bundled_version()]


def test_a_promotion_is_audited_in_the_same_change(tmp_path: Path) -> None:
    candidate = unique("ifgb")
    copy_of_bundled(tmp_path, candidate)
    table = MemoryTable()

    _registry(tmp_path, table).promote(candidate, "alice")

    [entry] = _audit(table)
    assert (entry.action, entry.actor) == ("model.promoted", "alice")
    assert entry.details == {"version": candidate, "previous": bundled_version()}


def test_a_version_that_cannot_be_found_is_refused_by_name(tmp_path: Path) -> None:
    table = MemoryTable()
    registry = _registry(tmp_path, table)

    with pytest.raises(ModelVersionUnavailable, match="ifgb-nowhere"):
        registry.promote("ifgb-nowhere", "alice")

    assert registry.active() == bundled_version()
    assert _audit(table) == []


def test_a_version_whose_artifact_is_corrupt_is_refused(tmp_path: Path) -> None:
    # Given a copy whose anomaly model no longer matches its recorded digest
    candidate = unique("ifgb")
    directory = copy_of_bundled(tmp_path, candidate)
    (directory / "isolation_forest.npz").write_bytes(b"not the trained forest")
    registry = _registry(tmp_path)

    # When it is promoted, Then it is refused, naming the version and the artifact
    with pytest.raises(ModelVersionUnavailable, match=rf"{candidate}.*isolation_forest"):
        registry.promote(candidate, "alice")
    assert registry.active() == bundled_version()


def test_a_version_whose_manifest_names_another_version_is_refused(tmp_path: Path) -> None:
    # Given a directory named differently from the version its manifest declares
    copy_of_bundled(tmp_path, "ifgb-declared").rename(tmp_path / "ifgb-renamed")
    registry = _registry(tmp_path)

    with pytest.raises(ModelVersionUnavailable, match="ifgb-declared"):
        registry.promote("ifgb-renamed", "alice")


def test_promoting_the_active_version_again_is_refused(tmp_path: Path) -> None:
    registry = _registry(tmp_path)

    with pytest.raises(AlreadyActive):
        registry.promote(bundled_version(), "alice")


def test_rollback_serves_the_version_the_active_one_replaced(tmp_path: Path) -> None:
    # Given two promotions after the default
    first, second = unique("ifgb"), unique("ifgb")
    copy_of_bundled(tmp_path, first)
    copy_of_bundled(tmp_path, second)
    table, clock = MemoryTable(), FixedClock(T0)
    registry = model_registry(table, DirectoryModelStore(BUNDLED_MODELS, tmp_path), clock)
    registry.promote(first, "alice")
    registry.promote(second, "alice")

    # When rolled back twice, a minute apart
    clock.advance(timedelta(minutes=1))
    registry.rollback("bob")
    after_one = registry.active()
    clock.advance(timedelta(minutes=1))
    registry.rollback("bob")

    # Then each step went one version back, and each was audited
    assert (after_one, registry.active()) == (first, bundled_version())
    rolled = [e for e in _audit(table) if e.action == "model.rolled_back"]
    assert [e.details for e in rolled] == [
        {"version": first, "previous": second},
        {"version": bundled_version(), "previous": first},
    ]


def test_rollback_without_an_earlier_version_is_refused(tmp_path: Path) -> None:
    registry = _registry(tmp_path)

    with pytest.raises(NothingToRollBack):
        registry.rollback("bob")


class _StoreHeldAtLoad(DirectoryModelStore):
    """Holds every caller at the candidate's load until all of them got there, so each
    has read the pointer before any of them commits."""

    def __init__(self, published: Path, callers: int) -> None:
        super().__init__(BUNDLED_MODELS, published)
        self._barrier = threading.Barrier(callers, timeout=10)

    def directory(self, version: str) -> Path:
        if version != bundled_version():
            self._barrier.wait()
        return super().directory(version)


def test_of_two_concurrent_promotions_one_wins_and_the_other_is_told_it_moved(
    tmp_path: Path,
) -> None:
    # Given two versions and two operators promoting one each at the same moment
    versions = [unique("ifgb"), unique("ifgb")]
    for version in versions:
        copy_of_bundled(tmp_path, version)
    table = MemoryTable()
    registry = model_registry(table, _StoreHeldAtLoad(tmp_path, 2), FixedClock(T0))
    outcomes: dict[str, str] = {}

    def promote(version: str) -> None:
        try:
            registry.promote(version, f"op-{version}")
            outcomes[version] = "won"
        except ActiveModelMoved:
            outcomes[version] = "moved"

    # When both run in threads, each having read the same pointer
    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then exactly one promotion took effect, it alone was audited, and it is active
    assert sorted(outcomes.values()) == ["moved", "won"]
    [winner] = [v for v, outcome in outcomes.items() if outcome == "won"]
    assert registry.active() == winner
    assert [e.details["version"] for e in _audit(table)] == [winner]
