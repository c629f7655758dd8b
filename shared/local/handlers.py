"""The functions' handlers, imported in-process and called the way Lambda calls them."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from shared.local.moto_stack import DeployedFunction
from shared.local.template import FunctionSource

_instances = itertools.count(1)


class HandlerLoadError(RuntimeError):
    """A handler file is missing or fails to import."""


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that handlers use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: str
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(init=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    """One deployed function whose handler runs in this process."""

    logical_id: str
    deployed: DeployedFunction
    module: ModuleType
    handler: Callable[[Any, LambdaContext], Any]

    def context(self) -> LambdaContext:
        return LambdaContext(
            function_name=self.deployed.name,
            invoked_function_arn=self.deployed.arn,
            memory_limit_in_mb=str(self.deployed.memory_mb),
            timeout_s=self.deployed.timeout_s,
        )

    def invoke(self, event: Any) -> Any:
        return self.handler(event, self.context())


def check_handler_files(sources: dict[str, FunctionSource], root: Path) -> None:
    missing = [s for s in sources.values() if not s.handler_file.is_file()]
    if missing:
        names = ", ".join(f"{s.logical_id} -> {_shown(s.handler_file, root)}" for s in missing)
        raise HandlerLoadError(f"handler file not found: {names}")


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def load_functions(
    sources: dict[str, FunctionSource], deployed: dict[str, DeployedFunction], root: Path
) -> dict[str, LocalFunction]:
    """Import every handler file under its own module name.

    Every handler file is called app.py, so importing by file path under a unique name is
    what keeps them apart; the instance number keeps a restarted stack from reusing the
    previous stack's modules (and their lazily built clients).
    """
    check_handler_files(sources, root)
    root_path = str(root.resolve())
    if root_path not in sys.path:
        sys.path.append(root_path)
    instance = next(_instances)
    loaded = {}
    for logical_id, source in sources.items():
        if logical_id not in deployed:
            raise HandlerLoadError(f"{logical_id} is in the template but not in the stack")
        module_name = f"_rewards_local_{instance}_{logical_id}"
        spec = importlib.util.spec_from_file_location(module_name, source.handler_file)
        if spec is None or spec.loader is None:
            raise HandlerLoadError(f"{logical_id}: cannot import {source.handler_file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            shown = _shown(source.handler_file, root)
            raise HandlerLoadError(f"{logical_id}: importing {shown} failed: {exc!r}") from exc
        handler = getattr(module, source.handler_attribute, None)
        if not callable(handler):
            raise HandlerLoadError(
                f"{logical_id}: {_shown(source.handler_file, root)} has no callable "
                f"{source.handler_attribute!r}"
            )
        loaded[logical_id] = LocalFunction(logical_id, deployed[logical_id], module, handler)
    return loaded


def unload_functions(functions: dict[str, LocalFunction]) -> None:
    for function in functions.values():
        sys.modules.pop(function.module.__name__, None)
