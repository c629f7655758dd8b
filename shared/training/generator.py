"""Seeded synthetic referral traffic in the backtest format, with fraud labels.

``generate`` returns backtest JSONL lines (``program``, ``advocate``, ``referral``,
``event``, ``refund`` ops, in time order, ``at`` in ISO 8601 UTC with ``Z``) and a
labels sidecar with one entry per ``referral`` op: ``program``, ``referee``,
``advocate``, ``label`` (``legit`` or ``fraud``) and ``pattern``.

Legitimate traffic is deliberately messy, so that no single signal separates it
from fraud:

* ``legit_friend``: a friend elsewhere, own device, IP and card, converts within
  hours to weeks, sometimes buys again later.
* ``legit_household``: someone in the advocate's home: the same IP (so the same
  /24), often the same browser, sometimes the shared family tablet or card, a
  similar email (same surname), fast conversions.
* ``legit_mobile``: a referee on a mobile carrier whose NAT IPs are shared by
  strangers, so IP and /24 velocity counts are high for innocent people.
* ``legit_fast``: buys within minutes (the advocate showed them the checkout).
* ``legit_traveller``: referee in a different country from the advocate.
* ``legit_influencer``: advocates with large audiences whose posts cause bursts of
  dozens of referrals an hour, from unrelated devices.
* ``legit_refund``: ordinary returns, full or partial, before or after payout.
* ``legit_chain``: referees who liked the product, enrolled as advocates
  themselves and referred their own friends (so advocates have their own orders).

Fraud patterns (``FRAUD_PATTERNS``):

* ``self_referral_alias``: the advocate refers themself under gmail aliases (dots,
  ``+tags``) from the same device and IP, converts at once at the minimum order.
* ``device_farm``: an operator runs a few advocate accounts and pushes dozens of
  fabricated referees through two to four devices, rotating residential-proxy IPs
  so no IP repeats; plausible emails and browsers; orders just over the minimum.
  **Held out of training** (``HELD_OUT_PATTERN``) to measure how the anomaly model
  generalises to fraud it has never seen labelled.
* ``referral_ring``: three to six accounts refer each other in a cycle (A -> B ->
  ... -> A), each enrolling as an advocate after being referred; separate devices,
  often one /24, modest orders. When first scored only the closing edge shows the
  cycle; re-scoring sees it on the others.
* ``shared_payment``: fake referees with their own emails, devices and IPs all pay
  with one card, usually the advocate's own (the advocate bought as a referee
  earlier in another program with the same currency, when there is one).
* ``disposable_burst``: a burst of referees with disposable email domains within
  an hour or two, scripted (headless browser or HTTP library user agents) from
  datacenter IPs, converting within seconds to minutes.
* ``refund_abuse``: accomplices buy just above the minimum order value and refund
  the order after the holding period, once the reward has been paid out; repeated
  over weeks, so the advocate's reversal rate builds up.
* ``slow_drip_alias`` (subtle): the advocate opens look-alike accounts one every
  few days (``mark.jensen`` -> ``markjensen84``, ``jensen.mark``) on different
  devices, sometimes from the same /24, converting at a normal pace.

Money is ``Decimal`` throughout and written as decimal strings ("24.99").
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

FRAUD_PATTERNS: tuple[str, ...] = (
    "self_referral_alias",
    "device_farm",
    "referral_ring",
    "shared_payment",
    "disposable_burst",
    "refund_abuse",
    "slow_drip_alias",
)
LEGIT_PATTERNS: tuple[str, ...] = (
    "legit_friend",
    "legit_household",
    "legit_mobile",
    "legit_fast",
    "legit_traveller",
    "legit_influencer",
    "legit_refund",
    "legit_chain",
)
HELD_OUT_PATTERN = "device_farm"
OP_ORDER = ("program", "advocate", "referral", "event", "refund")
DEFAULT_START = datetime(2025, 3, 3, tzinfo=UTC)

_CENT = Decimal("0.01")

FIRST_NAMES = (
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara "
    "richard susan joseph jessica thomas sarah charles karen chris nancy daniel lisa matthew "
    "betty anthony sandra mark ashley steven emily paul michelle andrew amanda joshua melissa "
    "kevin deborah brian laura george rebecca timothy sharon ryan cynthia jacob kathleen "
    "lukas anna felix sophie jonas marie leon emma noah mia paul lea elias hanna"
).split()
LAST_NAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez "
    "lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson "
    "white harris sanchez clark ramirez lewis robinson walker young allen king wright scott "
    "torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter "
    "mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann jensen"
).split()
US_PROVIDERS = (
    ("gmail.com", 45),
    ("yahoo.com", 12),
    ("outlook.com", 8),
    ("hotmail.com", 7),
    ("icloud.com", 10),
    ("aol.com", 3),
    ("comcast.net", 5),
    ("proton.me", 3),
    ("att.net", 3),
    ("verizon.net", 4),
)
EU_PROVIDERS = (
    ("gmail.com", 40),
    ("gmx.de", 15),
    ("web.de", 12),
    ("outlook.com", 8),
    ("yahoo.fr", 6),
    ("orange.fr", 6),
    ("icloud.com", 8),
    ("proton.me", 5),
)
DISPOSABLE_DOMAINS = (
    "mailinator.com",
    "guerrillamail.com",
    "10minutemail.com",
    "yopmail.com",
    "trashmail.com",
    "sharklasers.com",
    "getnada.com",
    "maildrop.cc",
    "dispostable.com",
)
BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36 Edg/123.0.2420.81",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
)
MOBILE_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_7 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.6312.118 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
)
AUTOMATION_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.6367.60 Safari/537.36",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
    "PhantomJS/2.1.1 Safari/538.1",
)
# Public first octets for home broadband; mobile carriers and datacenters get their own.
HOME_OCTETS = (24, 47, 50, 66, 67, 68, 69, 71, 73, 75, 76, 96, 97, 98, 99, 107, 108, 174, 184)
EU_HOME_OCTETS = (77, 78, 79, 80, 84, 85, 87, 88, 89, 91, 93, 94, 95, 109)
CARRIER_PREFIXES = (
    "172.56.21",
    "172.58.110",
    "172.58.47",
    "166.205.141",
    "174.205.9",
    "107.77.205",
)
EU_CARRIER_PREFIXES = ("80.187.104", "80.187.96", "176.0.134", "37.170.52")
DATACENTER_OCTETS = (45, 104, 138, 139, 142, 157, 159, 161, 164, 167, 178, 188, 206)

US_COUNTRIES = (("US", 90), ("CA", 6), ("GB", 4))
EU_COUNTRIES = (("DE", 55), ("FR", 20), ("NL", 10), ("AT", 8), ("ES", 7))
TRAVEL_COUNTRIES = ("MX", "FR", "IT", "ES", "JP", "GB", "DE", "PT", "TH", "BR", "US")


@dataclass(frozen=True)
class Program:
    ref: str
    currency: str
    min_order: Decimal
    attribution_days: int
    holding_days: int
    eu: bool
    body: dict[str, Any]


@dataclass
class Person:
    customer_id: str
    first: str
    last: str
    email: str
    country: str
    ip: str
    device: str
    user_agent: str
    card: str
    mobile: bool
    eu: bool
    orders: list[str] = field(default_factory=list)

    def context(self, **override: str) -> dict[str, str]:
        ctx = {
            "ip": self.ip,
            "device_id": self.device,
            "user_agent": self.user_agent,
            "country": self.country,
        }
        ctx.update(override)
        return ctx


@dataclass
class _Op:
    at: datetime
    seq: int
    record: dict[str, Any]


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    total = sum(w for _, w in pairs)
    pick = rng.random() * total
    for value, weight in pairs:
        pick -= weight
        if pick < 0:
            return value
    return pairs[-1][0]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal) -> str:
    return str(amount.quantize(_CENT))


def gmail_variant(local: str, rng: random.Random) -> str:
    """A gmail alias of ``local``: same mailbox, different text (dots or a +tag)."""
    bare = local.replace(".", "")
    if rng.random() < 0.5 and len(bare) > 3:
        cut = rng.randrange(1, len(bare) - 1)
        dotted = bare[:cut] + "." + bare[cut:]
        if dotted != local:
            return dotted
    tag = rng.choice(("promo", "shop", "deals", "ref", "2", "x", "alt", "new"))
    return f"{local}+{tag}{rng.randrange(1, 99)}"


def lookalike_local(first: str, last: str, rng: random.Random) -> str:
    """A different mailbox whose name resembles ``first last`` (not a normalising alias)."""
    year = rng.randrange(70, 99)
    options = (
        f"{first}{last}{year}",
        f"{last}.{first}",
        f"{first[0]}.{last}{rng.randrange(1, 9)}",
        f"{first}.{last}.{rng.choice(('shop', 'mail', 'home', 'work'))}",
        f"{first}_{last}",
        f"{last}{first[0]}{year}",
    )
    return rng.choice(options)


class _World:
    def __init__(self, seed: int, start: datetime, days: int) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.end = start + timedelta(days=days)
        self.ops: list[_Op] = []
        self.labels: list[dict[str, str]] = []
        self.enrolled: dict[tuple[str, str], datetime] = {}
        self.referred: dict[tuple[str, str], datetime] = {}
        self._seq = 0
        self._customers = 0
        self._orders = 0
        self._ips: dict[str, int] = {}

    # -- identities ---------------------------------------------------------------------

    def new_id(self) -> str:
        self._customers += 1
        return f"cust-{self._customers:06d}"

    def hex_id(self, prefix: str, n: int = 16) -> str:
        return f"{prefix}{self.rng.getrandbits(4 * n):0{n}x}"

    def home_ip(self, eu: bool) -> str:
        octets = EU_HOME_OCTETS if eu else HOME_OCTETS
        r = self.rng
        return f"{r.choice(octets)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def carrier_ip(self, eu: bool) -> str:
        # Carrier-grade NAT: a handful of addresses stand in for many subscribers.
        prefix = self.rng.choice(EU_CARRIER_PREFIXES if eu else CARRIER_PREFIXES)
        return f"{prefix}.{self.rng.randrange(1, 40)}"

    def datacenter_ip(self) -> str:
        r = self.rng
        octets = (r.choice(DATACENTER_OCTETS), r.randrange(256), r.randrange(256))
        return ".".join(map(str, octets)) + f".{r.randrange(1, 255)}"

    def email(self, first: str, last: str, eu: bool, domain: str | None = None) -> str:
        r = self.rng
        style = r.randrange(7)
        if style == 0:
            local = f"{first}.{last}"
        elif style == 1:
            local = f"{first}{last}"
        elif style == 2:
            local = f"{first[0]}{last}"
        elif style == 3:
            local = f"{first}.{last}{r.randrange(1, 99)}"
        elif style == 4:
            local = f"{first}{r.randrange(70, 100)}"
        elif style == 5:
            local = f"{first}_{last[0]}{r.randrange(1, 999)}"
        else:
            local = f"{last}.{first[0]}{r.randrange(1, 99)}"
        if domain is None:
            domain = _weighted(r, EU_PROVIDERS if eu else US_PROVIDERS)
        return f"{local}@{domain}"

    def country(self, eu: bool) -> str:
        return _weighted(self.rng, EU_COUNTRIES if eu else US_COUNTRIES)

    def person(
        self,
        eu: bool,
        *,
        last: str | None = None,
        mobile: bool | None = None,
        email: str | None = None,
        country: str | None = None,
    ) -> Person:
        r = self.rng
        first = r.choice(FIRST_NAMES)
        last = last or r.choice(LAST_NAMES)
        mobile = r.random() < 0.4 if mobile is None else mobile
        return Person(
            customer_id=self.new_id(),
            first=first,
            last=last,
            email=email or self.email(first, last, eu),
            country=country or self.country(eu),
            ip=self.carrier_ip(eu) if mobile else self.home_ip(eu),
            device=self.hex_id("dev-"),
            user_agent=r.choice(MOBILE_AGENTS if mobile else BROWSER_AGENTS),
            card=self.hex_id("pf_", 24),
            mobile=mobile,
            eu=eu,
        )

    # -- ops ------------------------------------------------------------------------------

    def emit(self, at: datetime, record: dict[str, Any]) -> None:
        self._seq += 1
        self.ops.append(_Op(at.replace(microsecond=0), self._seq, record))

    def add_program(self, program: Program) -> None:
        self.emit(self.start, {"op": "program", "ref": program.ref, "body": program.body})

    def enrol(self, program: Program, person: Person, at: datetime, **ctx: str) -> datetime:
        key = (program.ref, person.customer_id)
        if key in self.enrolled:
            return self.enrolled[key]
        at = max(at, self.start + timedelta(minutes=5))
        self.enrolled[key] = at
        body = {
            "customer_id": person.customer_id,
            "email": person.email,
            "context": person.context(**ctx),
        }
        self.emit(at, {"op": "advocate", "program": program.ref, "body": body})
        return at

    def refer(
        self,
        program: Program,
        advocate: Person,
        referee: Person,
        at: datetime,
        label: str,
        pattern: str,
        context: dict[str, str] | None = None,
    ) -> datetime | None:
        """Record a referral (after the advocate's enrolment); None if not possible."""
        enrolled = self.enrolled.get((program.ref, advocate.customer_id))
        key = (program.ref, referee.customer_id)
        if enrolled is None or key in self.referred:
            return None
        at = max(at, enrolled + timedelta(seconds=30))
        if at >= self.end:
            return None
        self.referred[key] = at
        body = {
            "referee": {"customer_id": referee.customer_id, "email": referee.email},
            "context": context if context is not None else referee.context(),
        }
        self.emit(
            at,
            {
                "op": "referral",
                "program": program.ref,
                "advocate": advocate.customer_id,
                "body": body,
            },
        )
        self.labels.append(
            {
                "program": program.ref,
                "referee": referee.customer_id,
                "advocate": advocate.customer_id,
                "label": label,
                "pattern": pattern,
            }
        )
        return at

    def purchase(
        self,
        program: Program,
        referee: Person,
        at: datetime,
        amount: Decimal,
        card: str | None = None,
    ) -> tuple[str, Decimal]:
        self._orders += 1
        order_id = f"ord-{self._orders:07d}"
        amount = amount.quantize(_CENT)
        body = {
            "type": "purchase",
            "order_id": order_id,
            "amount": money(amount),
            "currency": program.currency,
            "payment_fingerprint": card or referee.card,
        }
        self.emit(
            at,
            {"op": "event", "program": program.ref, "referee": referee.customer_id, "body": body},
        )
        referee.orders.append(order_id)
        return order_id, amount

    def refund(
        self, program: Program, referee: Person, at: datetime, order_id: str, amount: Decimal
    ) -> None:
        body = {"order_id": order_id, "amount": money(amount), "currency": program.currency}
        self.emit(
            at,
            {"op": "refund", "program": program.ref, "referee": referee.customer_id, "body": body},
        )

    # -- shared behaviour -----------------------------------------------------------------

    def price(self, program: Program, ratio: float) -> Decimal:
        """A shop-like price (whole units + .99 or .00) at about ``ratio`` x the minimum."""
        target = program.min_order * Decimal(str(round(max(ratio, 1.0), 4)))
        whole = Decimal(int(target))
        cents = Decimal("0.99") if self.rng.random() < 0.7 else Decimal("0.00")
        amount = whole + cents
        return amount if amount >= program.min_order else whole + Decimal("0.99")

    def legit_ratio(self) -> float:
        if self.rng.random() < 0.12:
            return self.rng.uniform(1.0, 1.15)  # bargain hunters buy just enough
        return min(1.0 + self.rng.lognormvariate(0.0, 0.7), 12.0)

    def daytime(self, day_start: datetime) -> datetime:
        r = self.rng
        hour = min(max(r.gauss(15.5, 4.0), 6.0), 23.9)
        return day_start + timedelta(hours=hour, seconds=r.randrange(3600))

    def random_time(self, lo: datetime, hi: datetime) -> datetime:
        span = max((hi - lo).total_seconds(), 1.0)
        return lo + timedelta(seconds=self.rng.random() * span)

    def legit_conversion(
        self,
        program: Program,
        referee: Person,
        referred_at: datetime,
        *,
        fast: bool = False,
        card: str | None = None,
        refund: bool | None = None,
    ) -> bool:
        """Purchase (maybe never), maybe again later, maybe refund. True if converted."""
        r = self.rng
        if not fast and r.random() < 0.18:
            return False
        at = referred_at + self._conversion_delay(program, fast)
        if at >= self.end:
            return False
        if r.random() < 0.04:
            at = self._basket_below_minimum(program, referee, at, card)
            if at >= self.end:
                return True
        order_id, amount = self.purchase(
            program, referee, at, self.price(program, self.legit_ratio()), card
        )
        if refund is None:
            refund = r.random() < 0.045
        if refund:
            self._refund_later(program, referee, at, order_id, amount)
        if r.random() < 0.3:
            self._buy_again(program, referee, at, card)
        return True

    def _conversion_delay(self, program: Program, fast: bool) -> timedelta:
        if fast:
            return timedelta(seconds=self.rng.uniform(40, 900))
        return timedelta(
            hours=min(self.rng.lognormvariate(2.6, 1.4), 24.0 * program.attribution_days)
        )

    def _basket_below_minimum(
        self, program: Program, referee: Person, at: datetime, card: str | None
    ) -> datetime:
        """A small first basket below the minimum does not qualify; the next one does.
        Returns when the next one is bought."""
        small = (program.min_order * Decimal("0.6")).quantize(_CENT)
        self.purchase(program, referee, at, small, card)
        return at + timedelta(hours=self.rng.uniform(2, 72))

    def _refund_later(
        self, program: Program, referee: Person, at: datetime, order_id: str, amount: Decimal
    ) -> None:
        """All of the order or 40% of it, 1 to 25 days on (none past the end of the history)."""
        r = self.rng
        back = at + timedelta(days=r.uniform(1, 25))
        part = amount if r.random() < 0.6 else (amount * Decimal("0.4")).quantize(_CENT)
        if back < self.end:
            self.refund(program, referee, back, order_id, part)

    def _buy_again(self, program: Program, referee: Person, at: datetime, card: str | None) -> None:
        again = at + timedelta(days=self.rng.uniform(3, 40))
        if again < self.end:
            self.purchase(program, referee, again, self.price(program, self.legit_ratio()), card)


def _programs(n_programs: int) -> list[Program]:
    templates: list[tuple[str, str, str, str, str, str, int, int, list[dict[str, Any]]]] = [
        (
            "Give 10 get 10",
            "USD",
            "20.00",
            "gift_card",
            "10.00",
            "10.00",
            30,
            14,
            [
                {
                    "min_successful_referrals": 5,
                    "advocate_bonus": {"kind": "gift_card", "amount": "25.00", "currency": "USD"},
                }
            ],
        ),
        ("Refer a friend, earn 25", "USD", "50.00", "gift_card", "25.00", "15.00", 14, 7, []),
        ("Freunde werben", "EUR", "30.00", "cash", "15.00", "10.00", 30, 21, []),
    ]
    programs = []
    for i in range(n_programs):
        name, currency, min_order, kind, adv, ref, window, hold, tiers = templates[i % 3]
        if i >= 3:
            name = f"{name} ({i // 3 + 1})"
        body: dict[str, Any] = {
            "name": name,
            "qualifying_event": "purchase",
            "min_order_value": min_order,
            "rewards": {
                "advocate": {"kind": kind, "amount": adv, "currency": currency},
                "referee": {"kind": "cash", "amount": ref, "currency": currency},
            },
            "tiers": tiers,
            "attribution_window_days": window,
            "holding_period_days": hold,
            "budget": {"amount": "100000.00", "currency": currency},
            "per_advocate_cap": 20,
            "dual_approval_over": "100.00",
            "review_timeout_days": 30,
            "review_timeout_action": "reject",
            "auto_reject": i % 3 != 2,
        }
        programs.append(
            Program(
                ref=f"p{i + 1}",
                currency=currency,
                min_order=Decimal(min_order),
                attribution_days=window,
                holding_days=hold,
                eu=currency == "EUR",
                body=body,
            )
        )
    return programs


# -- legitimate advocates ------------------------------------------------------------------


def _legit_referee(w: _World, program: Program, advocate: Person) -> tuple[Person, str, bool]:
    """A referee for a legitimate advocate, with its pattern and whether it converts fast."""
    r = w.rng
    # Friends mostly live in the advocate's country; a few are abroad.
    home = advocate.country if r.random() < 0.96 else w.country(program.eu)
    roll = r.random()
    if roll < 0.10:
        member = w.person(program.eu, last=advocate.last, mobile=False, country=advocate.country)
        member.ip = advocate.ip if not advocate.mobile else w.home_ip(program.eu)
        if r.random() < 0.5:
            member.user_agent = advocate.user_agent
        if r.random() < 0.25:
            member.device = advocate.device  # the family tablet
        if r.random() < 0.35:
            member.card = advocate.card  # the family card
        return member, "legit_household", r.random() < 0.4
    if roll < 0.24:
        return w.person(program.eu, mobile=True, country=home), "legit_mobile", False
    if roll < 0.31:
        return w.person(program.eu, country=home), "legit_fast", True
    if roll < 0.36:
        traveller = w.person(program.eu)
        choices = [c for c in TRAVEL_COUNTRIES if c != advocate.country]
        traveller.country = r.choice(choices)
        if r.random() < 0.5:
            traveller.ip = w.home_ip(not program.eu)
        return traveller, "legit_traveller", False
    return w.person(program.eu, country=home), "legit_friend", False


def _legit_advocate(w: _World, program: Program, advocate: Person, depth: int = 0) -> None:
    r = w.rng
    lo = w.start + timedelta(hours=1)
    enrol_at = w.random_time(lo, w.end - timedelta(days=10))
    if depth:
        enrol_at = w.enrolled.get((program.ref, advocate.customer_id), enrol_at)
    enrolled = w.enrol(program, advocate, enrol_at)
    n = min(int(r.paretovariate(1.3)) - 1 + r.randrange(0, 4), 30)
    for _ in range(n):
        day = enrolled + timedelta(days=r.expovariate(1 / 9.0))
        at = w.daytime(day.replace(hour=0, minute=0, second=0))
        at = max(at, enrolled + timedelta(minutes=r.uniform(2, 600)))
        referee, pattern, fast = _legit_referee(w, program, advocate)
        refund = r.random() < 0.06
        if refund:
            pattern = "legit_refund"
        when = w.refer(program, advocate, referee, at, "legit", pattern)
        if when is None:
            continue
        converted = w.legit_conversion(program, referee, when, fast=fast, refund=refund)
        if converted and depth < 2 and r.random() < 0.07:
            # A happy referee becomes an advocate and refers their own friends.
            later = when + timedelta(days=r.uniform(2, 20))
            if later < w.end - timedelta(days=3):
                w.enrol(program, referee, later)
                _legit_advocate(w, program, referee, depth + 1)
                _relabel_chain(w, program, referee)


def _relabel_chain(w: _World, program: Program, advocate: Person) -> None:
    for entry in w.labels:
        if (
            entry["program"] == program.ref
            and entry["advocate"] == advocate.customer_id
            and entry["pattern"] == "legit_friend"
        ):
            entry["pattern"] = "legit_chain"


def _influencer(w: _World, program: Program) -> None:
    r = w.rng
    advocate = w.person(program.eu, mobile=False)
    enrolled = w.enrol(program, advocate, w.random_time(w.start, w.start + timedelta(days=20)))
    for _ in range(r.randrange(2, 5)):
        post = w.random_time(enrolled + timedelta(hours=2), w.end - timedelta(days=5))
        for _ in range(r.randrange(8, 30)):
            at = post + timedelta(minutes=r.expovariate(1 / 25.0))
            country = advocate.country if r.random() < 0.75 else None
            referee = w.person(program.eu, mobile=r.random() < 0.65, country=country)
            when = w.refer(program, advocate, referee, at, "legit", "legit_influencer")
            if when is not None:
                w.legit_conversion(program, referee, when, fast=r.random() < 0.2)


# -- fraud ---------------------------------------------------------------------------------


def _just_above(w: _World, program: Program) -> Decimal:
    return w.price(program, w.rng.uniform(1.0, 1.12))


def _self_referral_alias(w: _World, program: Program) -> None:
    r = w.rng
    first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
    local = r.choice(
        (f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}{r.randrange(10, 99)}")
    )
    advocate = w.person(program.eu, email=f"{local}@gmail.com", mobile=False)
    enrolled = w.enrol(program, advocate, w.random_time(w.start, w.end - timedelta(days=12)))
    at = enrolled
    for _ in range(r.randrange(1, 5)):
        at += timedelta(minutes=r.uniform(3, 600))
        alias = w.person(
            program.eu, email=f"{gmail_variant(local, r)}@gmail.com", country=advocate.country
        )
        override: dict[str, str] = {"user_agent": advocate.user_agent}
        if r.random() < 0.75:
            override["device_id"] = advocate.device
        if r.random() < 0.85:
            override["ip"] = advocate.ip
        alias.device = override.get("device_id", alias.device)
        alias.ip = override.get("ip", alias.ip)
        alias.user_agent = advocate.user_agent
        when = w.refer(
            program, advocate, alias, at, "fraud", "self_referral_alias", alias.context()
        )
        if when is None:
            continue
        card = advocate.card if r.random() < 0.5 else alias.card
        w.purchase(
            program,
            alias,
            when + timedelta(seconds=r.uniform(60, 3600)),
            _just_above(w, program),
            card,
        )


def _device_farm(w: _World, program: Program) -> None:
    r = w.rng
    devices = [w.hex_id("dev-") for _ in range(r.randrange(2, 5))]
    agents = [r.choice(MOBILE_AGENTS) for _ in devices]
    country = w.country(program.eu)
    operators = [w.person(program.eu, country=country) for _ in range(r.randrange(1, 4))]
    start = w.random_time(w.start + timedelta(days=2), w.end - timedelta(days=8))
    for operator in operators:
        w.enrol(program, operator, start - timedelta(hours=r.uniform(1, 72)))
    at = start
    for _ in range(r.randrange(15, 40)):
        at += timedelta(minutes=r.uniform(2, 25))
        k = r.randrange(len(devices))
        fake = w.person(program.eu, country=country, mobile=False)
        fake.device = devices[k]
        fake.user_agent = agents[k]
        fake.ip = w.home_ip(program.eu)  # residential proxy: a fresh address every time
        when = w.refer(program, r.choice(operators), fake, at, "fraud", "device_farm")
        if when is None:
            continue
        w.purchase(
            program, fake, when + timedelta(minutes=r.uniform(4, 90)), _just_above(w, program)
        )


def _referral_ring(w: _World, program: Program) -> None:
    r = w.rng
    size = r.randrange(3, 7)
    shared_prefix = w.home_ip(program.eu).rsplit(".", 1)[0] if r.random() < 0.5 else None
    country = w.country(program.eu)
    members = []
    for _ in range(size):
        member = w.person(program.eu, country=country)
        if shared_prefix:
            member.ip = f"{shared_prefix}.{r.randrange(1, 255)}"
        members.append(member)
    at = w.random_time(w.start + timedelta(days=1), w.end - timedelta(days=20))
    w.enrol(program, members[0], at)
    for i in range(size):
        advocate, referee = members[i], members[(i + 1) % size]
        at += timedelta(hours=r.uniform(6, 60))
        when = w.refer(program, advocate, referee, at, "fraud", "referral_ring")
        if when is None:
            return
        bought = when + timedelta(hours=r.uniform(0.5, 30))
        w.purchase(program, referee, bought, w.price(program, r.uniform(1.0, 1.5)))
        if i + 1 < size:
            at = w.enrol(program, referee, bought + timedelta(hours=r.uniform(1, 24)))


def _shared_payment(w: _World, program: Program, programs: Sequence[Program]) -> None:
    r = w.rng
    advocate = w.person(program.eu)
    start = w.random_time(w.start + timedelta(days=3), w.end - timedelta(days=10))
    others = [p for p in programs if p.ref != program.ref and p.eu == program.eu]
    if others and r.random() < 0.7:
        # The fraudster first bought as a referee elsewhere, so the card is "theirs".
        other = r.choice(others)
        sponsor = w.person(other.eu)
        w.enrol(other, sponsor, start - timedelta(days=r.uniform(4, 10)))
        when = w.refer(
            other,
            sponsor,
            advocate,
            start - timedelta(days=r.uniform(2, 3)),
            "fraud",
            "shared_payment",
        )
        if when is not None:
            w.purchase(
                other, advocate, when + timedelta(hours=r.uniform(1, 20)), w.price(other, 1.3)
            )
    enrolled = w.enrol(program, advocate, start)
    at = enrolled
    for _ in range(r.randrange(3, 9)):
        at += timedelta(hours=r.uniform(0.2, 20))
        fake = w.person(program.eu, country=advocate.country)
        when = w.refer(program, advocate, fake, at, "fraud", "shared_payment")
        if when is None:
            continue
        w.purchase(
            program,
            fake,
            when + timedelta(minutes=r.uniform(5, 600)),
            _just_above(w, program),
            advocate.card,
        )


def _disposable_burst(w: _World, program: Program) -> None:
    r = w.rng
    scripted = r.random() < 0.7
    domain = r.choice(DISPOSABLE_DOMAINS)
    first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
    advocate = w.person(program.eu, email=w.email(first, last, program.eu))
    start = w.random_time(w.start + timedelta(days=1), w.end - timedelta(days=5))
    w.enrol(program, advocate, start - timedelta(minutes=r.uniform(10, 600)))
    agent = r.choice(AUTOMATION_AGENTS) if scripted else r.choice(BROWSER_AGENTS)
    subnet = f"{r.choice(DATACENTER_OCTETS)}.{r.randrange(256)}.{r.randrange(256)}"
    at = start
    for _ in range(r.randrange(8, 30)):
        at += timedelta(seconds=r.uniform(20, 400))
        handle = f"{r.choice(FIRST_NAMES)}{w.hex_id('', 4)}"
        fake = w.person(
            program.eu, email=f"{handle}@{r.choice((domain, domain, r.choice(DISPOSABLE_DOMAINS)))}"
        )
        fake.user_agent = agent
        fake.ip = f"{subnet}.{r.randrange(1, 255)}" if r.random() < 0.7 else w.datacenter_ip()
        fake.country = advocate.country if r.random() < 0.6 else r.choice(TRAVEL_COUNTRIES)
        when = w.refer(program, advocate, fake, at, "fraud", "disposable_burst")
        if when is None:
            continue
        w.purchase(
            program, fake, when + timedelta(seconds=r.uniform(25, 400)), _just_above(w, program)
        )


def _refund_abuse(w: _World, program: Program) -> None:
    r = w.rng
    advocate = w.person(program.eu)
    enrolled = w.enrol(program, advocate, w.random_time(w.start, w.start + timedelta(days=15)))
    at = enrolled
    # Paced so that later referrals come after earlier refunds: it worked, so do it again.
    for _ in range(r.randrange(3, 8)):
        at += timedelta(days=r.uniform(1, 12))
        accomplice = w.person(program.eu, country=advocate.country)
        when = w.refer(program, advocate, accomplice, at, "fraud", "refund_abuse")
        if when is None:
            continue
        bought = when + timedelta(hours=r.uniform(1, 48))
        order_id, amount = w.purchase(program, accomplice, bought, _just_above(w, program))
        back = bought + timedelta(days=program.holding_days + r.uniform(1, 8))
        if back < w.end:
            w.refund(program, accomplice, back, order_id, amount)


def _slow_drip_alias(w: _World, program: Program) -> None:
    r = w.rng
    first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
    domain = _weighted(r, EU_PROVIDERS if program.eu else US_PROVIDERS)
    advocate = w.person(program.eu, email=f"{first}.{last}@{domain}", mobile=False)
    advocate.first, advocate.last = first, last
    at = w.enrol(program, advocate, w.random_time(w.start, w.start + timedelta(days=25)))
    prefix = advocate.ip.rsplit(".", 1)[0]
    for _ in range(r.randrange(3, 7)):
        at += timedelta(days=r.uniform(4, 12))
        local = lookalike_local(first, last, r)
        alias = w.person(
            program.eu,
            email=f"{local}@{r.choice((domain, domain, 'gmail.com', 'outlook.com'))}",
            country=advocate.country,
            mobile=False,
        )
        if r.random() < 0.4:
            alias.ip = f"{prefix}.{r.randrange(1, 255)}"
        when = w.refer(
            program,
            advocate,
            alias,
            w.daytime(at.replace(hour=0, minute=0, second=0)),
            "fraud",
            "slow_drip_alias",
        )
        if when is None:
            continue
        w.purchase(
            program,
            alias,
            when + timedelta(hours=r.lognormvariate(2.0, 1.0)),
            w.price(program, r.uniform(1.0, 1.6)),
        )


Campaign = Callable[[_World, Program, Sequence[Program]], None]

# Each fraud pattern with its campaigns per 1,250 ordinary advocates, in the order they
# are drawn (the order fixes what a seed generates). A shared payment card also spans the
# other programs, so every campaign is handed all of them.
_CAMPAIGNS: dict[str, tuple[int, Campaign]] = {
    "self_referral_alias": (16, lambda w, program, _: _self_referral_alias(w, program)),
    "device_farm": (4, lambda w, program, _: _device_farm(w, program)),
    "referral_ring": (10, lambda w, program, _: _referral_ring(w, program)),
    "shared_payment": (9, _shared_payment),
    "disposable_burst": (5, lambda w, program, _: _disposable_burst(w, program)),
    "refund_abuse": (12, lambda w, program, _: _refund_abuse(w, program)),
    "slow_drip_alias": (10, lambda w, program, _: _slow_drip_alias(w, program)),
}


def generate(
    seed: int = 7,
    n_programs: int = 3,
    n_advocates: int = 1250,
    *,
    days: int = 60,
    fraud_scale: float = 1.0,
    start: datetime = DEFAULT_START,
) -> tuple[list[str], list[dict[str, str]]]:
    """Backtest JSONL lines (no trailing newlines) and the labels sidecar entries.

    ``n_advocates`` counts ordinary advocates (their referees may enrol too);
    ``fraud_scale`` scales the number of fraud campaigns. The default size gives
    roughly 13k ops with about 8% fraudulent referrals.
    """
    if n_programs < 1 or n_advocates < 1 or days < 20:
        raise ValueError("need at least one program, one advocate and 20 days")
    w = _World(seed, start, days)
    programs = _programs(n_programs)
    for program in programs:
        w.add_program(program)
    _legit_traffic(w, programs, n_advocates)
    _fraud_campaigns(w, programs, fraud_scale * n_advocates / 1250)
    return _lines(w.ops), w.labels


def _legit_traffic(w: _World, programs: Sequence[Program], n_advocates: int) -> None:
    r = w.rng
    for _ in range(n_advocates):
        program = r.choice(programs)
        _legit_advocate(w, program, w.person(program.eu, mobile=r.random() < 0.3))
    for _ in range(max(1, round(n_advocates / 120))):
        _influencer(w, r.choice(programs))


def _fraud_campaigns(w: _World, programs: Sequence[Program], scale: float) -> None:
    for count, campaign in _CAMPAIGNS.values():
        for _ in range(max(1, round(count * scale))):
            campaign(w, w.rng.choice(programs), programs)


def _lines(ops: list[_Op]) -> list[str]:
    """The ops in replay order as compact JSON, `op` and `at` first."""
    lines = []
    for op in sorted(ops, key=lambda op: (op.at, OP_ORDER.index(op.record["op"]), op.seq)):
        record = {"op": op.record["op"], "at": iso(op.at)}
        record.update((k, v) for k, v in op.record.items() if k != "op")
        lines.append(json.dumps(record, separators=(",", ":")))
    return lines


def write_jsonl(path: Path, rows: Sequence[str] | Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row if isinstance(row, str) else json.dumps(row, separators=(",", ":")))
            fh.write("\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate labelled synthetic backtest traffic.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--programs", type=int, default=3)
    parser.add_argument("--advocates", type=int, default=1250)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--fraud-scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path, required=True, help="backtest JSONL to write")
    parser.add_argument("--labels", type=Path, required=True, help="labels sidecar JSONL to write")
    args = parser.parse_args(argv)
    lines, labels = generate(
        args.seed, args.programs, args.advocates, days=args.days, fraud_scale=args.fraud_scale
    )
    write_jsonl(args.out, lines)
    write_jsonl(args.labels, labels)
    fraud = sum(1 for entry in labels if entry["label"] == "fraud")
    print(f"{len(lines)} ops, {len(labels)} referrals ({fraud} fraud) -> {args.out}, {args.labels}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
