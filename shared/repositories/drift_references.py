"""The drift reference of a model version: the feature histograms later runs compare with.

Histograms are kept as JSON text: DynamoDB numbers would need every float turned into a
Decimal.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any

from shared.clock import iso
from shared.repositories import keys
from shared.storage.table import ConditionFailed, NotExists, Put, Table


class DriftReferences:
    def __init__(self, table: Table) -> None:
        self._table = table

    def histograms(self, model_version: str) -> dict[str, dict[str, Any]]:
        """The reference histograms by feature, as stored; empty if none is kept yet."""
        item = self._table.get(*keys.drift_reference(model_version))
        if item is None:
            return {}
        histograms: dict[str, dict[str, Any]] = json.loads(item["histograms"])
        return histograms

    def keep_first(
        self,
        model_version: str,
        histograms: dict[str, dict[str, Any]],
        rows: int,
        created_at: datetime,
    ) -> None:
        """Keep `histograms` as the version's reference unless one is kept already: another
        run may have stored one first, and either is a fair reference."""
        pk, sk = keys.drift_reference(model_version)
        item = {
            "pk": pk,
            "sk": sk,
            "type": "drift_reference",
            "rows": rows,
            "created_at": iso(created_at),
            "histograms": json.dumps(histograms, sort_keys=True),
        }
        with contextlib.suppress(ConditionFailed):
            self._table.write([Put(item, NotExists())])
