"""Reward abuse: each function writes operations of one tactic until it reaches its target."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from generators.lantern.identities import (
    FIRST_NAMES,
    LAST_NAMES,
    MAIL_PROVIDERS,
    PLUS_TAG_PROVIDERS,
    SISTER_DOMAINS,
    Device,
    Person,
    accent_drop,
    ascii_fold,
    user_agent,
)
from generators.lantern.world import MARKETS, Market, World, cents

FRAUD = "fraud"
# Where the coupon-forum buyers of each market's codes sit; parcels go via forwarders.
BROKER_COUNTRIES = {
    "DE": ("PL", "CZ", "RO", "LT", "BG"),
    "FR": ("ES", "PT", "RO", "IT"),
    "NL": ("PL", "RO", "BG", "LT"),
    "GB": ("RO", "PL", "LT", "BG", "PT"),
}
RING_MARKETS = (("DE", "NL"), ("DE", "FR"), ("GB", "NL"))
THROWAWAY_PROVIDERS = ("gmail.com", "outlook.com", "gmx.com", "mail.com", "proton.me",
                       "yahoo.com")  # fmt: skip
LUNCH = tuple(6.0 if 12 <= h <= 13 else 0.2 for h in range(24))
NIGHT = tuple(5.0 if h <= 4 else 0.1 for h in range(24))
EVENING_ROUTINE = tuple(6.0 if h == 20 else 0.05 for h in range(24))


def _hours_later(at: datetime, lo: float, hi: float, rng_value: float) -> datetime:
    return at + timedelta(seconds=int(3600 * (lo + (hi - lo) * rng_value)))


# --- cross-border minimum orders --------------------------------------------------------


def cross_border_minimum(world: World, target: int) -> int:
    """A code posted on a foreign coupon forum: buyers abroad order the bare minimum fast."""
    made = 0
    while made < target:
        market = world.market()
        poster = world.ids.person(market.country)
        origins = world.rng.sample(BROKER_COUNTRIES[market.country], k=world.rng.choice((1, 1, 2)))
        posted = world.day(hi=world.days - 4)
        forwarder = world.ids.hosting_ip()
        for _ in range(world.rng.randint(4, 14)):
            country = world.rng.choice(origins)
            made += _forum_buyer(world, market, poster, country, posted, forwarder)
    return made


def _forum_buyer(
    world: World,
    market: Market,
    poster: Person,
    country: str,
    posted: datetime,
    forwarder: tuple[str, str],
) -> int:
    buyer = world.ids.person(country, market=market.country)
    buyer.devices = [
        world.ids.device(
            world.rng.choice(
                (
                    "android_chrome",
                    "android_chrome",
                    "android_samsung",
                    "iphone_safari",
                    "chrome_windows",
                    "firefox_windows",
                )
            )
        )
    ]
    roll = world.rng.random()
    if roll < 0.62:
        ip, seen_in = buyer.home_ip, country
    elif roll < 0.9:
        ip, seen_in = world.ids.mobile_ip(country), country
    else:  # through the parcel forwarder's own server, one per forum post
        ip, seen_in = forwarder
    day = posted + timedelta(days=min(21, int(world.rng.expovariate(1 / 4))))
    when = world.local_moment(day, country)
    at = world.refer(
        market,
        poster,
        buyer,
        when,
        world.context(ip, buyer.device, seen_in),
        FRAUD,
        "cross_border_minimum",
    )
    if at is None or world.rng.random() < 0.08:
        return 1
    minutes = min(300.0, max(3.0, world.rng.lognormvariate(0, 1.1) * 35))
    paid_at = at + timedelta(seconds=int(minutes * 60))
    if world.rng.random() < 0.05:  # cart a little short of the minimum, topped up after
        short = market.min_order - Decimal(world.rng.choice(("0.50", "1.01", "2.99")))
        world.purchase(market, buyer, paid_at, short)
        paid_at = world.after(paid_at, 4, 30)
    world.purchase(market, buyer, paid_at, world.barely_minimum(market))
    if world.rng.random() < 0.05:
        world.purchase(market, buyer, paid_at + timedelta(days=7), world.full_box(market))
    return 1


# --- self-referral with aliases ---------------------------------------------------------


def _alias_mail(world: World, owner: Person) -> str:
    """A mailbox variant that differs from the owner's (a no-op variant is drawn again)."""
    for _ in range(5):
        variant = _mail_variant(world, owner)
        if variant != owner.email:
            return variant
    local, domain = owner.email.split("@")
    return f"{local}2@{domain}"


def _mail_variant(world: World, owner: Person) -> str:
    local, domain = owner.email.split("@")
    base = local.split("+")[0]
    options = ["digit", "provider"]
    if domain in PLUS_TAG_PROVIDERS:
        options += ["plus", "plus"]
    if domain in ("gmail.com", "googlemail.com") and len(base.replace(".", "")) > 3:
        options += ["dots", "dots"]
    if domain in SISTER_DOMAINS:
        options += ["sister", "sister"]
    if ascii_fold(owner.last) != accent_drop(owner.last):
        options += ["umlaut", "umlaut"]
    kind = world.rng.choice(options)
    if kind == "plus":
        tag = world.rng.choice(("box", "kochbox", "hf", "2", "neu", "promo", "food", "ref"))
        return f"{base}+{tag}@{domain}"
    if kind == "dots":
        plain = base.replace(".", "")
        cut = world.rng.randint(1, len(plain) - 1)
        return f"{plain[:cut]}.{plain[cut:]}@{domain}"
    if kind == "sister":
        return f"{base}@{world.rng.choice(SISTER_DOMAINS[domain])}"
    if kind == "umlaut":
        return base.replace(ascii_fold(owner.last), accent_drop(owner.last)) + f"@{domain}"
    if kind == "digit":
        return f"{base}{world.rng.choice(('1', '2', '01', '.2', '_'))}@{domain}"
    providers = [p for p, _ in MAIL_PROVIDERS[owner.country] if p != domain]
    return f"{base}@{world.rng.choice(providers)}"


def alias_self_referral(world: World, target: int) -> int:
    """One customer refers themself under new accounts: plus tags, dots, sister domains."""
    made = 0
    while made < target:
        market = world.market()
        owner = world.ids.person(market.country)
        owner.devices.append(world.ids.device())
        start = world.day(hi=world.days - 3)
        when = world.local_moment(start, market.country)
        for _ in range(world.rng.choice((1, 1, 2, 2, 3, 4))):
            made += _alias(world, market, owner, when)
            when = world.after(when, 8, 60 * 24 * 4)
    return made


def _alias(world: World, market: Market, owner: Person, when: datetime) -> int:
    alias = world.ids.person(market.country)
    alias.first, alias.last = owner.first, owner.last
    alias.email = _alias_mail(world, owner)
    roll = world.rng.random()
    if roll < 0.4:
        device = owner.device
    elif roll < 0.7:  # private window: new cookie, same browser
        device = Device(owner.device.kind, f"dv_{world.ids.hex_token(24)}", owner.device.user_agent)
    else:
        device = owner.devices[-1]
    roll = world.rng.random()
    if roll < 0.5:
        ip = owner.home_ip
    elif roll < 0.75:  # the line reconnected overnight and drew a new address from the pool
        ip = world.ids.ip_in(owner.home_network)
    else:
        ip = world.ids.mobile_ip(market.country)
    at = world.refer(
        market,
        owner,
        alias,
        when,
        world.context(ip, device, market.country),
        FRAUD,
        "alias_self_referral",
    )
    if at is None or world.rng.random() < 0.1:
        return 1
    card = owner.card if world.rng.random() < 0.35 else world.ids.card(market.country)
    amount = world.barely_minimum(market) if world.rng.random() < 0.5 else None
    paid_at = _hours_later(at, 0.3, 40, world.rng.random())
    world.convert(
        market, alias, at, amount=amount, card=card, keeps_subscription=0.1, paid_at=paid_at
    )
    return 1


# --- low-and-slow farm ------------------------------------------------------------------


def low_and_slow_farm(world: World, target: int) -> int:
    """One operator adds an account every few days for weeks: residential proxies in the
    market, a browser profile tool with two fixed builds, four cards in rotation."""
    made = 0
    while made < target:
        market = world.market()
        operator = world.ids.person(market.country)
        cards = [world.ids.card(market.country) for _ in range(world.rng.randint(3, 4))]
        profiles = [
            user_agent(world.rng, "firefox_windows"),
            user_agent(world.rng, "android_chrome"),
        ]
        day = world.rng.uniform(0, 12)
        for i in range(world.rng.randint(7, 12)):
            day += world.rng.uniform(2, 5.5)
            if day >= world.days:
                break
            made += _farm_account(
                world, market, operator, cards[i % len(cards)], world.rng.choice(profiles), day
            )
    return made


def _farm_account(
    world: World, market: Market, operator: Person, card: str, ua: str, day: float
) -> int:
    recruit = world.ids.person(market.country)
    local = f"{ascii_fold(recruit.first)}.{ascii_fold(recruit.last)}".replace(" ", "")
    provider = world.rng.choice([p for p, _ in MAIL_PROVIDERS[market.country][:4]])
    recruit.email = f"{local}{world.rng.randint(10, 99)}@{provider}"
    device = Device("profile", f"dv_{world.ids.hex_token(24)}", ua)
    ip, _ = world.ids.residential(market.country)  # a residential proxy exit
    when = world.local_moment(world.day(day, day + 1), market.country, LUNCH)
    at = world.refer(
        market,
        operator,
        recruit,
        when,
        world.context(ip, device, market.country),
        FRAUD,
        "low_and_slow_farm",
    )
    if at is None or world.rng.random() < 0.08:
        return 1
    evening = world.local_moment(
        at.replace(hour=0, minute=0, second=0) + timedelta(days=world.rng.choice((1, 1, 2))),
        market.country,
        EVENING_ROUTINE,
    )
    world.purchase(
        market,
        recruit,
        max(evening, at + timedelta(hours=2)),
        cents(market.boxes[0] / 2 + market.shipping),  # the cheapest box at the 50% welcome
        card,
    )
    return 1


# --- synthetic identities on pooled virtual cards ---------------------------------------


def synthetic_virtual_cards(world: World, target: int) -> int:
    """Night batches of invented people on emulators, paying from a small virtual-card pool."""
    made = 0
    while made < target:
        market = world.market()
        pool = [world.ids.virtual_card() for _ in range(world.rng.randint(5, 8))]
        sponsors = [_synthetic(world, market) for _ in range(world.rng.choice((1, 2)))]
        cart = world.first_box(market, Decimal("0.50"))
        first_night = world.day(hi=world.days - 5)
        last_device: Device | None = None
        for night in range(world.rng.randint(2, 4)):
            day = first_night + timedelta(days=night * world.rng.randint(1, 3))
            for _ in range(world.rng.randint(4, 10)):
                if made >= target:
                    break
                last_device = _synthetic_signup(
                    world, market, world.rng.choice(sponsors), pool, cart, day, last_device
                )
                made += 1
    return made


def _synthetic(world: World, market: Market) -> Person:
    person = world.ids.person(market.country)
    first_country, last_country = world.rng.sample(sorted(FIRST_NAMES), 2)
    person.first = world.rng.choice(FIRST_NAMES[first_country])
    person.last = world.rng.choice(LAST_NAMES[last_country])
    handle = f"{ascii_fold(person.first)}.{ascii_fold(person.last)[:3]}".replace(" ", "")
    person.email = (
        f"{handle}{world.rng.randint(1000, 9999)}@{world.rng.choice(THROWAWAY_PROVIDERS)}"
    )
    person.devices = [world.ids.emulator()]
    return person


def _synthetic_signup(
    world: World,
    market: Market,
    sponsor: Person,
    pool: list[str],
    cart: Decimal,
    day: datetime,
    last_device: Device | None,
) -> Device:
    fake = _synthetic(world, market)
    if last_device is not None and world.rng.random() < 0.15:  # forgot to reset the emulator
        fake.devices = [last_device]
    elif world.rng.random() < 0.3:
        fake.devices = [world.ids.device("android_chrome")]
    if world.rng.random() < 0.45:
        ip, seen_in = world.ids.hosting_ip()
    else:  # LTE dongles: a few carrier NAT addresses
        ip, seen_in = world.ids.mobile_ip(market.country, gateways=6), market.country
    when = world.local_moment(day, market.country, NIGHT)
    at = world.refer(
        market,
        sponsor,
        fake,
        when,
        world.context(ip, fake.device, seen_in),
        FRAUD,
        "synthetic_virtual_cards",
    )
    if at is not None and world.rng.random() < 0.9:
        world.purchase(market, fake, world.after(at, 8, 90), cart, world.rng.choice(pool))
    return fake.device


# --- refund abuse -----------------------------------------------------------------------


def refund_abuse(world: World, target: int) -> int:
    """Friends in on it order big boxes, wait out the holding period, then claim spoilage."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        day = world.day(hi=world.days - 10)
        for _ in range(world.rng.randint(2, 5)):
            mate = world.ids.person(market.country)
            when = world.local_moment(day + timedelta(days=world.rng.randint(0, 6)), market.country)
            at = world.refer(
                market, advocate, mate, when, world.home_context(mate), FRAUD, "refund_abuse"
            )
            made += 1
            if at is not None:
                _order_and_claim(world, market, mate, at)
    return made


def _order_and_claim(world: World, market: Market, mate: Person, at: datetime) -> None:
    big = market.boxes[-1] if world.rng.random() < 0.6 else market.boxes[-2]
    paid = big + market.shipping
    paid_at = world.ordinary_delay(at, median_hours=10)
    order_id = world.purchase(market, mate, paid_at, paid)
    holding = market.holding_days
    early = world.rng.random() < 0.1  # impatient: claims before the reward has cleared
    days = (
        world.rng.randint(2, holding - 1) if early else world.rng.randint(holding + 1, holding + 6)
    )
    claim = paid_at + timedelta(days=days, hours=world.rng.randint(1, 12))
    if world.rng.random() < 0.15:
        partial = Decimal("9.99")
        world.refund(market, mate, claim - timedelta(days=1), order_id, partial)
        world.refund(market, mate, claim, order_id, paid - partial)
        return
    world.refund(market, mate, claim, order_id, paid)


# --- rings across programs --------------------------------------------------------------


def cross_program_ring(world: World, target: int) -> int:
    """Border-region accounts refer each other in a cycle, one way in each of two markets."""
    made = 0
    while made < target:
        home, other = world.rng.choice(RING_MARKETS)
        members = [
            world.ids.person(home if i % 2 == 0 else other, market=home)
            for i in range(world.rng.randint(4, 7))
        ]
        cards = [world.ids.card(home) for _ in range(world.rng.randint(2, 3))]
        start = world.day(hi=world.days - 14)
        for i, member in enumerate(members):
            nxt = members[(i + 1) % len(members)]
            made += _ring_link(world, MARKETS[home], member, nxt, start, cards)
            made += _ring_link(world, MARKETS[other], nxt, member, start, cards)
    return made


def _ring_link(
    world: World,
    market: Market,
    advocate: Person,
    referee: Person,
    start: datetime,
    cards: list[str],
) -> int:
    day = start + timedelta(days=world.rng.randint(0, 14))
    when = world.local_moment(day, referee.country)
    at = world.refer(
        market, advocate, referee, when, world.home_context(referee), FRAUD, "cross_program_ring"
    )
    if at is None or world.rng.random() < 0.15:
        return 1
    amount = world.barely_minimum(market) if world.rng.random() < 0.4 else None
    card = world.rng.choice(cards) if world.rng.random() < 0.8 else referee.card
    world.convert(
        market,
        referee,
        at,
        amount=amount,
        card=card,
        keeps_subscription=0.1,
        paid_at=_hours_later(at, 1, 30, world.rng.random()),
    )
    return 1
