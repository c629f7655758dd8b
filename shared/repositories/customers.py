"""The customer index: every advocate enrolment and referee record naming one customer."""

from __future__ import annotations

from collections.abc import Iterator

from shared.domain.customers import CustomerRecord
from shared.repositories import keys
from shared.storage.table import Table, query_all

__all__ = ["CustomerRecord", "CustomerRecords"]


class CustomerRecords:
    def __init__(self, table: Table) -> None:
        self._table = table

    def of_customer(self, customer_id: str) -> Iterator[CustomerRecord]:
        for item in query_all(self._table, keys.customer(customer_id), index="gsi2"):
            if item.get("type") == "advocate":
                advocate_id = str(item["pk"]).removeprefix("ADVOCATE#")
                yield CustomerRecord("advocate", advocate_id)
            elif item.get("type") == "referee":
                yield CustomerRecord("referee", str(item["referral_id"]))
