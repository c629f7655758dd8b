"""Reviewer decisions as training labels: one JSON object a line, in decision order.

A label is written with each final human decision (see `ReviewService.decide`): `fraud` is
true for a rejection, with the score, reason codes and, when scoring kept one, the feature
snapshot the model saw. Timeouts are not labels: nobody looked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Protocol

from shared.domain.reviews import ReviewLabel

PAGE = 100


class Labels(Protocol):
    def page(self, limit: int, cursor: str | None) -> tuple[list[ReviewLabel], str | None]: ...


class LabelService:
    def __init__(self, labels: Labels) -> None:
        self._labels = labels

    def labels(self) -> Iterator[ReviewLabel]:
        cursor: str | None = None
        while True:
            page, cursor = self._labels.page(PAGE, cursor)
            yield from page
            if cursor is None:
                return

    def export(self, write: Callable[[str], object]) -> int:
        """Write every label as a JSON line; returns how many were written."""
        count = 0
        for label in self.labels():
            write(json.dumps(label.model_dump(mode="json"), sort_keys=True) + "\n")
            count += 1
        return count
