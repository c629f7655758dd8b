"""The backtest input: one JSON object a line, in time order (README "Operations" lists the ops)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.clock import parse_iso

OpKind = Literal["program", "advocate", "referral", "event", "refund", "review"]


class BacktestInputError(ValueError):
    """A line of the input is not a backtest operation; the message names the line."""


class Op(BaseModel):
    """One recorded operation. Extra keys (labels, pattern names) are kept for tools."""

    model_config = ConfigDict(extra="allow", frozen=True)

    op: OpKind
    at: datetime
    ref: str | None = None
    program: str | None = None
    advocate: str | None = None
    referee: str | None = None
    body: dict[str, Any] = Field(default_factory=dict)
    # The body carries keyed hashes, not raw values (`shared.backtest.hashed`).
    hashed: bool = False
    line: int = 0

    @field_validator("at", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        return parse_iso(value) if isinstance(value, str) else value

    def check(self) -> Op:
        needs = {
            "program": ("ref",),
            "advocate": ("program",),
            "referral": ("program", "advocate"),
            "event": ("program", "referee"),
            "refund": ("program", "referee"),
            "review": ("program", "referee"),
        }[self.op]
        missing = [name for name in needs if not getattr(self, name)]
        if missing:
            raise BacktestInputError(
                f"line {self.line}: a {self.op} operation needs {', '.join(missing)}"
            )
        return self


def parse_lines(lines: Iterable[str]) -> Iterator[Op]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BacktestInputError(f"line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(data, dict):
            raise BacktestInputError(f"line {number}: not a JSON object")
        try:
            yield Op.model_validate({**data, "line": number}).check()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BacktestInputError(f"line {number}: {where}: {first['msg']}") from exc


def read_ops(path: Path) -> list[Op]:
    with path.open(encoding="utf-8") as handle:
        return list(parse_lines(handle))
