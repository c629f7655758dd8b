"""Each function's unzipped size as Lambda unpacks it: the shared layer plus its own code.

The layer is built the way `sam build` builds it, by the Makefile's `build-SharedLayer`
target into a temporary ARTIFACTS_DIR, so the figure counts Lambda's platform wheels
(manylinux2014, CPython 3.11), not this machine's. Without the registry (no network, or a
pinned release without such a wheel) the figures are reported as skipped, with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from shared.local.template import function_sources, load_template

ROOT = Path(__file__).resolve().parents[2]
GOAL_MB = 100.0
MB = 1_000_000


def tree_bytes(path: Path, *, byte_code: bool = True) -> int:
    """Bytes of every file under `path`; the layer ships its byte code, a function's own
    directory holds only what this machine compiled while running it."""
    return sum(
        f.stat().st_size
        for f in path.rglob("*")
        if f.is_file() and not f.is_symlink() and (byte_code or "__pycache__" not in f.parts)
    )


def build_layer(artifacts: Path) -> str | None:
    """Builds the layer into `artifacts`; the reason it could not, or None."""
    make = shutil.which("make")
    if make is None:
        return "make is not installed"
    done = subprocess.run(  # noqa: S603 - make, on this repository's own Makefile
        [make, "--no-print-directory", "build-SharedLayer", f"ARTIFACTS_DIR={artifacts}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if "ERROR" in line] or [
            *done.stderr.splitlines()[-1:],
            "make build-SharedLayer failed",
        ]
        return f"the layer's wheels could not be installed: {lines[0].strip()}"
    return None


def _figure(name: str, size: float | None, **detail: Any) -> dict[str, Any]:
    return {
        "name": f"package size {name}",
        "value": None if size is None else round(size / MB, 1),
        "unit": "MB",
        "goal": f"< {GOAL_MB:g}",
        "met": None if size is None else size / MB < GOAL_MB,
        **detail,
    }


def measure() -> list[dict[str, Any]]:
    functions = function_sources(load_template(ROOT / "template.yaml"), ROOT)
    with tempfile.TemporaryDirectory(prefix="layer-") as temp:
        artifacts = Path(temp)
        reason = build_layer(artifacts)
        if reason is not None:
            return [_figure(name, None, skipped=reason) for name in sorted(functions)]
        layer = tree_bytes(artifacts)
        wheels = (
            layer - tree_bytes(artifacts / "python" / "shared") - tree_bytes(artifacts / "models")
        )
    figures = []
    for name, source in sorted(functions.items()):
        own = tree_bytes(source.code_dir, byte_code=False)
        figures.append(
            _figure(
                name,
                layer + own,
                layer_mb=round(layer / MB, 1),
                wheels_mb=round(wheels / MB, 1),
                function_kb=round(own / 1000, 1),
            )
        )
    return figures


if __name__ == "__main__":
    json.dump(measure(), sys.stdout, indent=1)
    print()
