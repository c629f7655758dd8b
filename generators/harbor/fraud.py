"""Fraud tactics seen against the shop, each named, each with the mistakes and cover of
the people running it."""

from __future__ import annotations

from decimal import Decimal

from generators.harbor.identities import (
    DESKTOP,
    EMULATOR,
    FRESH_PROVIDERS,
    HEADLESS,
    IOS_SAFARI,
    SPOOFED_ANDROID,
    Device,
    Person,
    weighted,
)
from generators.harbor.ledger import Order, Referral, context
from generators.harbor.legit import refer_and_buy
from generators.harbor.shop import CENT, DAY, HOUR, PROGRAMS, ProgramSpec, basket, order_total
from generators.harbor.world import HOME_PROGRAM, Buying, World

ANY_HOUR = (1,) * 24


def refer_fraud(
    world: World, program: str, advocate: Person, referee: Person, at: int, ctx: dict, pattern: str
) -> Referral | None:
    return world.ledger.refer(program, advocate, referee, at, ctx, "fraud", pattern)


def near_minimum(world: World, spec: ProgramSpec) -> Decimal:
    """Just over the qualifying line: the cheapest way to trigger the reward."""
    return spec.min_order + Decimal(world.rng.randint(15, 650)) / 100


# --- account takeover -------------------------------------------------------------------


def account_takeover(world: World, victims: int) -> None:
    """A dormant, long-enrolled advocate's login is taken over and refers a burst of
    fresh accounts from rented servers, each paying once with a different stolen card."""
    rng = world.rng
    for _ in range(world.count(victims)):
        victim = world.ids.person(world.country())
        spec = world.program_for(victim.country)
        last = world.enrol_home(spec, victim, 0, world.days * 0.12)
        for _ in range(rng.choices((0, 1, 2, 3), weights=(20, 40, 30, 10))[0]):
            friend = world.ids.person(victim.country)
            moment = world.after(last, 3.0, friend)
            if moment > world.days * 0.3 * DAY:
                break
            referral = refer_and_buy(
                world, spec.ref, victim, friend, moment, world.visit(friend), "ordinary_friends"
            )
            last = referral.at if referral else last
        quiet_until = last / DAY + 21 + rng.uniform(0, 12)
        start = min(max(quiet_until, world.days * 0.55), world.days - rng.uniform(1.5, 4))
        takeover_burst(world, spec, victim, start)


def takeover_burst(world: World, spec: ProgramSpec, victim: Person, start_day: float) -> None:
    rng = world.rng
    blocks = [world.ids.hosting_block() for _ in range(rng.randint(1, 2))]
    # One browser profile for the whole burst; a fifth spoof an iPhone instead.
    agent = rng.choice(DESKTOP[:3]) if rng.random() < 0.8 else IOS_SAFARI[0]
    moment = world.clock.at(start_day, 0, ANY_HOUR)
    for index in range(rng.randint(8, 24)):
        moment += int(rng.expovariate(1 / (22 * 60))) + 20
        if index and rng.random() < 0.06:  # second wave after the first night's cards worked
            moment += rng.randint(14, 30) * HOUR
        first, last = world.ids.name()
        domain = weighted(rng, FRESH_PROVIDERS)
        email = world.ids.email(first, f"{last}{rng.randint(10, 9999)}", domain)
        referee = Person(
            world.ids.customer_id(),
            first,
            last,
            email,
            victim.country,
            0,
            "",
            Device(world.ids.device_id(), agent),
            [world.ids.card()],
        )
        if rng.random() < 0.08:
            referee.device = Device(referee.device.device_id, HEADLESS)
        if rng.random() < 0.15:  # a residential proxy exit instead of the rented server
            ip = world.ids.residential_ip(victim.country)
        else:
            ip = f"{rng.choice(blocks)}.{rng.randint(2, 254)}"
        ctx = context(ip, referee.device.device_id, referee.device.user_agent, victim.country)
        referral = refer_fraud(world, spec.ref, victim, referee, moment, ctx, "account_takeover")
        if referral is not None and rng.random() < 0.92:
            cash_out_near_minimum(world, spec, referral, referee.cards[0])


def cash_out_near_minimum(world: World, spec: ProgramSpec, referral: Referral, card: str) -> None:
    rng = world.rng
    at = referral.at + rng.randint(3 * 60, 90 * 60)
    if rng.random() < 0.06:  # forgot the tax-exclusive minimum, topped up minutes later
        short = spec.min_order - Decimal(rng.randint(50, 400)) / 100
        world.ledger.purchase(referral, at, short, card)
        at += rng.randint(4 * 60, 25 * 60)
    world.ledger.purchase(referral, at, near_minimum(world, spec), card)


# --- self-referral with aliases ---------------------------------------------------------


def self_referral_aliases(world: World, people: int) -> None:
    """One shopper refers their own alias accounts, sometimes across the border program."""
    rng = world.rng
    for _ in range(world.count(people)):
        person = world.ids.person(world.country())
        spec = world.program_for(person.country)
        moment = world.enrol_home(spec, person, 0, world.days * 0.85)
        spare_card = world.ids.card()
        for _ in range(rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]):
            alias = alias_of(world, person)
            program, ctx = alias_visit(world, person, alias)
            if program != spec.ref:
                world.ledger.enrol(program, person, moment, world.visit(person))
            moment = world.after(moment, 1.5, person)
            referral = refer_fraud(
                world, program, person, alias, moment, ctx, "self_referral_alias"
            )
            card = rng.choices((person.cards[0], spare_card, world.ids.card()), (45, 30, 25))[0]
            if referral is not None:
                world.buy(
                    referral,
                    PROGRAMS[program],
                    card,
                    Buying(chance=0.88, median_hours=3, lean=0.5, top_up=0.95, repeat=0.03),
                )


def alias_of(world: World, person: Person) -> Person:
    rng = world.rng
    local, domain = person.email.split("@")
    first, last = person.first, person.last
    tweaked = first[:-1] if len(first) > 4 and rng.random() < 0.3 else first
    options = [
        f"{local}+{rng.choice(['gear', 'deals', 'shop', '2', 'alt', 'ref'])}@{domain}",
        f"{local}@{rng.choice(['yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com'])}",
        f"{tweaked}.{last}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'outlook.com'])}",
        f"{first[0]}{last}{rng.randint(80, 99)}@{rng.choice(['yahoo.com', 'aol.com'])}",
    ]
    if domain == "gmail.com" and len(local.replace(".", "")) > 3:
        bare = local.replace(".", "")
        cut = rng.randint(1, len(bare) - 1)
        options.append(f"{bare[:cut]}.{bare[cut:]}@gmail.com")
    email = None
    for _ in range(4):
        email = email or world.ids.email_exact(rng.choice(options))
    email = email or world.ids.email(tweaked, last, "gmail.com")
    return Person(
        world.ids.customer_id(),
        tweaked,
        last,
        email,
        person.country,
        person.utc_offset,
        person.home_ip,
        person.device,
        [],
    )


def alias_visit(world: World, person: Person, alias: Person) -> tuple[str, dict]:
    """Same laptop, another browser on it, their phone on data, or a VPN into the other
    program's country."""
    rng = world.rng
    program = HOME_PROGRAM[person.country]
    roll = rng.random()
    device, ip, country = person.device, person.home_ip, person.country
    if roll < 0.35:
        pass
    elif roll < 0.6:
        device = Device(world.ids.device_id(), other_browser(world, person.device.user_agent))
    elif roll < 0.8:
        device = world.ids.device("ios")
        ip = rng.choice(world.carrier[person.country])
    else:
        program = "p2" if program == "p1" else "p1"
        ip, country = world.ids.vpn_exit(program_country(program))
    alias.device = device
    return program, context(ip, device.device_id, device.user_agent, country)


def other_browser(world: World, agent: str) -> str:
    """A second browser on the same machine: same OS build, different engine string."""
    same_os = [
        ua for ua in DESKTOP if ua != agent and ua.split(")")[0] == agent.split(")", maxsplit=1)[0]
    ]
    return world.rng.choice(same_os or list(DESKTOP))


# --- rings across programs --------------------------------------------------------------


def cross_program_rings(world: World, rings: int) -> None:
    """Accounts that refer each other round a circle in one program and back round it
    in another, behind a small rented block of residential proxies in each program's
    country, sharing a few cards."""
    rng = world.rng
    for _ in range(world.count(rings)):
        programs = ("p1", "p2") if rng.random() < 0.6 else ("p1", "p3")
        size = rng.randint(4, 7)
        proxies = {program: proxy_block(world, program_country(program)) for program in programs}
        cards = [world.ids.card() for _ in range(rng.randint(2, 3))]
        members = [ring_member(world, programs, proxies["p1"]) for _ in range(size)]
        start = world.clock.day(0, world.days * 0.6)
        joined = {}
        for index, member in enumerate(members):
            for program in programs:
                day = start + index * rng.uniform(0.3, 2.5)
                at = world.clock.at(day, member.utc_offset)
                ctx = proxied(world, member, program, proxies[program])
                joined[(program, index)] = world.ledger.enrol(program, member, at, ctx)
        for program, step in zip(programs, (1, -1), strict=True):
            for index, member in enumerate(members):
                referee = members[(index + step) % size]
                since = max(joined[(program, index)], joined[(program, (index + step) % size)])
                ring_referral(world, program, member, referee, since, proxies[program], cards)


def program_country(program: str) -> str:
    return "CA" if program == "p2" else "US"


def proxy_block(world: World, country: str) -> list[str]:
    block = world.ids.residential_ip(country).rsplit(".", 1)[0]
    return [f"{block}.{world.rng.randint(2, 254)}" for _ in range(world.rng.randint(2, 3))]


def proxied(world: World, person: Person, program: str, proxies: list[str]) -> dict:
    ip = world.rng.choice(proxies)
    return context(ip, person.device.device_id, person.device.user_agent, program_country(program))


def ring_member(world: World, programs: tuple[str, ...], proxies: list[str]) -> Person:
    country = "CA" if "p2" in programs and world.rng.random() < 0.5 else "US"
    member = world.ids.person(country, home_ip=world.rng.choice(proxies))
    if world.rng.random() < 0.3:
        member.device = world.ids.device("desktop")
    return member


def ring_referral(
    world: World,
    program: str,
    advocate: Person,
    referee: Person,
    since: int,
    proxies: list[str],
    cards: list[str],
) -> None:
    rng = world.rng
    at = world.after(since, 1.5, advocate)
    ctx = proxied(world, referee, program, proxies)
    referral = refer_fraud(world, program, advocate, referee, at, ctx, "cross_program_ring")
    if referral is None:
        return
    card = rng.choice(cards) if rng.random() < 0.75 else referee.cards[0]
    world.buy(
        referral,
        PROGRAMS[program],
        card,
        Buying(chance=0.85, median_hours=8, lean=0.3, top_up=0.95, repeat=0.0),
    )


# --- refund abuse after the reward ------------------------------------------------------


def refund_after_reward(world: World, crews: int) -> None:
    """A deal-forum crew: big-ticket orders, full returns as soon as the rewards clear,
    often split item by item to look like an ordinary return."""
    rng = world.rng
    for _ in range(world.count(crews)):
        organiser = world.ids.person(world.country())
        spec = world.program_for(organiser.country)
        latest = max(1.0, world.days - spec.holding_days - 9)
        moment = world.enrol_home(spec, organiser, 0, latest)
        for _ in range(rng.randint(3, 7)):
            member = world.ids.person(organiser.country)
            moment = world.after(moment, 0.8, member)
            referral = refer_fraud(
                world,
                spec.ref,
                organiser,
                member,
                moment,
                world.visit(member),
                "refund_after_reward",
            )
            if referral is not None and rng.random() < 0.94:
                big_order_returned(world, spec, referral, member.cards[0])


def big_order_returned(world: World, spec: ProgramSpec, referral: Referral, card: str) -> None:
    rng = world.rng
    items = sorted(basket(rng, spec, -0.9), reverse=True)[: rng.randint(1, 3)]
    at = world.clock.later(referral.at, 5, 1.0)
    order = world.ledger.purchase(referral, at, order_total(rng, spec, items), card)
    if order is None or rng.random() < 0.08:  # kept the goods: labelled all the same
        return
    back = order.at + (spec.holding_days + rng.uniform(0.3, 5)) * DAY
    if len(items) > 1 and rng.random() < 0.4:
        split_return(world, order, items, int(back))
    else:
        world.ledger.refund(order, int(back), order.amount)


def split_return(world: World, order: Order, items: list, back: int) -> None:
    first = (order.amount * items[0] / sum(items)).quantize(CENT)
    if world.ledger.refund(order, back, first):
        world.ledger.refund(order, back + world.rng.randint(1, 3) * DAY, order.amount - first)


# --- synthetic identities on pooled prepaid cards, low and slow --------------------------


def prepaid_slow_drip(world: World, operators: int) -> None:
    """Made-up iPhone shoppers on carrier data, one every few days for the whole season,
    all paying from one small stack of prepaid cards."""
    rng = world.rng
    for _ in range(world.count(operators)):
        country = world.country()
        spec = world.program_for(country)
        agent = rng.choice(IOS_SAFARI[:3])
        cards = [world.ids.card() for _ in range(rng.randint(4, 6))]
        fronts = [synthetic(world, country, agent) for _ in range(rng.randint(2, 4))]
        enrolled = {}
        for front in fronts:
            at = world.clock.at(world.clock.day(0, world.days * 0.25), front.utc_offset)
            enrolled[front.customer_id] = world.ledger.enrol(
                spec.ref, front, at, synthetic_visit(world, front)
            )
        day = min(enrolled.values()) / DAY + rng.uniform(1, 3)
        while day < world.days:
            drip(world, spec, rng.choice(fronts), day, agent, cards)
            day += rng.uniform(1.5, 5.0)


def synthetic(world: World, country: str, agent: str) -> Person:
    first, last = world.ids.name()
    domain = world.rng.choice(("gmail.com", "icloud.com", "yahoo.com"))
    email = world.ids.email(first, f"{last}{world.rng.randint(10, 99)}", domain)
    return Person(
        world.ids.customer_id(),
        first,
        last,
        email,
        country,
        5,
        world.rng.choice(world.carrier[country]),
        Device(world.ids.device_id(), agent),
        [],
    )


def synthetic_visit(world: World, person: Person) -> dict:
    ip = world.rng.choice(world.carrier[person.country])
    return context(ip, person.device.device_id, person.device.user_agent, person.country)


def drip(
    world: World, spec: ProgramSpec, front: Person, day: float, agent: str, cards: list[str]
) -> None:
    rng = world.rng
    referee = synthetic(world, front.country, agent)
    at = world.clock.at(day, front.utc_offset)
    referral = refer_fraud(
        world, spec.ref, front, referee, at, synthetic_visit(world, referee), "prepaid_slow_drip"
    )
    if referral is None or rng.random() > 0.9:
        return
    amount = spec.min_order + Decimal(rng.randint(500, 3500)) / 100
    world.ledger.purchase(
        referral, referral.at + rng.randint(10 * 60, 6 * HOUR), amount, rng.choice(cards)
    )


# --- emulator farm ----------------------------------------------------------------------


def emulator_farms(world: World, farms: int) -> None:
    """A rack of Android emulators behind rotating mobile proxies, scripted sessions at a
    steady cadence; images are restored from snapshots, so device ids come back."""
    rng = world.rng
    for _ in range(world.count(farms)):
        country = world.country()
        spec = world.program_for(country)
        images = [world.ids.device_id() for _ in range(rng.randint(5, 9))]
        handlers = [farm_account(world, country, images) for _ in range(rng.randint(3, 5))]
        for handler in handlers:
            at = world.clock.at(world.clock.day(0, world.days * 0.5), 0, ANY_HOUR)
            world.ledger.enrol(spec.ref, handler, at, farm_visit(world, handler))
        for _ in range(rng.randint(3, 5)):
            farm_session(world, spec, handlers, images, world.clock.day(world.days * 0.1))


def farm_account(world: World, country: str, images: list[str]) -> Person:
    rng = world.rng
    agent = rng.choice(EMULATOR) if rng.random() < 0.1 else rng.choice(SPOOFED_ANDROID)
    first, last = world.ids.name()
    email = world.ids.email(first, f"{last}{rng.randint(100, 999)}", weighted(rng, FRESH_PROVIDERS))
    card = world.ids.card()
    return Person(world.ids.customer_id(), first, last, email, country, 0, "",
                  Device(rng.choice(images), agent), [card])  # fmt: skip


def farm_visit(world: World, person: Person) -> dict:
    ip = world.rng.choice(world.carrier[person.country])
    return context(ip, person.device.device_id, person.device.user_agent, person.country)


def farm_session(world: World, spec: ProgramSpec, handlers: list[Person], images: list[str],
                 day: float) -> None:  # fmt: skip
    rng = world.rng
    moment = world.clock.at(day, 0, ANY_HOUR)
    cadence = rng.randint(9, 14) * 60
    for _ in range(rng.randint(6, 15)):
        moment += cadence + rng.randint(-40, 40)
        referee = farm_account(world, handlers[0].country, images)
        referral = refer_fraud(world, spec.ref, rng.choice(handlers), referee, moment,
                               farm_visit(world, referee), "emulator_farm")  # fmt: skip
        if referral is None or rng.random() < 0.12:
            continue
        card = referee.cards[0] if rng.random() < 0.6 else rng.choice(handlers).cards[0]
        at = referral.at + rng.randint(2 * 60, 20 * 60)
        world.ledger.purchase(referral, at, near_minimum(world, spec) + rng.randint(0, 12), card)
