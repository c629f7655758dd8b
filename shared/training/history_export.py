"""The stored history as a backtest input and training labels (`rewards history export`).

`events.jsonl` rebuilds, in time order, the operations that made the stored records:
programs, enrolments, referrals, events, refunds and reviewer decisions. Personal values
are the stored keyed hashes (`"hashed": true` lines, README "Backtest"), and a customer
whose data was erased is named by a keyed pseudonym, the same in both files.

`labels.jsonl` says which referrals were fraud and which were legitimate, and why:
  review     (fraud/legit) a reviewer's final decision (it wins over the rest);
  blocklist  (fraud) the referral's evidence matches a blocklist entry;
  clawback   (fraud) clawed back, from an advocate with >= 2 clawbacks;
  refund     (legit) rewarded, and neither refunded nor reversed for `SETTLED_AFTER`
             after its payout (its refund window passed).
A single refund is no label: customers return things.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.clock import iso
from shared.domain.advocates import Advocate
from shared.domain.customers import ERASED_PREFIX
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.rewards import RewardStatus
from shared.progress import progress
from shared.repositories.history import ReferralHistory, StoredHistory
from shared.scoring.evidence.email import email_local_similarity
from shared.training.program_terms_body import program_body

SETTLED_AFTER = timedelta(days=30)
REPEAT_CLAWBACKS = 2
_ORDER = {"program": 0, "advocate": 1, "referral": 2, "event": 3, "refund": 4, "review": 5}
_PAID = {RewardStatus.SENT, RewardStatus.CONFIRMED}


@dataclass
class ExportedHistory:
    ops: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)

    def ordered_ops(self) -> list[dict[str, Any]]:
        return sorted(self.ops, key=lambda op: (op["at"], _ORDER[op["op"]]))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def program_op(program: Program) -> dict[str, Any]:
    body = program_body(program)
    return {"op": "program", "at": iso(program.started_at), "ref": program.program_id, "body": body}


class HistoryExport:
    """Assembles the export from a `StoredHistory`. `pseudonym(customer_id)` is the
    keyed pseudonym erasure gives a customer id (`shared.domain.customers.pseudonym`)."""

    def __init__(
        self, stored: StoredHistory, pseudonym: Callable[[str], str], now: datetime
    ) -> None:
        self._stored = stored
        self._pseudonym = pseudonym
        self._now = now
        self._erased: set[str] = set()
        self._blocked: set[tuple[str, str]] = set()

    def export(self, stream: Any = None) -> ExportedHistory:
        out = ExportedHistory()
        self._blocked = {(e.kind, e.value_hash) for e in self._stored.blocklist()}
        read = [
            (
                program,
                self._stored.advocates(program.program_id),
                list(self._stored.referrals(program.program_id)),
            )
            for program in self._stored.programs()
        ]
        # Erasure is per customer, across programs: every line names them the same way.
        for _, advocates, referrals in read:
            self._erased |= {a.customer_id for a in advocates if a.contact_erased}
            self._erased |= {r.referee_customer_id for r in referrals if r.referee_email is None}
        for program, advocates, referrals in read:
            out.ops.append(program_op(program))
            out.ops.extend(self._advocate_op(a) for a in advocates)
            self._export_referrals(out, {a.advocate_id: a for a in advocates}, referrals, stream)
        out.ops = out.ordered_ops()
        return out

    def _export_referrals(
        self,
        out: ExportedHistory,
        advocates: dict[str, Advocate],
        referrals: list[Referral],
        stream: Any,
    ) -> None:
        repeat = {a for a in advocates if self._stored.clawbacks(a).clawed_back >= REPEAT_CLAWBACKS}
        for referral in progress(
            referrals,
            total=len(referrals),
            desc="exporting history",
            unit="referral",
            stream=stream,
        ):
            found = self._stored.of_referral(referral)
            out.ops.extend(self._referral_ops(found, advocates.get(referral.advocate_id)))
            label = self._label(found, referral.advocate_id in repeat)
            if label is not None:
                out.labels.append(label)

    def name(self, customer_id: str) -> str:
        """The customer id as exported: a pseudonym once the customer's data was erased."""
        # Erasure already replaced the id by its keyed pseudonym (`erased:<hash>`) in
        # every record it reached; an id still raw on a record whose contact details were
        # erased (an erasure left unfinished) gets the same pseudonym here.
        if customer_id in self._erased and not customer_id.startswith(ERASED_PREFIX):
            return self._pseudonym(customer_id)
        return customer_id

    def _advocate_op(self, advocate: Advocate) -> dict[str, Any]:
        body = {
            "customer_id": self.name(advocate.customer_id),
            "fingerprint": advocate.fingerprint.model_dump(mode="json", exclude_none=True),
        }
        return {
            "op": "advocate",
            "at": iso(advocate.enrolled_at),
            "program": advocate.program_id,
            "hashed": True,
            "body": body,
        }

    def _referral_ops(
        self, found: ReferralHistory, advocate: Advocate | None
    ) -> Iterator[dict[str, Any]]:
        referral = found.referral
        program, referee = referral.program_id, self.name(referral.referee_customer_id)
        body: dict[str, Any] = {
            "referee": {"customer_id": referee},
            "fingerprint": referral.fingerprint.model_dump(mode="json", exclude_none=True),
        }
        similarity = email_local_similarity(
            referral.referee_email, advocate.email if advocate else None
        )
        if similarity:
            body["email_similarity"] = similarity
        head = {"program": program, "hashed": True}
        advocate_name = self.name(referral.advocate_customer_id)
        yield {
            "op": "referral",
            "at": iso(referral.occurred_at),
            **head,
            "advocate": advocate_name,
            "body": body,
        }
        for event in found.events:
            shown = {
                "type": event.type,
                "order_id": event.order_id,
                "amount": _money(event.amount),
                "currency": event.currency,
                "payment_fingerprint": event.payment_fingerprint,
            }
            event_body = {k: v for k, v in shown.items() if v is not None}
            yield {
                "op": "event",
                "at": iso(event.occurred_at),
                **head,
                "referee": referee,
                "body": event_body,
            }
        for refund in found.refunds:
            refund_body = {
                "order_id": refund.order_id,
                "amount": _money(refund.amount),
                "currency": refund.currency,
            }
            if refund.refund_id:
                refund_body["refund_id"] = refund.refund_id
            yield {
                "op": "refund",
                "at": iso(refund.occurred_at),
                "program": program,
                "referee": referee,
                "body": refund_body,
            }
        yield from self._review_ops(found, referee)

    def _review_ops(self, found: ReferralHistory, referee: str) -> Iterator[dict[str, Any]]:
        approved_at = {a.by: a.at for a in found.referral.approvals}
        for label in found.labels:
            if label.decided_by == ["system:expire-reviews"]:
                continue  # the replay's own review-timeout job decides these again
            for by in label.decided_by:
                at = (
                    approved_at.get(by, label.decided_at)
                    if by != label.decided_by[-1]
                    else label.decided_at
                )
                yield {
                    "op": "review",
                    "at": iso(at),
                    "program": found.referral.program_id,
                    "referee": referee,
                    "body": {"decision": label.decision, "by": by},
                }

    def _label(self, found: ReferralHistory, repeat_clawbacks: bool) -> dict[str, Any] | None:
        labelled = self._label_source(found, repeat_clawbacks)
        if labelled is None:
            return None
        label, source = labelled
        referral = found.referral
        return {
            "program": referral.program_id,
            "referee": self.name(referral.referee_customer_id),
            "label": label,
            "source": source,
        }

    def _label_source(
        self, found: ReferralHistory, repeat_clawbacks: bool
    ) -> tuple[str, str] | None:
        finance = [label for label in found.labels if label.decided_by != ["system:expire-reviews"]]
        if finance:
            latest = max(finance, key=lambda label: label.decided_at)
            return ("fraud" if latest.fraud else "legit"), "review"
        if self._is_blocked(found):
            return "fraud", "blocklist"
        referral = found.referral
        clawed = referral.clawed_back_at is not None or any(
            r.status == RewardStatus.CLAWED_BACK for r in found.rewards
        )
        if clawed and repeat_clawbacks:
            return "fraud", "clawback"
        if referral.status == ReferralStatus.REWARDED and not found.refunds and not clawed:
            paid = [r.last_attempt_at or r.updated_at for r in found.rewards if r.status in _PAID]
            if paid and max(paid) + SETTLED_AFTER <= self._now:
                return "legit", "refund"
        return None

    def _is_blocked(self, found: ReferralHistory) -> bool:
        prints = found.referral.fingerprint
        candidates: list[tuple[str, str | None]] = [
            ("advocate", found.referral.advocate_id),
            ("email_domain", prints.email_domain),
            ("device", prints.device),
            ("ip", prints.ip),
        ]
        candidates += [("payment", e.payment_fingerprint) for e in found.events]
        return any(value and (kind, value) in self._blocked for kind, value in candidates)


def write_jsonl(path: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSON lines through a partial file, so a failed export leaves none."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    count = 0
    with partial.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    partial.replace(path)
    return count
