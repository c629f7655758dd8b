"""Model versions in the model bucket (moto S3): uploaded, downloaded once, served."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.adapters.model_store import DirectoryModelStore, S3ModelStore, SearchedModelStores
from shared.bootstrap import model_registry
from shared.cli import main
from shared.clock import FixedClock
from shared.domain.model_versions import ModelVersionUnavailable
from shared.services.model_registry import load_version
from shared.storage.memory_table import MemoryTable
from tests.integration.conftest import create_table
from tests.model_support import BUNDLED_MODELS, bundled_version, copy_of_bundled
from tests.support import T0, unique


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("s3")


class _CountingS3:
    """The S3 client, counting the objects it reads."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.reads: list[str] = []

    def get_object(self, **kwargs: Any) -> Any:
        self.reads.append(kwargs["Key"])
        return self._client.get_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _bucket(s3: Any) -> str:
    name = f"models-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


def test_an_uploaded_version_is_stored_under_models_version(s3: Any, tmp_path: Path) -> None:
    bucket, version = _bucket(s3), unique("ifgb")
    store = S3ModelStore(bucket, s3, downloads=tmp_path / "downloads")

    store.publish(copy_of_bundled(tmp_path / "made", version))

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert f"models/{version}/manifest.json" in keys
    assert f"models/{version}/isolation_forest.npz" in keys
    assert store.versions() == [version]


def test_an_uploaded_version_loads_from_its_download(s3: Any, tmp_path: Path) -> None:
    bucket, version = _bucket(s3), unique("ifgb")
    S3ModelStore(bucket, s3).publish(copy_of_bundled(tmp_path / "made", version))
    store = S3ModelStore(bucket, s3, downloads=tmp_path / "downloads")

    judge = load_version(store, version)

    assert judge.version == version
    assert (tmp_path / "downloads" / version / "manifest.json").is_file()


def test_a_version_is_downloaded_once_per_process_directory(s3: Any, tmp_path: Path) -> None:
    # Given a version in the bucket
    bucket, version = _bucket(s3), unique("ifgb")
    S3ModelStore(bucket, s3).publish(copy_of_bundled(tmp_path / "made", version))
    counting = _CountingS3(s3)
    store = S3ModelStore(bucket, counting, downloads=tmp_path / "downloads")

    # When it is asked for three times
    for _ in range(3):
        store.directory(version)

    # Then its manifest and two artifacts were read once each
    assert sorted(counting.reads) == sorted(
        f"models/{version}/{name}"
        for name in ("manifest.json", "isolation_forest.npz", "gradient_boosting.npz")
    )


def test_a_version_missing_from_the_bucket_is_unavailable_by_name(s3: Any, tmp_path: Path) -> None:
    store = S3ModelStore(_bucket(s3), s3, downloads=tmp_path / "downloads")

    with pytest.raises(ModelVersionUnavailable, match=r"ifgb-absent.*NoSuchKey"):
        store.directory("ifgb-absent")


def test_promotion_on_aws_finds_the_bundled_default_then_the_bucket(
    s3: Any, tmp_path: Path
) -> None:
    # Given the bundled models and a bucket holding one uploaded version
    bucket, version = _bucket(s3), unique("ifgb")
    uploads = S3ModelStore(bucket, s3, downloads=tmp_path / "downloads")
    uploads.publish(copy_of_bundled(tmp_path / "made", version))
    store = SearchedModelStores([DirectoryModelStore(BUNDLED_MODELS), uploads])
    registry = model_registry(MemoryTable(), store, FixedClock(T0))

    # When the uploaded version is promoted
    registry.promote(version, "arn:aws:iam::123456789012:user/alice")

    # Then it is active, with the bundled default next for rollback
    assert registry.history() == [version, bundled_version()]
    assert version in registry.versions()


def test_the_command_line_uploads_promotes_and_rolls_back_on_aws(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed table and model bucket (moto), and a version made elsewhere
    table, bucket, version = f"rewards-{uuid.uuid4().hex[:8]}", _bucket(s3), unique("ifgb")
    create_table(table)
    made = copy_of_bundled(tmp_path / "made", version)
    aws = ["--table", table, "--bucket", bucket]

    # When it is promoted by path, then rolled back
    promoted = main(["model", "promote", str(made), *aws])
    after_promotion = capsys.readouterr().out
    rolled_back = main(["model", "rollback", *aws])
    after_rollback = capsys.readouterr().out

    # Then it was uploaded and served, and the bundled default serves again
    assert (promoted, rolled_back) == (0, 0)
    assert f"active: {version}" in after_promotion
    assert f"active: {bundled_version()}" in after_rollback
    assert S3ModelStore(bucket, s3).versions() == [version]
