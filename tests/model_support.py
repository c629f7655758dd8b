"""Model versions for tests: the bundled one copied under another name.

A copy scores exactly like the bundled version; only the version it records differs,
which is what switching versions has to show (training one takes ~15 s here).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from shared.scoring.model import resolve_version_dir

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_MODELS = ROOT / "models"


def bundled_version() -> str:
    return resolve_version_dir(BUNDLED_MODELS).name


def copy_of_bundled(into: Path, version: str) -> Path:
    """`into/<version>/`: the bundled version's files, its manifest renamed `version`."""
    target = into / version
    shutil.copytree(resolve_version_dir(BUNDLED_MODELS), target)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["version"] = version
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    return target
