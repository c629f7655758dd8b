"""The fraud features of one referral, computed from stored state as of a moment.

Every lookup is a get or a partition query (the referral, its events, its advocate and
program, and the evidence index partitions of its device, IP, /24 network, cards, advocate
and customer). Times are the records' `occurred_at`, bounded by `as_of`, never the wall
clock: replaying the same records gives the same features as live traffic did.

Velocity windows are centred on the referral (`t - w .. t + w`, cut at `as_of`): a burst
that starts right after a referral is as telling as one before it, and re-scoring sees it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from shared.clock import iso
from shared.domain.advocates import Advocate
from shared.domain.events import ReferralEvent
from shared.domain.evidence import EvidenceKind, is_disposable
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.errors import NotFound
from shared.pii import PiiHasher, PiiKind, canonical_email, email_domain
from shared.repositories import keys
from shared.repositories.advocates import AdvocateRepository
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository
from shared.scoring.feature_spec import FEATURE_NAMES
from shared.storage.table import KeyRange, Table, query_all

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
# A ring is a cycle advocate -> referee (who is an advocate) -> ... -> the first advocate.
RING_MAX_LENGTH = 6
# Bounds the breadth-first search so a popular advocate network cannot blow up one scoring.
RING_MAX_CUSTOMERS = 200
# The advocate's most recent referrals whose outcome is read for the reversal rate.
REVERSAL_LOOKBACK = 20
# The rate counts this many more referrals as having gone well: one bad outcome out of
# one is an accident (a return, a mistaken refusal) more often than a pattern.
REVERSAL_PRIOR = 2
# Identifiers listed in evidence are capped; the count is always complete.
EVIDENCE_IDS = 10

_DECIDED = frozenset(
    {
        ReferralStatus.HOLDING,
        ReferralStatus.REWARDING,
        ReferralStatus.REWARDED,
        ReferralStatus.REVERSED,
        ReferralStatus.REJECTED,
    }
)
_BAD_OUTCOME = frozenset({ReferralStatus.REVERSED, ReferralStatus.REJECTED})
_NOT_A_NAME = re.compile(r"[^a-z0-9]")
# Evidence read only for counts within a window around the referral and for links to its
# advocate (the advocate's customer, or the advocate's other referees).
WINDOWED: dict[EvidenceKind, timedelta] = {
    EvidenceKind.DEVICE: DAY,
    EvidenceKind.IP: DAY,
    EvidenceKind.IP_PREFIX: DAY,
}
# What the features read from the referral's own document.
OWN_INPUTS = (
    "advocate_id",
    "program_id",
    "referee_customer_id",
    "referee_email",
    "fingerprint",
    "occurred_at",
    "qualified_at",
    "qualifying_amount",
)


@dataclass(frozen=True)
class Features:
    """Feature values by name (`values`, in `FEATURE_NAMES` order) plus the raw evidence
    behind them (`evidence`: customers, links, counts, for reasons and reviewers).
    Indexing by name reads `values`."""

    referral_id: str
    as_of: datetime
    values: dict[str, float]
    evidence: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(FEATURE_NAMES)

    def __len__(self) -> int:
        return len(FEATURE_NAMES)

    def keys(self) -> tuple[str, ...]:
        return FEATURE_NAMES

    def row(self) -> list[float]:
        return [self.values[name] for name in FEATURE_NAMES]


# What a mailbox name rebuilt from another's name parts (`mark.jensen` -> `jensenm84`)
# counts as: as close as a one-letter typo, because character overlap alone misses it.
REBUILT_NAME_SIMILARITY = 0.95
# Similar mailbox names at or above this share hint at one person's addresses.
SIMILAR_EMAIL = 0.85
# A device the advocate shares with at least this many other customers, each paying with
# a card of their own, is a shared terminal (a store tablet, a kiosk at an event).
TERMINAL_CUSTOMERS = 3
# What a shared terminal explains: links through the device and the network it sits on.
TERMINAL_EXPLAINS = (
    "same_device",
    "same_ip",
    "same_ip_prefix24",
    "same_user_agent",
    "device_referrals_24h",
    "ip_referrals_24h",
    "ip_prefix_referrals_24h",
)
_LETTERS = re.compile(r"[a-z]+")
_NOT_LETTERS = re.compile(r"[^a-z]")


@lru_cache(maxsize=4096)
def email_local_similarity(first: str | None, second: str | None) -> float:
    """0..1 similarity of two addresses' mailbox names, ignoring case, tags and punctuation.

    A name rebuilt from the other's name parts scores `REBUILT_NAME_SIMILARITY` at least."""
    if not first or not second:
        return 0.0
    a = _local_name(first)
    b = _local_name(second)
    if not a or not b:
        return 0.0
    ratio = round(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)
    if rebuilt_name(first, second) or rebuilt_name(second, first):
        return max(ratio, REBUILT_NAME_SIMILARITY)
    return ratio


def rebuilt_name(email: str, source: str) -> bool:
    """Whether `email`'s mailbox name, digits and punctuation aside, is made of `source`'s
    name parts (each whole or as its initial, each at most once, in any order), with at
    least two parts and one whole part of three letters or more."""
    parts = [p for p in _LETTERS.findall(_raw_local(source)) if len(p) >= 2]
    target = _NOT_LETTERS.sub("", _raw_local(email))
    if len(parts) < 2 or len(parts) > 5 or not target:
        return False

    def build(rest: str, unused: tuple[str, ...], pieces: int, whole: bool) -> bool:
        if not rest:
            return pieces >= 2 and whole
        for i, part in enumerate(unused):
            others = unused[:i] + unused[i + 1 :]
            if rest.startswith(part) and build(
                rest[len(part) :], others, pieces + 1, whole or len(part) >= 3
            ):
                return True
            if rest[0] == part[0] and build(rest[1:], others, pieces + 1, whole):
                return True
        return False

    return build(target, tuple(parts), 0, False)


def _raw_local(email: str) -> str:
    return email.lower().rpartition("@")[0].split("+", 1)[0]


def _local_name(email: str) -> str:
    local = canonical_email(email).rpartition("@")[0]
    return _NOT_A_NAME.sub("", local.split("+", 1)[0])


class Seen(NamedTuple):
    """One evidence-index observation, as stored (`at` is the sortable ISO instant)."""

    at: str
    program_id: str
    advocate_id: str
    referral_id: str | None
    customer_id: str
    role: str


@dataclass
class _Links:
    """What one evidence partition says about the referral."""

    advocate_seen: bool = False
    # Other referrals, referral_id -> the referee's customer_id (what evidence shows).
    window_referrals: dict[str, str] = field(default_factory=dict)
    advocate_referees: dict[str, str] = field(default_factory=dict)


class FeatureExtractor:
    def __init__(self, table: Table, hasher: PiiHasher) -> None:
        self._table = table
        self._referrals = ReferralRepository(table)
        self._advocates = AdvocateRepository(table)
        self._programs = ProgramRepository(table)
        self._hasher = hasher

    def extract(
        self, referral_id: str, as_of: datetime, referral: Referral | None = None
    ) -> Features:
        """Features of the referral as of `as_of`; pass `referral` if it was just read."""
        referral = referral or self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        advocate = self._advocates.get(referral.advocate_id)
        if advocate is None:  # pragma: no cover - referrals always name a stored advocate
            raise NotFound(f"no advocate {referral.advocate_id}")
        program = self._programs.terms(referral.program_id)
        if program is None:  # pragma: no cover - referrals always name a stored program
            raise NotFound(f"no program {referral.program_id}")
        return _Extraction(self, referral, advocate, program, as_of).run()

    # Reads. The evidence index's items are read as stored, without building models:
    # one scoring reads dozens of them and the hourly re-score reads them all again.
    def _seen(self, kind: EvidenceKind, value: str, until: str) -> list[Seen]:
        items = query_all(
            self._table, keys.evidence(kind.value, value), key_range=KeyRange(high=f"{until}~")
        )
        return [
            Seen(
                i["occurred_at"],
                i["program_id"],
                i["advocate_id"],
                i.get("referral_id"),
                i["customer_id"],
                i["role"],
            )
            for i in items
        ]

    def _events(self, referral_id: str) -> list[ReferralEvent]:
        return self._referrals.events(referral_id)

    def _status(self, referral_id: str) -> tuple[ReferralStatus, bool] | None:
        """The referral's status and whether it was clawed back after payout.

        Both are kept beside the document (for the status index and for this); no need to
        parse it."""
        item = self._table.get(*keys.referral(referral_id))
        return (ReferralStatus(item["status"]), bool(item.get("clawed_back"))) if item else None

    def _customer_hash(self, customer_id: str) -> str:
        return self._hasher.digest(PiiKind.CUSTOMER, customer_id)


class _Extraction:
    """One referral's features; memoises partition reads for the duration of one call."""

    def __init__(
        self,
        source: FeatureExtractor,
        referral: Referral,
        advocate: Advocate,
        program: Program,
        as_of: datetime,
    ) -> None:
        self.source = source
        self.referral = referral
        self.advocate = advocate
        self.program = program
        self.as_of = as_of
        self.until = iso(as_of)
        self.t = referral.occurred_at
        self._memo: dict[tuple[EvidenceKind, str], list[Seen]] = {}
        self.events: list[ReferralEvent] = []

    def seen(self, kind: EvidenceKind, value: str) -> list[Seen]:
        key = (kind, value)
        if key not in self._memo:
            self._memo[key] = self.source._seen(kind, value, self.until)
        return self._memo[key]

    def run(self) -> Features:
        referral, advocate = self.referral, self.advocate
        mine, theirs = referral.fingerprint, advocate.fingerprint
        evidence: dict[str, Any] = {
            "advocate_id": advocate.advocate_id,
            "advocate_customer_id": advocate.customer_id,
            "referee_customer_id": referral.referee_customer_id,
        }
        values: dict[str, float] = {}

        device = self._links(EvidenceKind.DEVICE, mine.device, WINDOWED[EvidenceKind.DEVICE])
        ip = self._links(EvidenceKind.IP, mine.ip, WINDOWED[EvidenceKind.IP])
        prefix = self._links(
            EvidenceKind.IP_PREFIX, mine.ip_prefix, WINDOWED[EvidenceKind.IP_PREFIX]
        )
        self.events = [
            e for e in self.source._events(referral.referral_id) if e.occurred_at <= self.as_of
        ]
        cards = sorted({e.payment_fingerprint for e in self.events if e.payment_fingerprint})
        payment = _Links()
        card_customers: set[str] = set()
        for card in cards:
            found = self._links(EvidenceKind.PAYMENT, card, WEEK, centre=self._card_time(card))
            payment.advocate_seen |= found.advocate_seen
            payment.window_referrals.update(found.window_referrals)
            payment.advocate_referees.update(found.advocate_referees)
            card_customers.update(o.customer_id for o in self.seen(EvidenceKind.PAYMENT, card))
        # A family shares a card with the advocate; strangers sharing one are not a family.
        card_customers -= {referral.referee_customer_id, referral.advocate_customer_id}

        values["same_device"] = _flag(device.advocate_seen or _equal(mine.device, theirs.device))
        values["same_ip"] = _flag(ip.advocate_seen or _equal(mine.ip, theirs.ip))
        values["same_ip_prefix24"] = _flag(
            prefix.advocate_seen or _equal(mine.ip_prefix, theirs.ip_prefix)
        )
        values["same_user_agent"] = _flag(_equal(mine.user_agent, theirs.user_agent))

        similarity = email_local_similarity(referral.referee_email, advocate.email)
        values["email_alias"] = _flag(_equal(mine.email, theirs.email))
        values["email_local_similarity"] = 1.0 if values["email_alias"] else similarity
        values["same_payment_fingerprint"] = _flag(payment.advocate_seen)
        disposable = mine.disposable_email or is_disposable(referral.referee_email)
        values["disposable_email"] = _flag(disposable)
        values["automation_user_agent"] = _flag(mine.automation_user_agent)
        values["country_mismatch"] = _flag(
            bool(mine.country and theirs.country and mine.country != theirs.country)
        )
        if referral.referee_email:
            evidence["referee_email_domain"] = email_domain(referral.referee_email)
        evidence["email_similarity"] = values["email_local_similarity"]
        evidence["countries"] = {"advocate": theirs.country, "referee": mine.country}
        evidence["qualifying_event"] = self.program.qualifying_event

        referee_customer = self.seen(
            EvidenceKind.CUSTOMER, self.source._customer_hash(referral.referee_customer_id)
        )
        values["referee_is_advocate"] = _flag(
            any(
                o.role == "advocate" and o.program_id == referral.program_id
                for o in referee_customer
            )
        )

        advocate_obs = [
            o
            for o in self.seen(EvidenceKind.ADVOCATE, advocate.advocate_id)
            if o.role == "referee" and o.referral_id and o.referral_id != referral.referral_id
        ]
        for name, window in (("1h", HOUR), ("24h", DAY), ("7d", WEEK)):
            low, high = self._window(self.t, window)
            values[f"advocate_referrals_{name}"] = float(
                sum(1 for o in advocate_obs if low <= o.at <= high)
            )

        values["device_referrals_24h"] = float(len(device.window_referrals))
        values["ip_referrals_24h"] = float(len(ip.window_referrals))
        values["ip_prefix_referrals_24h"] = float(len(prefix.window_referrals))
        values["payment_fingerprint_referrals_7d"] = float(len(payment.window_referrals))
        values["payment_card_customers"] = float(len(card_customers))
        evidence["card_customers"] = _ids(card_customers)
        evidence["device_referees"] = _ids(device.window_referrals.values())
        evidence["ip_referees"] = _ids(ip.window_referrals.values())
        evidence["payment_referees"] = _ids(payment.window_referrals.values())
        evidence["payment_cards"] = cards
        evidence["links_to_advocate"] = sorted(
            name
            for name, links in (
                ("device", device),
                ("ip", ip),
                ("ip_prefix", prefix),
                ("payment", payment),
            )
            if links.advocate_seen
        )

        converted = referral.qualified_at or self.as_of
        values["seconds_to_conversion"] = max((converted - self.t).total_seconds(), 0.0)
        values["order_value_ratio"] = _order_value_ratio(
            referral.qualifying_amount, self.program.min_order_value
        )

        ring, mutual = self._ring()
        values["ring_cycle"] = _flag(ring is not None)
        if ring is not None:
            evidence["ring"] = ring
        evidence["mutual_referral"] = mutual

        terminal = self._shared_terminal(device, payment, cards, card_customers, values)
        if terminal:
            # Many customers each paying with their own card on the advocate's device is an
            # in-store or event sign-up, not one person's aliases: the device and its network
            # say nothing about this referee, so they are left out rather than counted.
            evidence["shared_terminal"] = {
                "device_customers": len(terminal),
                "customers": _ids(terminal),
            }
            for name in TERMINAL_EXPLAINS:
                values[name] = 0.0
            evidence["links_to_advocate"] = [
                name for name in evidence["links_to_advocate"] if name == "payment"
            ]

        # A family behind one router shares an IP; sharing a device or a card is rarer.
        shared = {**({} if terminal else device.advocate_referees), **payment.advocate_referees}
        values["advocate_shared_fingerprint_referees"] = float(len(shared))
        evidence["shared_referees"] = _ids(shared.values())

        decided, bad, clawed_back = self._outcomes(advocate_obs)
        values["advocate_reversal_rate"] = round(bad / (decided + REVERSAL_PRIOR), 4)
        evidence["advocate_decided_referrals"] = decided
        evidence["advocate_reversed_or_rejected"] = bad
        evidence["advocate_clawed_back"] = clawed_back

        tenure = (self.t - advocate.enrolled_at).total_seconds() / 86400
        values["advocate_tenure_days"] = round(max(tenure, 0.0), 6)
        return Features(
            referral_id=referral.referral_id,
            as_of=self.as_of,
            values={name: float(values[name]) for name in FEATURE_NAMES},
            evidence=evidence,
        )

    def _shared_terminal(
        self,
        device: _Links,
        payment: _Links,
        cards: Sequence[str],
        card_customers: set[str],
        values: dict[str, float],
    ) -> set[str]:
        """The other customers on the advocate's device if it is a shared terminal, else
        an empty set.

        It is one only for a referee with nothing else tying them to the advocate: their
        own card (no one else's, not the advocate's), a mailbox name unlike the advocate's.
        """
        if not values["same_device"] or not cards:
            return set()
        if payment.advocate_seen or payment.advocate_referees or card_customers:
            return set()
        if values["email_alias"] or values["email_local_similarity"] >= SIMILAR_EMAIL:
            return set()
        others = set(device.advocate_referees.values()) - {self.referral.referee_customer_id}
        return others if len(others) >= TERMINAL_CUSTOMERS else set()

    def _window(self, centre: datetime, window: timedelta) -> tuple[str, str]:
        """Inclusive ISO bounds of `centre +- window`, cut at as_of."""
        return iso(centre - window), iso(min(centre + window, self.as_of))

    def _links(
        self,
        kind: EvidenceKind,
        value: str | None,
        window: timedelta,
        centre: datetime | None = None,
    ) -> _Links:
        links = _Links()
        if not value:
            return links
        referral = self.referral
        low, high = self._window(centre or self.t, window)
        for obs in self.seen(kind, value):
            if obs.customer_id == referral.advocate_customer_id:
                links.advocate_seen = True
            if obs.role != "referee" or not obs.referral_id:
                continue
            if obs.referral_id == referral.referral_id:
                continue
            if obs.program_id == referral.program_id and low <= obs.at <= high:
                links.window_referrals[obs.referral_id] = obs.customer_id
            if obs.advocate_id == referral.advocate_id:
                links.advocate_referees[obs.referral_id] = obs.customer_id
        return links

    def _card_time(self, card: str) -> datetime:
        own = [
            e.occurred_at
            for e in self.events
            if e.payment_fingerprint == card and e.occurred_at <= self.as_of
        ]
        return min(own) if own else self.t

    def _referred_by(self, customer_id: str) -> list[str]:
        """Customers referred by any advocate enrolment of `customer_id`, up to as_of."""
        customer = self.seen(EvidenceKind.CUSTOMER, self.source._customer_hash(customer_id))
        advocacies = sorted({o.advocate_id for o in customer if o.role == "advocate"})
        referred: set[str] = set()
        for advocate_id in advocacies:
            referred.update(
                o.customer_id
                for o in self.seen(EvidenceKind.ADVOCATE, advocate_id)
                if o.role == "referee"
            )
        return sorted(referred)

    def _ring(self) -> tuple[list[str] | None, bool]:
        """The shortest referral path from the referee back to the advocate that closes a
        cycle of three to RING_MAX_LENGTH referrals (this one included), and whether the
        referee referred the advocate directly.

        Two friends referring each other (one in each program) is ordinary; three or more
        people passing referrals round a circle is not, so the direct return does not
        count as a ring on its own.
        """
        target = self.referral.advocate_customer_id
        start = self.referral.referee_customer_id
        if start == target:
            return None, False
        mutual = False
        parent: dict[str, str | None] = {start: None}
        frontier = [start]
        for _ in range(RING_MAX_LENGTH - 1):
            following: list[str] = []
            for customer in frontier:
                for referee in self._referred_by(customer):
                    if referee == target and customer == start:
                        mutual = True
                        continue
                    if referee == target:
                        return [target, *_path(parent, customer), target], mutual
                    if referee in parent or len(parent) >= RING_MAX_CUSTOMERS:
                        continue
                    parent[referee] = customer
                    following.append(referee)
            if not following:
                return None, mutual
            frontier = following
        return None, mutual

    def _outcomes(self, advocate_obs: Iterable[Seen]) -> tuple[int, int, int]:
        # Ordered by time then customer, not by the stored key's random id tie-break.
        past = sorted(
            (o for o in advocate_obs if o.referral_id),
            key=lambda o: (o.at, o.customer_id),
        )
        decided = bad = clawed_back = 0
        for referral_id in [o.referral_id for o in past[-REVERSAL_LOOKBACK:] if o.referral_id]:
            outcome = self.source._status(referral_id)
            if outcome is not None and outcome[0] in _DECIDED:
                decided += 1
                bad += outcome[0] in _BAD_OUTCOME
                clawed_back += outcome[1]
        return decided, bad, clawed_back


def _outcome(item: Mapping[str, Any] | None) -> tuple[bool, bool, bool] | None:
    if item is None or "status" not in item:
        return None
    status = ReferralStatus(item["status"])
    return (status in _DECIDED, status in _BAD_OUTCOME, bool(item.get("clawed_back")))


def change_matters(
    referral: Referral,
    pk: str,
    sk: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> bool:
    """Whether a write to an item this referral's features were computed from can change
    them. The contract the incremental re-score relies on (`shared.backtest.incremental`):
    answer True whenever unsure. `before`/`after` are the item around a put (None: absent
    or unknown); an update or a delete comes with neither and always matters."""
    if after is None:
        return True
    if pk.startswith("EV#") and before is None:
        kind = EvidenceKind(pk.split("#", 2)[1])
        window = WINDOWED.get(kind)
        if window is None:
            return True
        if after.get("customer_id") == referral.advocate_customer_id:
            return True
        if after.get("advocate_id") == referral.advocate_id:
            return True
        at = str(after.get("occurred_at", ""))
        return iso(referral.occurred_at - window) <= at <= iso(referral.occurred_at + window)
    if pk == keys.referral(referral.referral_id)[0] and sk == keys.referral("")[1]:
        if before is None:
            return True
        old, new = before.get("doc", {}), after.get("doc", {})
        return any(old.get(name) != new.get(name) for name in OWN_INPUTS)
    if pk.startswith("REFERRAL#") and sk == keys.referral("")[1]:
        # Another referral of the advocate: only whether it is decided and how counts.
        old_outcome = _outcome(before)
        return old_outcome is None or old_outcome != _outcome(after)
    return True


def _path(parent: dict[str, str | None], customer: str) -> list[str]:
    path: list[str] = []
    node: str | None = customer
    while node is not None:
        path.append(node)
        node = parent[node]
    return list(reversed(path))


def _flag(value: bool) -> float:
    return 1.0 if value else 0.0


def _equal(first: str | None, second: str | None) -> bool:
    return bool(first) and first == second


def _ids(values: Iterable[str]) -> list[str]:
    return sorted(values)[:EVIDENCE_IDS]


def _order_value_ratio(amount: Decimal | None, minimum: Decimal | None) -> float:
    if amount is None or not minimum:
        return 1.0
    return round(float(amount / minimum), 6)
