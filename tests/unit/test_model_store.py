"""Model versions in local directories: the bundled ones, and those published beside them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.model_store import DirectoryModelStore
from shared.domain.model_versions import ModelVersionUnavailable
from tests.model_support import BUNDLED_MODELS, bundled_version, copy_of_bundled
from tests.support import unique


def test_the_bundled_current_version_is_the_default(tmp_path: Path) -> None:
    store = DirectoryModelStore(BUNDLED_MODELS, tmp_path / "published")

    assert store.default_version() == bundled_version()


def test_a_published_directory_is_copied_beside_the_bundled_ones(tmp_path: Path) -> None:
    # Given a version made somewhere else
    version = unique("ifgb")
    made = copy_of_bundled(tmp_path / "made", version)
    store = DirectoryModelStore(BUNDLED_MODELS, tmp_path / "published")

    # When it is published
    published = store.publish(made)

    # Then the store finds it in its published folder, and the bundled folder is untouched
    assert published == version
    assert store.directory(version) == tmp_path / "published" / version
    assert version in store.versions()
    assert not (BUNDLED_MODELS / version).exists()


def test_a_directory_without_a_manifest_cannot_be_published(tmp_path: Path) -> None:
    store = DirectoryModelStore(BUNDLED_MODELS, tmp_path / "published")
    (tmp_path / "empty").mkdir()

    with pytest.raises(ModelVersionUnavailable, match="manifest"):
        store.publish(tmp_path / "empty")


def test_a_version_name_that_is_a_path_is_never_looked_up(tmp_path: Path) -> None:
    store = DirectoryModelStore(BUNDLED_MODELS, tmp_path / "published")

    with pytest.raises(ModelVersionUnavailable):
        store.directory(f"../{BUNDLED_MODELS.name}/{bundled_version()}")
