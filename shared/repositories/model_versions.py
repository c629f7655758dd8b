"""The active model pointer: one item naming the served version and the ones before it.

No item means nothing was ever promoted, and the bundled default (`models/CURRENT`)
serves; the first promotion creates the item, each later change replaces it only if its
revision is still the one that was read.
"""

from __future__ import annotations

from shared.domain.model_versions import ActiveModelMoved, ModelPointer
from shared.repositories.codec import from_item, to_doc
from shared.repositories.unit_of_work import Changes
from shared.storage.table import Equals, NotExists, Put, Table

# The pointer's own key: one item for the whole deployment, beside no other entity.
POINTER_PK = "MODEL#ACTIVE"
POINTER_SK = "POINTER"
REVISION = "revision"


class ModelVersions:
    def __init__(self, table: Table) -> None:
        self._table = table

    def pointer(self) -> ModelPointer | None:
        """The stored pointer (a strongly consistent read), or None if never promoted."""
        item = self._table.get(POINTER_PK, POINTER_SK)
        return from_item(ModelPointer, item) if item is not None else None

    def stage_save(self, pointer: ModelPointer, read_revision: int, *, within: Changes) -> None:
        """Replace the pointer read at `read_revision` (0: none was stored) with `pointer`;
        refused with `ActiveModelMoved` if it has changed since."""
        condition = NotExists() if read_revision == 0 else Equals(REVISION, read_revision)
        item = {
            "pk": POINTER_PK,
            "sk": POINTER_SK,
            "type": "model_pointer",
            REVISION: pointer.revision,
            "doc": to_doc(pointer),
        }
        within.stage(Put(item, condition), refused=ActiveModelMoved)
