"""The customer index, and the rewrite that replaces an erased customer's raw id by its
pseudonym in every item the customer's records reach.

Reach, found through partitions and keys that already exist (never a scan):
- an advocate record: the advocate item, its enrolment guard, its own evidence items (exact
  keys from its fingerprint and enrolment time), every referral it made (listed by its
  `EV#advocate#<id>` partition), whose documents name it as `advocate_customer_id` (and
  whose partitions hold the webhook events about them), its program's own audit entries
  (those of no referral), where advocate erasures are, and its program's webhook events
  of no referral;
- a referee record: the referral's partition (document, events, ledger entries, refunds,
  labels, the webhook events published about it), its audit trail, its review item, its
  evidence items (exact keys from its fingerprint, occurrence time and payment events) and
  its referee guard;
- both: every other referral seen with the same device, IP, email or card (the evidence
  partitions of the customer's own observations), whose risk evidence may list the id;
- a points account: its partition (history lines, redemption records, the account), moved
  under the pseudonym; if an account is already there (a credit raced the erasure), the
  two are merged into it.

A record's guard (referee guard, or enrolment guard and advocate item) moves last: it
carries the customer index key, so until it has moved the record is still found under the
raw id and a repeated erasure continues where the last one stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from shared.domain.advocates import Advocate
from shared.domain.customers import CustomerRecord, Pseudonymisation, Rewritten
from shared.domain.events import ReferralEvent
from shared.domain.evidence import EvidenceKind
from shared.domain.referrals import Referral
from shared.repositories import keys
from shared.repositories.codec import from_item
from shared.repositories.evidence import UNREAD_KINDS
from shared.repositories.points import ACCOUNT_TYPE, merge_ops
from shared.storage.table import (
    All,
    Condition,
    ConditionFailed,
    Delete,
    Equals,
    Exists,
    Item,
    NotExists,
    Put,
    Table,
    TransactionConflict,
    Update,
    WriteOp,
    query_all,
)

__all__ = ["CustomerRecord", "CustomerRecords", "Rewritten"]

Key = tuple[str, str]

# Attributes that are keys: the raw id is one `#`-separated part of them.
KEY_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
# A rewrite meeting a concurrent change reads the item again, at most this many times.
ATTEMPTS = 20


class ItemKeptChanging(RuntimeError):
    """An item changed under every attempt to rewrite it; repeating the erasure is safe."""


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
            elif item.get("type") == ACCOUNT_TYPE:
                yield CustomerRecord("points", str(item["program_id"]))

    def pseudonymise(
        self, record: CustomerRecord, rename: Pseudonymisation, allowance: int
    ) -> Rewritten:
        """Rewrite, in order, every item of the record's reach that names the raw id, each
        in its own conditional write; stop after `allowance` writes."""
        written = 0
        for key in self._reach(record, rename):
            if written >= allowance:
                return Rewritten(written, finished=False)
            written += self._rewrite(key, rename)
        return Rewritten(written, finished=True)

    # --- reach ---------------------------------------------------------------------------

    def _reach(self, record: CustomerRecord, rename: Pseudonymisation) -> Iterator[Key]:
        if record.role == "advocate":
            yield from self._advocate_reach(record.subject_id, rename)
        elif record.role == "points":
            yield from self._points_reach(record.subject_id, rename)
        else:
            yield from self._referee_reach(record.subject_id, rename)

    def _points_reach(self, program_id: str, rename: Pseudonymisation) -> Iterator[Key]:
        """The account's partition, the account last (it carries the customer index key)."""
        account = keys.points_account(program_id, rename.customer_id)
        for item in query_all(self._table, account[0]):
            if (item["pk"], item["sk"]) != account:
                yield (str(item["pk"]), str(item["sk"]))
        yield account

    def _advocate_reach(self, advocate_id: str, rename: Pseudonymisation) -> Iterator[Key]:
        item = self._table.get(*keys.advocate(advocate_id))
        if item is None:
            return
        advocate = from_item(Advocate, item)
        own = _evidence_keys(
            {**advocate.fingerprint.indexed(), EvidenceKind.CUSTOMER: rename.customer_hash},
            keys.evidence_sort(advocate.enrolled_at, advocate_id, "advocate"),
        )
        yield from self._linked_referrals(own)
        yield from own
        made = query_all(self._table, keys.evidence(EvidenceKind.ADVOCATE.value, advocate_id))
        for referral_id in _subjects(made):
            yield from self._referral_items(referral_id)
        # The program's own entries (no referral): an advocate's erasure is recorded there.
        for entry in query_all(self._table, f"AUDIT#{advocate.program_id}"):
            yield (str(entry["pk"]), str(entry["sk"]))
        # Webhook events of no referral (a campaign's) may name the advocate.
        for event in query_all(self._table, keys.program_webhook_events(advocate.program_id)):
            yield (str(event["pk"]), str(event["sk"]))
        yield keys.enrolment(advocate.program_id, rename.customer_id)
        yield keys.advocate(advocate_id)

    def _referee_reach(self, referral_id: str, rename: Pseudonymisation) -> Iterator[Key]:
        item = self._table.get(*keys.referral(referral_id))
        if item is None:
            return
        referral = from_item(Referral, item)
        own = self._referral_evidence(referral, rename)
        yield from self._linked_referrals(own)
        yield from own
        yield from self._referral_items(referral_id)
        yield keys.referee(referral.program_id, rename.customer_id)

    def _referral_evidence(self, referral: Referral, rename: Pseudonymisation) -> list[Key]:
        values = {
            **referral.fingerprint.indexed(),
            EvidenceKind.CUSTOMER: rename.customer_hash,
            EvidenceKind.ADVOCATE: referral.advocate_id,
        }
        subject = referral.referral_id
        found = _evidence_keys(values, keys.evidence_sort(referral.occurred_at, subject, "referee"))
        for event in self._payment_events(referral.referral_id):
            sort = keys.evidence_sort(event.occurred_at, subject, "referee")
            found.append(
                (keys.evidence(EvidenceKind.PAYMENT.value, str(event.payment_fingerprint)), sort)
            )
        return found

    def _payment_events(self, referral_id: str) -> Iterator[ReferralEvent]:
        for item in query_all(self._table, keys.referral(referral_id)[0]):
            if item.get("type") == "event" and item["doc"].get("payment_fingerprint"):
                yield from_item(ReferralEvent, item)

    def _referral_items(self, referral_id: str) -> Iterator[Key]:
        """The referral's partition (document, events, ledger, refunds, labels), its audit
        trail and its open review."""
        for pk in (keys.referral(referral_id)[0], f"AUDIT#{referral_id}"):
            for item in query_all(self._table, pk):
                yield (str(item["pk"]), str(item["sk"]))
        yield keys.review(referral_id)

    def _linked_referrals(self, own: list[Key]) -> Iterator[Key]:
        """Other referrals seen with the customer's device, IP, email or card: scoring
        may have listed the customer in their risk evidence."""
        subjects: set[str] = set()
        for pk in dict.fromkeys(pk for pk, _ in own):
            subjects.update(_subjects(query_all(self._table, pk)))
        for referral_id in sorted(subjects):
            yield keys.referral(referral_id)
            yield keys.review(referral_id)

    # --- rewrite -------------------------------------------------------------------------

    def _rewrite(self, key: Key, rename: Pseudonymisation) -> int:
        """1 if the item named the raw id and now names the pseudonym, else 0."""
        for _ in range(ATTEMPTS):
            item = self._table.get(*key)
            if item is None:
                return 0
            ops = _rewrite_ops(item, rename)
            if not ops:
                return 0
            if isinstance(ops[0], Put) and self._taken(ops[0].item):
                ops = self._onto_taken(item, ops)
            try:
                self._table.write(ops)
            except (ConditionFailed, TransactionConflict):
                continue
            return 1
        raise ItemKeptChanging(f"an item of the erased customer kept changing: {key[0]}")

    def _taken(self, moved: Item) -> bool:
        return self._table.get(str(moved["pk"]), str(moved["sk"])) is not None

    def _onto_taken(self, item: Item, ops: list[WriteOp]) -> list[WriteOp]:
        """Moving `item` where an item already is. A points account joins the one there (a
        credit raced the erasure); for a guard of a customer referred (or enrolled) again
        after an earlier erasure, the first record keeps it and this one is dropped."""
        moved = ops[0]
        assert isinstance(moved, Put)
        if item.get("type") != ACCOUNT_TYPE:
            return ops[1:]
        there = self._table.get(str(moved.item["pk"]), str(moved.item["sk"]))
        if there is None:
            return ops
        return merge_ops(item, there)


def _evidence_keys(values: dict[EvidenceKind, str], sort: str) -> list[Key]:
    return [
        (keys.evidence(kind.value, value), sort)
        for kind, value in values.items()
        if kind not in UNREAD_KINDS
    ]


def _subjects(observations: Iterable[Item]) -> list[str]:
    return [str(i["referral_id"]) for i in observations if i.get("referral_id")]


def _renamed(value: Any, rename: Pseudonymisation) -> Any:
    if isinstance(value, str):
        return rename.alias if value == rename.customer_id else value
    if isinstance(value, dict):
        return {name: _renamed(inner, rename) for name, inner in value.items()}
    if isinstance(value, list):
        return [_renamed(inner, rename) for inner in value]
    return value


def _rekeyed(value: str, rename: Pseudonymisation) -> str:
    parts = value.split("#")
    return "#".join(rename.alias if part == rename.customer_id else part for part in parts)


def _rewrite_ops(item: Item, rename: Pseudonymisation) -> list[WriteOp]:
    """The write that replaces the raw id in `item`, conditional on the item as read: a
    versioned item (referral, ledger entry) by its version, which advances so that a writer
    holding the raw copy must read again; any other by the attributes rewritten. An item
    whose key names the raw id moves: put under the new key and delete the old, at once."""
    new = {
        name: _rekeyed(value, rename)
        if name in KEY_ATTRIBUTES and isinstance(value, str)
        else _renamed(value, rename)
        for name, value in item.items()
    }
    _drop_payout_address(new, rename)
    if new == item:
        return []
    if (new["pk"], new["sk"]) != (item["pk"], item["sk"]):
        # A versioned item (a points account) moves only as read.
        gone: Condition = Equals("version", item["version"]) if "version" in item else Exists()
        return [Put(new, NotExists()), Delete(item["pk"], item["sk"], gone)]
    changed = {name: value for name, value in new.items() if value != item[name]}
    condition: Condition = All(tuple(Equals(name, item[name]) for name in changed))
    if "version" in item:
        changed["version"] = item["version"] + 1
        doc = changed.get("doc")
        if isinstance(doc, dict) and "version" in doc:
            doc["version"] = item["version"] + 1
        condition = Equals("version", item["version"])
    return [Update(item["pk"], item["sk"], set=changed, condition=condition)]


def _drop_payout_address(item: Item, rename: Pseudonymisation) -> None:
    """A reissue may have given the customer's own ledger entry another raw address; it goes
    with the customer's other emails (a payout still owed then fails for want of one)."""
    doc = item.get("doc")
    if item.get("type") != "reward" or not isinstance(doc, dict):
        return
    if doc.get("customer_id") == rename.alias and doc.get("recipient_email") is not None:
        doc["recipient_email"] = None
