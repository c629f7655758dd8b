"""Referral fraud as it hits a delivery and rides app, mistakes and disguises included."""

from __future__ import annotations

import string
from datetime import timedelta
from decimal import Decimal

from generators.meridian.behaviour import (
    context,
    enrol_advocate,
    enrol_day,
    local_day,
    pick_program,
    qualifying_basket,
    scaled,
    signup_after,
)
from generators.meridian.identities import (
    EMULATORS,
    PREPAID_BINS,
    VIRTUAL_BINS,
    Device,
    Forge,
    Person,
    mobile_web_agent,
)
from generators.meridian.world import CENT, NIGHT_HOURS, PROGRAMS, Program, World, offset_of

FRAUD = "fraud"
FARM_APP_VERSIONS = ("5.1.3", "5.0.4", "5.2.0")  # farms run a patched, older APK


def _shell(forge: Forge, country: str, device: Device, ip: str) -> Person:
    """An account a farm controls: machine-made mailbox, no real home."""
    person = forge.person(country, device=device, home_ip=ip)
    person.email = forge.generated_mailbox()
    return person


def _proxy_ip(world: World, country: str) -> str:
    """Rotating residential proxies: a fresh home-ISP address per account, sometimes off."""
    roll = world.rng.random()
    if roll < 0.82:
        return world.forge.residential_ip(country)
    if roll < 0.92:
        return world.forge.residential_ip("US" if country == "AU" else "CA")
    return world.forge.datacenter_ip()


def _min_or_a_cent_over(world: World, program: Program, exact: float) -> Decimal:
    if world.rng.random() < exact:
        return program.min_order
    return program.min_order + Decimal(world.rng.randrange(1, 100)) * CENT


def emulator_farms(world: World, scale: float) -> None:
    """Scripted Android emulators, generated mailboxes, minimum orders on one prepaid BIN."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(5, scale)):
        program = pick_program(rng, (40, 30, 30))
        images = rng.sample(EMULATORS, rng.choice((1, 1, 2)))
        version = rng.choice(FARM_APP_VERSIONS)
        bin6 = rng.choice(PREPAID_BINS[program.country])
        cards = [forge.card(program.country, (bin6,)) for _ in range(rng.randrange(6, 15))]
        bosses = []
        for _ in range(rng.randrange(1, 3)):
            device = forge.emulator(rng.choice(images), version) if rng.random() < 0.5 else None
            boss = _shell(
                forge, program.country, device or forge.phone(0), _proxy_ip(world, program.country)
            )
            if enrol_advocate(world, program, boss, world.day(0, world.days - 8), "home"):
                bosses.append(boss)
        for boss in bosses:
            for _ in range(rng.randrange(1, 3)):
                _emulator_burst(world, program, boss, images, version, cards)


def _emulator_burst(
    world: World,
    program: Program,
    boss: Person,
    images: list[tuple[str, str, str]],
    version: str,
    cards: list[str],
) -> None:
    rng, forge = world.rng, world.forge
    enrolled = world.enrolled_at(program, boss) or world.start
    day = local_day(world, enrolled, offset_of(boss)) + rng.uniform(0.3, 6)
    at = world.local_time(day, offset_of(boss), NIGHT_HOURS)
    bare_api = rng.random() < 0.3  # some scripts call the API with the HTTP library's UA
    device: Device | None = None
    for _ in range(rng.randrange(6, 17)):
        at += timedelta(seconds=int(rng.uniform(45, 140)))
        if device is None or rng.random() > 0.2:  # a cloned snapshot keeps its Android id
            device = forge.emulator(rng.choice(images), version)
        referee = _shell(forge, program.country, device, _proxy_ip(world, program.country))
        ctx = context(forge, referee, ip=referee.home_ip)
        if bare_api:
            ctx["user_agent"] = device.user_agents[1]
        if program.country == "AU" and rng.random() < 0.12:
            ctx["country"] = "US"  # the image's default locale was never changed
        if not world.refer(program, boss, referee, at, ctx, FRAUD, "emulator_bot_farm"):
            continue
        if rng.random() < 0.9:
            paid = world.later(at, 8, 150)
            world.purchase(
                program, referee, paid, _min_or_a_cent_over(world, program, 0.88), rng.choice(cards)
            )


def synthetic_card_testing(world: World, scale: float) -> None:
    """Made-up people on mobile web test a batch of prepaid cards from one BIN."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(3, scale)):
        program = pick_program(rng, (40, 30, 30))
        bin6 = rng.choice(PREPAID_BINS[program.country])
        cards = [forge.card(program.country, (bin6,)) for _ in range(rng.randrange(20, 40))]
        agent = mobile_web_agent(rng)
        fronts = [forge.person(program.country) for _ in range(rng.randrange(2, 5))]
        fronts = [f for f in fronts if enrol_advocate(world, program, f, world.day(0, 20))]
        start_day = world.day(10, world.days - 6)
        for _ in range(rng.randrange(14, 24)):
            if not fronts:
                return
            _synthetic_account(world, program, rng.choice(fronts), start_day, agent, cards)


def _synthetic_account(
    world: World, program: Program, front: Person, start_day: float, agent: str, cards: list[str]
) -> None:
    rng, forge = world.rng, world.forge
    device = Device(forge.web_id(), (agent,), "web")
    person = forge.person(program.country, device=device)
    person.email = forge.email(
        person.first,
        person.last,
        program.country,
        rng.choice(("gmail.com", "outlook.com", "yahoo.com")),
    )
    ip = forge.datacenter_ip() if rng.random() < 0.4 else _proxy_ip(world, program.country)
    day = start_day + rng.uniform(0, 4)
    at = world.local_time(day, offset_of(front), program.hours)
    enrolled = world.enrolled_at(program, front) or world.start
    if at <= enrolled:
        at = world.later(enrolled, 3600, 86400)
    ctx = context(forge, person, ip=ip)
    if not world.refer(program, front, person, at, ctx, FRAUD, "synthetic_prepaid_card_testing"):
        return
    paid = at
    for _ in range(rng.choice((1, 1, 2, 3))):  # declined cards are retried with the next one
        paid = world.later(paid, 60, 1200)
        world.purchase(
            program, person, paid, _min_or_a_cent_over(world, program, 0.7), rng.choice(cards)
        )


def _alias(world: World, email: str, first: str, last: str) -> str:
    rng = world.rng
    local, domain = email.split("@")
    f, la = first.lower().replace("'", ""), last.lower().replace("'", "")
    tag = rng.choice(("eats", "promo", "2", "deals", "rides", "x", "alt"))
    options = [
        f"{local}+{tag}@gmail.com" if domain == "gmail.com" else f"{local}+{tag}@{domain}",
        f"{'.'.join(local.replace('.', ''))[:3]}{local.replace('.', '')[2:]}@gmail.com",
        f"{local}@{rng.choice(('outlook.com', 'hotmail.com', 'yahoo.com', 'proton.me'))}",
        f"{local}{rng.randrange(1, 10)}@{domain}",
        f"{la}.{f}@{domain}",
        f"{f[0]}.{la}{rng.randrange(10, 99)}@gmail.com",
    ]
    return rng.choices(options, weights=(30, 15, 20, 15, 10, 10))[0]


def self_referrals(world: World, scale: float) -> None:
    """Advocates inviting themselves under alias mailboxes from the same phone or home."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(40, scale)):
        program = pick_program(rng)
        me = forge.person(program.country, web_share=0.05)
        provider = "gmail.com" if rng.random() < 0.6 else forge.provider(program.country)
        me.email = forge.email(me.first, me.last, program.country, provider)
        if enrol_advocate(world, program, me, enrol_day(world)) is None:
            continue
        for _ in range(rng.choice((1, 1, 2, 3))):
            _alias_account(world, program, me)


def _alias_account(world: World, program: Program, me: Person) -> None:
    rng, forge = world.rng, world.forge
    roll = rng.random()
    if roll < 0.4:
        device = me.device  # same install, logged out and back in
    elif roll < 0.75:  # reinstalled the app: new install id, same phone
        new_id = forge.ios_install_id() if me.device.kind == "ios" else forge.android_id()
        device = Device(new_id, me.device.user_agents, me.device.kind)
    else:
        device = forge.phone(0.1)  # the old phone from the drawer
    alt = forge.person(program.country, me.city, device, me.home_ip, me.last)
    alt.first, alt.carrier = me.first, me.carrier
    alt.email = _alias(world, me.email, me.first, me.last)
    card_roll = rng.random()
    if card_roll < 0.45:
        alt.card = me.card
    elif card_roll < 0.75:
        alt.card = forge.card(program.country, VIRTUAL_BINS[program.country])
    ip = forge.vpn_ip() if rng.random() < 0.15 else None
    enrolled = world.enrolled_at(program, me) or world.start
    at = world.later(enrolled, 300, 2 * 86400)
    ctx = context(forge, alt, "home" if rng.random() < 0.55 else "mobile", ip=ip)
    if world.refer(program, me, alt, at, ctx, FRAUD, "self_referral_alias") and rng.random() < 0.93:
        near = rng.random() < 0.6
        amount = qualifying_basket(rng, program, near_min=0.9 if near else 0.1)
        world.purchase(program, alt, world.later(at, 120, 8 * 3600), amount)


def cross_program_rings(world: World, scale: float) -> None:
    """Two halves of a ring refer each other, one half in rides and the other in eats."""
    rng, forge = world.rng, world.forge
    rides, eats = PROGRAMS[1], PROGRAMS[2]
    for _ in range(scaled(5, scale)):
        size = rng.randrange(2, 4)
        phones = [forge.phone(0) for _ in range(rng.randrange(2, 4))]
        home = forge.residential_ip("US")
        bin6 = rng.choice(VIRTUAL_BINS["US"])
        city = forge.city("US")
        members = [
            forge.person("US", city, rng.choice(phones), home, card=forge.card("US", (bin6,)))
            for _ in range(size * 2)
        ]
        left, right = members[:size], members[size:]
        day = world.day(0, world.days - 30)
        for program, advocates in ((rides, left), (eats, right)):
            for member in advocates:
                enrol_advocate(world, program, member, day + rng.uniform(0, 3))
        for index in range(size):
            _ring_referral(world, rides, left[index], right[index])
            _ring_referral(world, eats, right[index], left[(index + 1) % size])
            for advocate, program in ((left[index], rides), (right[index], eats)):
                for _ in range(rng.randrange(0, 3)):  # sybils the ring also controls
                    extra = forge.person(
                        "US", city, rng.choice(phones), home, card=forge.card("US", (bin6,))
                    )
                    _ring_referral(world, program, advocate, extra)


def _ring_referral(world: World, program: Program, advocate: Person, referee: Person) -> None:
    rng = world.rng
    enrolled = world.enrolled_at(program, advocate)
    if enrolled is None:
        return
    at = signup_after(world, referee, enrolled, 9)
    ctx = context(world.forge, referee, "mobile" if rng.random() < 0.65 else "home")
    referred = world.refer(program, advocate, referee, at, ctx, FRAUD, "cross_program_ring")
    if referred and rng.random() < 0.9:
        amount = qualifying_basket(rng, program, near_min=0.6)
        world.purchase(program, referee, world.later(at, 1800, 3 * 86400), amount)


def refund_abuse(world: World, scale: float) -> None:
    """Claim "order never arrived" once the reward has cleared the holding period."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(14, scale)):
        program = pick_program(rng)
        advocate = forge.person(program.country)
        latest = world.days - program.holding_days - 10
        if latest < 1 or enrol_advocate(world, program, advocate, world.day(0, latest)) is None:
            continue
        for _ in range(rng.randrange(2, 5)):
            referee = forge.person(program.country, advocate.city)
            if rng.random() < 0.3:
                referee.home_ip = advocate.home_ip
            _abusive_order(world, program, advocate, referee)


def _abusive_order(world: World, program: Program, advocate: Person, referee: Person) -> None:
    rng = world.rng
    enrolled = world.enrolled_at(program, advocate) or world.start
    at = signup_after(world, referee, enrolled, 2)
    if not world.refer(
        program,
        advocate,
        referee,
        at,
        context(world.forge, referee),
        FRAUD,
        "refund_abuse_after_reward",
    ):
        return
    amount = (program.min_order * Decimal(str(round(rng.uniform(1.4, 3.2), 2)))).quantize(CENT)
    placed = world.later(at, 900, 20 * 3600)
    order_id = world.purchase(program, referee, placed, amount)
    if order_id is None:
        return
    cleared = placed + timedelta(days=program.holding_days)
    share = Decimal(1) if rng.random() < 0.8 else Decimal(rng.randrange(85, 96)) / 100
    world.refund(program, referee, order_id, world.later(cleared, 3600, 6 * 86400), amount * share)


def low_and_slow(world: World, scale: float) -> None:
    """One referral every few days for weeks, on recycled second-hand phones over CGNAT."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(4, scale)):
        program = pick_program(rng)
        phones = [
            forge.old_android() if rng.random() < 0.5 else forge.phone(0)
            for _ in range(rng.randrange(4, 7))
        ]
        advocates = [forge.person(program.country) for _ in range(rng.randrange(1, 3))]
        advocates = [a for a in advocates if enrol_advocate(world, program, a, world.day(0, 5))]
        for advocate in advocates:
            _slow_drip(world, program, advocate, phones)


def _slow_drip(world: World, program: Program, advocate: Person, phones: list[Device]) -> None:
    rng, forge = world.rng, world.forge
    at = world.enrolled_at(program, advocate) or world.start
    while True:
        at = signup_after(world, advocate, at, rng.uniform(3, 9))
        if at >= world.end:
            return
        referee = forge.person(program.country, advocate.city, rng.choice(phones))
        local = "".join(rng.choices(string.ascii_lowercase, k=rng.randrange(4, 7)))
        referee.email = f"{referee.first.lower()}{local}{rng.randrange(10, 999)}@" + rng.choice(
            ("gmail.com", "outlook.com", "yahoo.com")
        )
        referee.card = forge.card(
            program.country, PREPAID_BINS[program.country] + VIRTUAL_BINS[program.country]
        )
        if not world.refer(
            program,
            advocate,
            referee,
            at,
            context(forge, referee, "mobile"),
            FRAUD,
            "low_and_slow_farm",
        ):
            continue
        offset = offset_of(referee)
        paid = world.local_time(
            local_day(world, at, offset) + rng.uniform(0, 1.5), offset, program.hours
        )
        amount = program.min_order + Decimal(rng.randrange(50, 400)) * CENT
        world.purchase(program, referee, max(paid, world.later(at, 3600, 7200)), amount)


PATTERNS = (
    emulator_farms,
    synthetic_card_testing,
    self_referrals,
    cross_program_rings,
    refund_abuse,
    low_and_slow,
)
PATTERN_NAMES = (
    "emulator_bot_farm",
    "synthetic_prepaid_card_testing",
    "self_referral_alias",
    "cross_program_ring",
    "refund_abuse_after_reward",
    "low_and_slow_farm",
)
