"""Where the sandbox providers keep their orders: in memory, or in a JSON file.

The one operation that matters is `add_if_absent`: the check for an existing key and
the insert happen under one lock, so two workers paying the same reward at the same
moment still end with one order, as with a real provider.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, cast

from shared.payouts.port import PayoutKind, PayoutOrder, PayoutStatus


@dataclass(frozen=True)
class SandboxOrderRecord:
    """An order as the sandbox stores it.

    `order.status` is the status at creation; the provider derives later statuses
    from the clock. Only a digest of the payout terms is kept, not the recipient.
    """

    provider: str
    kind: PayoutKind
    order: PayoutOrder
    terms_fingerprint: str


class SandboxOrderStore(Protocol):
    def add_if_absent(self, record: SandboxOrderRecord) -> SandboxOrderRecord:
        """Store `record` unless its provider already has its key; return what is stored."""
        ...

    def by_key(self, provider: str, idempotency_key: str) -> SandboxOrderRecord | None: ...

    def by_reference(self, provider: str, reference: str) -> SandboxOrderRecord | None: ...

    def all(self, provider: str) -> list[SandboxOrderRecord]: ...


class InMemoryOrderStore:
    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], SandboxOrderRecord] = {}
        self._lock = threading.Lock()

    def add_if_absent(self, record: SandboxOrderRecord) -> SandboxOrderRecord:
        slot = (record.provider, record.order.idempotency_key)
        with self._lock:
            return self._by_key.setdefault(slot, record)

    def by_key(self, provider: str, idempotency_key: str) -> SandboxOrderRecord | None:
        with self._lock:
            return self._by_key.get((provider, idempotency_key))

    def by_reference(self, provider: str, reference: str) -> SandboxOrderRecord | None:
        with self._lock:
            return next(
                (
                    r
                    for r in self._by_key.values()
                    if r.provider == provider and r.order.provider_reference == reference
                ),
                None,
            )

    def all(self, provider: str) -> list[SandboxOrderRecord]:
        with self._lock:
            return [r for r in self._by_key.values() if r.provider == provider]


class JsonFileOrderStore:
    """Orders in one JSON file, so a local stack keeps them across restarts.

    Every operation holds an exclusive `flock` on `<file>.lock` and replaces the file
    atomically (temporary file, fsync, `os.replace`), so several processes on one
    machine can share it and a crash never leaves half a file. `flock` is advisory
    and local: keep the file on a local disk, not on a network share.
    """

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._lock_path = self._path.with_name(self._path.name + ".lock")
        self._thread_lock = threading.Lock()

    def add_if_absent(self, record: SandboxOrderRecord) -> SandboxOrderRecord:
        with self._locked():
            records = self._load()
            for existing in records:
                if (existing.provider, existing.order.idempotency_key) == (
                    record.provider,
                    record.order.idempotency_key,
                ):
                    return existing
            records.append(record)
            self._save(records)
            return record

    def by_key(self, provider: str, idempotency_key: str) -> SandboxOrderRecord | None:
        return next(
            (r for r in self.all(provider) if r.order.idempotency_key == idempotency_key), None
        )

    def by_reference(self, provider: str, reference: str) -> SandboxOrderRecord | None:
        return next(
            (r for r in self.all(provider) if r.order.provider_reference == reference), None
        )

    def all(self, provider: str) -> list[SandboxOrderRecord]:
        with self._locked():
            return [r for r in self._load() if r.provider == provider]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self._lock_path, "a+") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def _load(self) -> list[SandboxOrderRecord]:
        if not self._path.exists():
            return []
        document = json.loads(self._path.read_text(encoding="utf-8"))
        return [_record_from_json(item) for item in document["orders"]]

    def _save(self, records: list[SandboxOrderRecord]) -> None:
        document = {"version": 1, "orders": [_record_to_json(r) for r in records]}
        handle, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=self._path.name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


def _record_to_json(record: SandboxOrderRecord) -> dict[str, Any]:
    order = record.order
    return {
        "provider": record.provider,
        "kind": record.kind,
        "terms_fingerprint": record.terms_fingerprint,
        "idempotency_key": order.idempotency_key,
        "provider_reference": order.provider_reference,
        "status": order.status,
        "amount": str(order.amount),
        "currency": order.currency,
        "created_at": order.created_at.isoformat(),
        "failure_reason": order.failure_reason,
    }


def _record_from_json(item: dict[str, Any]) -> SandboxOrderRecord:
    order = PayoutOrder(
        provider=item["provider"],
        idempotency_key=item["idempotency_key"],
        provider_reference=item["provider_reference"],
        status=cast(PayoutStatus, item["status"]),
        amount=Decimal(item["amount"]),
        currency=item["currency"],
        created_at=datetime.fromisoformat(item["created_at"]),
        failure_reason=item["failure_reason"],
    )
    return SandboxOrderRecord(
        provider=item["provider"],
        kind=cast(PayoutKind, item["kind"]),
        order=order,
        terms_fingerprint=item["terms_fingerprint"],
    )
