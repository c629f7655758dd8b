"""The open-review index and the reviewer labels.

An open review is one small item per referral in `review`, written in the same transaction
that moves the referral into (or out of) review. Its sort key ranks by score, so "highest
risk first" is a query on gsi1 (all programs) or gsi2 (one program), and `min_score` is a
key range; reason filters read on within a bounded budget.
"""

from __future__ import annotations

from decimal import Decimal

from shared.atomic_changes import Changes
from shared.clock import iso
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.reviews import OpenReview, ReviewFilter, ReviewLabel, review_opened_at
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import (
    Delete,
    Item,
    KeyRange,
    NotExists,
    Put,
    Table,
    WriteOp,
    cursor_key_names,
    encode_cursor,
    query_all,
)

__all__ = ["FILTER_READ_BUDGET", "LabelStore", "ReviewFilter", "ReviewIndex", "open_review"]

# Items read per request at most while filtering by reason: a rare reason returns a short
# (possibly empty) page with a cursor instead of reading the whole index in one request.
FILTER_READ_BUDGET = 1000


def open_review(referral: Referral) -> OpenReview:
    risk = referral.risk
    return OpenReview(
        referral_id=referral.referral_id,
        program_id=referral.program_id,
        advocate_id=referral.advocate_id,
        score=risk.score if risk else Decimal(0),
        decision=risk.decision if risk else "review",
        reasons=list(risk.reasons) if risk else [],
        model_version=risk.model_version if risk else "",
        opened_at=review_opened_at(referral),
        qualified_at=referral.qualified_at,
        approvals=list(referral.approvals),
    )


class ReviewIndex:
    def __init__(self, table: Table) -> None:
        self._table = table

    @staticmethod
    def put_op(referral: Referral) -> Put:
        review = open_review(referral)
        pk, sk = keys.review(referral.referral_id)
        rank = keys.review_rank(review.score, review.opened_at, review.referral_id)
        return Put(
            {
                "pk": pk,
                "sk": sk,
                "type": "review",
                "gsi1pk": keys.OPEN_REVIEWS,
                "gsi1sk": rank,
                "gsi2pk": keys.open_reviews_of_program(referral.program_id),
                "gsi2sk": rank,
                "score": review.score,
                "reason_codes": sorted({r.code for r in review.reasons}),
                "referral_version": referral.version,
                "doc": to_doc(review),
            }
        )

    @staticmethod
    def delete_op(referral_id: str) -> Delete:
        return Delete(*keys.review(referral_id))

    def sync_ops(self, referral: Referral, was_in_review: bool | None = None) -> list[WriteOp]:
        """The index change that goes with saving `referral`.

        Writers that move a referral into or out of review add these ops to the same
        transaction. Without `was_in_review`, leaving review is recognised by the review
        fields `enter_review` sets.
        """
        if referral.status == ReferralStatus.REVIEW:
            return [self.put_op(referral)]
        left = was_in_review if was_in_review is not None else referral.review_opened_at
        return [self.delete_op(referral.referral_id)] if left else []

    def sync(
        self, referral: Referral, *, was_in_review: bool | None = None, within: Changes
    ) -> None:
        """Stage the index change that goes with saving `referral` (see `sync_ops`)."""
        for op in self.sync_ops(referral, was_in_review):
            within.stage(op)

    def restore(self, referral: Referral) -> None:
        """Write the open review of a referral in review whose index item was lost or stale."""
        self._table.write([self.put_op(referral)])

    def close(self, referral_id: str) -> None:
        """Drop the index item of a referral that is no longer in review."""
        self._table.write([self.delete_op(referral_id)])

    def get(self, referral_id: str) -> Item | None:
        return self._table.get(*keys.review(referral_id))

    def indexed_version(self, referral_id: str) -> int | None:
        """The referral version the open review was written from (None: not indexed)."""
        item = self.get(referral_id)
        return None if item is None else int(item.get("referral_version", 0))

    def open_referral_ids(self) -> list[str]:
        """The referral of every open review item (the daily job's consistency check)."""
        return [str(item["doc"]["referral_id"]) for item in self.all_open()]

    def page(
        self, where: ReviewFilter, limit: int, cursor: str | None
    ) -> tuple[list[OpenReview], str | None]:
        if where.program_id:
            index, partition = "gsi2", keys.open_reviews_of_program(where.program_id)
        else:
            index, partition = "gsi1", keys.OPEN_REVIEWS
        key_range = (
            KeyRange(high=keys.review_rank_floor(where.min_score))
            if where.min_score is not None
            else None
        )
        batch = limit if where.reason is None else max(limit, 100)
        found: list[Item] = []
        read = 0
        while True:
            page = self._table.query(
                partition, index=index, key_range=key_range, limit=batch, cursor=cursor
            )
            for position, item in enumerate(page.items):
                read += 1
                if _matches(item, where):
                    found.append(item)
                last_of_all = page.cursor is None and position == len(page.items) - 1
                if len(found) == limit or read >= FILTER_READ_BUDGET:
                    next_cursor = None if last_of_all else _cursor(item, index)
                    return [from_item(OpenReview, i) for i in found], next_cursor
            if page.cursor is None:
                return [from_item(OpenReview, i) for i in found], None
            cursor = page.cursor

    def all_open(self) -> list[Item]:
        """Every open review item (the daily job's consistency check)."""
        return query_all(self._table, keys.OPEN_REVIEWS, index="gsi1")


def _matches(item: Item, where: ReviewFilter) -> bool:
    # The key range selects by score rounded to 0.001; the exact score settles the edge.
    if where.min_score is not None and Decimal(item["score"]) < where.min_score:
        return False
    return where.reason is None or where.reason in item.get("reason_codes", [])


def _cursor(item: Item, index: str) -> str:
    return encode_cursor({name: item[name] for name in cursor_key_names(index)})


class LabelStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    @staticmethod
    def put_op(label: ReviewLabel) -> Put:
        pk, sk = keys.label(label.referral_id, label.label_id)
        doc = to_doc(label)
        if label.features is not None:
            # The table holds no floats; the text form round-trips exactly (inf and nan too).
            doc["features"] = {name: repr(value) for name, value in label.features.items()}
        return Put(
            {
                "pk": pk,
                "sk": sk,
                "type": "label",
                "gsi1pk": keys.LABELS,
                "gsi1sk": f"{iso(label.decided_at)}#{label.label_id}",
                "doc": doc,
            },
            NotExists(),
        )

    def add(self, label: ReviewLabel, *, within: Changes) -> None:
        """Record the label with the decision it comes from (committed with `within`)."""
        within.stage(self.put_op(label))

    def page(self, limit: int, cursor: str | None) -> tuple[list[ReviewLabel], str | None]:
        page = self._table.query(keys.LABELS, index="gsi1", limit=limit, cursor=cursor)
        return [from_item(ReviewLabel, item) for item in page.items], page.cursor

    def for_referral(self, referral_id: str) -> list[ReviewLabel]:
        pk, _ = keys.label(referral_id, "")
        items = query_all(self._table, pk, key_range=KeyRange(begins_with="LABEL#"))
        return [from_item(ReviewLabel, item) for item in items]
