"""Where model versions' artifacts live: local directories, an S3 bucket, or both in turn.

A version is a directory `<version>/` holding `manifest.json` and the artifact files its
manifest names. Locally they are found in the bundled `models/` and in the stack's own
models folder (where promoted directories are copied); on AWS in
`s3://<bucket>/models/<version>/`, downloaded once per version into /tmp, which a warm
Lambda keeps between invocations.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.domain.model_versions import ModelVersionUnavailable, is_version_name

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
S3_PREFIX = "models/"
DOWNLOADS = Path(tempfile.gettempdir()) / "model-versions"


def manifest_version(directory: Path) -> str:
    """The version a directory's manifest declares (what decisions will record)."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        version = str(manifest["version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelVersionUnavailable(directory.name, f"no readable {MANIFEST}: {exc}") from exc
    if not is_version_name(version):
        raise ModelVersionUnavailable(version, "its manifest's version is not a plain name")
    return version


def _artifact_files(manifest: dict[str, Any]) -> list[str]:
    artifacts = manifest.get("artifacts") or {}
    names = [str(entry["file"]) for entry in artifacts.values() if entry and "file" in entry]
    return [name for name in names if is_version_name(name)]


class DirectoryModelStore:
    """Versions in local directories: `bundled` (shipped with the code, whose `CURRENT`
    names the default) first, then `published` (where `publish` copies new ones)."""

    def __init__(self, bundled: Path, published: Path | None = None) -> None:
        self._bundled = Path(bundled)
        self._published = Path(published) if published is not None else None

    def _roots(self) -> list[Path]:
        return [self._bundled, *([self._published] if self._published else [])]

    def default_version(self) -> str | None:
        from shared.scoring.model import ModelError, resolve_version_dir

        if not self._bundled.is_dir():
            return None
        try:
            return manifest_version(resolve_version_dir(self._bundled))
        except (ModelError, ModelVersionUnavailable):
            return None

    def versions(self) -> list[str]:
        found = {
            path.name
            for root in self._roots()
            if root.is_dir()
            for path in root.iterdir()
            if (path / MANIFEST).is_file()
        }
        return sorted(found)

    def directory(self, version: str) -> Path:
        if is_version_name(version):
            for root in self._roots():
                if (root / version / MANIFEST).is_file():
                    return root / version
            if (self._bundled / MANIFEST).is_file() and self.default_version() == version:
                return self._bundled
        places = ", ".join(str(root) for root in self._roots())
        raise ModelVersionUnavailable(version, f"not found in {places}")

    def publish(self, source: Path) -> str:
        """Copy the version directory `source` into the published folder; its version."""
        if self._published is None:
            raise ModelVersionUnavailable(source.name, "this store has no folder to publish to")
        version = manifest_version(source)
        target = self._published / version
        if (target / MANIFEST).is_file():
            return version  # already published: a version's files never change
        self._published.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self._published))
        try:
            for name in [*_artifact_files(_manifest_of(source)), MANIFEST]:
                shutil.copyfile(source / name, staging / name)
            staging.rename(target)
        except OSError as exc:
            raise ModelVersionUnavailable(version, f"cannot copy it from {source}: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return version


def _manifest_of(directory: Path) -> dict[str, Any]:
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ModelVersionUnavailable(directory.name, f"{MANIFEST} is not a JSON object")
    return manifest


class S3ModelStore:
    """Versions under `s3://<bucket>/models/<version>/`, each downloaded once into
    `downloads/<version>/` (renamed into place whole, so a half download is never read)."""

    def __init__(self, bucket: str, client: Any, downloads: Path = DOWNLOADS) -> None:
        self._bucket = bucket
        self._s3 = client
        self._downloads = Path(downloads)

    def default_version(self) -> str | None:
        return None  # the bucket holds promoted versions; the default ships with the code

    def versions(self) -> list[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=self._bucket, Prefix=S3_PREFIX, Delimiter="/"):
            for prefix in page.get("CommonPrefixes", []):
                found.append(prefix["Prefix"][len(S3_PREFIX) :].rstrip("/"))
        return sorted(found)

    def directory(self, version: str) -> Path:
        if not is_version_name(version):
            raise ModelVersionUnavailable(version, "not a plain version name")
        target = self._downloads / version
        if (target / MANIFEST).is_file():
            return target
        manifest = self._fetch(version, MANIFEST)
        self._downloads.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self._downloads))
        try:
            (staging / MANIFEST).write_bytes(manifest)
            for name in _artifact_files(_manifest_of(staging)):
                (staging / name).write_bytes(self._fetch(version, name))
            staging.rename(target)
        except OSError:
            if not (target / MANIFEST).is_file():  # not another download winning the rename
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def _fetch(self, version: str, name: str) -> bytes:
        from botocore.exceptions import ClientError

        key = f"{S3_PREFIX}{version}/{name}"
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
            return bytes(body.read())
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise ModelVersionUnavailable(
                version, f"cannot read s3://{self._bucket}/{key} ({code or exc})"
            ) from exc

    def _uploaded(self, version: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3.head_object(Bucket=self._bucket, Key=f"{S3_PREFIX}{version}/{MANIFEST}")
        except ClientError:
            return False
        return True

    def publish(self, source: Path) -> str:
        """Upload the version directory `source`; the manifest goes last, so a version is
        visible only once all its artifacts are there."""
        version = manifest_version(source)
        if self._uploaded(version):
            return version  # a version's files never change (warm functions keep them)
        for name in [*_artifact_files(_manifest_of(source)), MANIFEST]:
            key = f"{S3_PREFIX}{version}/{name}"
            try:
                body = (source / name).read_bytes()
            except OSError as exc:
                raise ModelVersionUnavailable(version, f"cannot read {name}: {exc}") from exc
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)
        logger.info("uploaded model version %s to s3://%s/%s", version, self._bucket, S3_PREFIX)
        return version


class SearchedModelStores:
    """Several stores searched in order: the bundled directory, then the bucket."""

    def __init__(self, stores: Sequence[DirectoryModelStore | S3ModelStore]) -> None:
        self._stores = list(stores)

    def default_version(self) -> str | None:
        return next(filter(None, (s.default_version() for s in self._stores)), None)

    def versions(self) -> list[str]:
        return sorted({v for store in self._stores for v in store.versions()})

    def directory(self, version: str) -> Path:
        reasons = []
        for store in self._stores:
            try:
                return store.directory(version)
            except ModelVersionUnavailable as exc:
                reasons.append(exc.reason)
        raise ModelVersionUnavailable(version, "; ".join(reasons) or "no store to look in")
