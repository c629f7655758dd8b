"""Entities travel as a JSON-shaped `doc` map; keys and counters sit beside it."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from shared.storage.table import Item

M = TypeVar("M", bound=BaseModel)


def to_doc(entity: BaseModel) -> dict[str, Any]:
    return entity.model_dump(mode="json")


def from_item(model: type[M], item: Item) -> M:
    return model.model_validate(item["doc"])
