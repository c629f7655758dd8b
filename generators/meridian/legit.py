"""Genuine referrals, each shaped to look like some fraud signal at first glance."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from generators.meridian.behaviour import (
    context,
    enrol_advocate,
    enrol_day,
    legit_orders,
    local_day,
    pick_program,
    scaled,
    signup_after,
)
from generators.meridian.identities import (
    CARRIERS,
    OLD_PROVIDERS,
    Device,
    Person,
    in_app_browser_agent,
)
from generators.meridian.world import WORK_HOURS, Program, World, offset_of

LEGIT = "legit"
COMPANIES = {
    "AU": ("harbourlogistics.com.au", "bluegumhealth.com.au", "southbankdigital.com"),
    "US": ("brightlane.io", "northpointcapital.com", "cedarlabs.co"),
}
ABROAD = {"AU": ("NZ", "GB", "SG", "US"), "US": ("CA", "MX", "GB", "AU")}
HOLIDAY = {"AU": ("ID", "NZ"), "US": ("MX", "CA")}
NEIGHBOUR = {"AU": "NZ", "US": "CA"}


def _refer(
    world: World,
    program: Program,
    advocate: Person,
    referee: Person,
    pattern: str,
    mean_days: float = 5.0,
    network: str = "auto",
    attempt: float = 0.7,
    card: str | None = None,
) -> bool:
    enrolled = world.enrolled_at(program, advocate)
    if enrolled is None:
        return False
    at = signup_after(world, referee, enrolled, mean_days)
    if not world.refer(
        program, advocate, referee, at, context(world.forge, referee, network), LEGIT, pattern
    ):
        return False
    legit_orders(world, program, referee, at, attempt=attempt, card=card)
    return True


def _new_advocate(world: World, program: Program) -> Person | None:
    """A fresh customer, or now and then an earlier referee passing the favour on."""
    rng = world.rng
    if world.graduates and rng.random() < 0.12:
        index = rng.randrange(len(world.graduates))
        graduate_program, person, converted = world.graduates.pop(index)
        if graduate_program is program:
            day = local_day(world, converted, offset_of(person)) + rng.uniform(1, 12)
            if enrol_advocate(world, program, person, day) is not None:
                return person
    person = world.forge.person(program.country)
    if enrol_advocate(world, program, person, enrol_day(world)) is None:
        return None
    return person


def friends(world: World, scale: float) -> None:
    """Ordinary invitations: one to a handful of friends each, over the following weeks."""
    rng = world.rng
    for _ in range(scaled(1100, scale)):
        program = pick_program(rng)
        advocate = _new_advocate(world, program)
        if advocate is None:
            continue
        for _ in range(rng.choices((1, 2, 3, 4, 5, 6, 8), weights=(34, 25, 15, 10, 7, 5, 4))[0]):
            city = advocate.city if rng.random() < 0.75 else None
            _refer(
                world,
                program,
                advocate,
                world.forge.person(program.country, city),
                "friends",
                mean_days=6,
            )


def households(world: World, scale: float) -> None:
    """Partners, grown kids, flatmates: one home IP, their own phones, cards and mailboxes."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(90, scale)):
        program = pick_program(rng)
        advocate = forge.person(program.country)
        family = advocate.last if rng.random() < 0.6 else None
        if enrol_advocate(world, program, advocate, enrol_day(world), "home") is None:
            continue
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            member = forge.person(
                program.country, advocate.city, home_ip=advocate.home_ip, last=family
            )
            network = "home" if rng.random() < 0.85 else "mobile"
            _refer(world, program, advocate, member, "household", 3, network)


def coworkers(world: World, scale: float) -> None:
    """An office orders lunch together: one corporate egress IP, weekday noon sign-ups."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(25, scale)):
        program = pick_program(rng, (50, 15, 35))
        office = [forge.business_ip(program.country)]
        office.append(office[0].rsplit(".", 1)[0] + f".{rng.randrange(1, 255)}")
        domain = rng.choice(COMPANIES[program.country])
        advocate = forge.person(program.country)
        day = enrol_day(world)
        if enrol_advocate(world, program, advocate, day, "mobile") is None:
            continue
        for _ in range(rng.randrange(3, 13)):
            mate = forge.person(program.country, advocate.city)
            if rng.random() < 0.3:
                mate.email = forge.email(mate.first, mate.last, program.country, domain)
            workday = day + rng.randrange(0, 12)
            while int(workday) % 7 >= 5:  # the data starts on a Monday
                workday += 1
            at = world.local_time(workday, offset_of(mate), WORK_HOURS)
            ip = rng.choice(office) if rng.random() < 0.8 else None
            ctx = context(forge, mate, "mobile", ip=ip)
            if world.refer(program, advocate, mate, at, ctx, LEGIT, "office_coworkers"):
                legit_orders(world, program, mate, at)


def carrier_crowds(world: World, scale: float) -> None:
    """Strangers in one CBD or stadium share a couple of carrier CGNAT gateways."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(25, scale)):
        program = pick_program(rng)
        city, carrier = forge.city(program.country), forge.carrier(program.country)
        gateways = [forge.gateway(program.country, city, carrier) for _ in range(2)]
        day = world.day(3, world.days - 3)
        midnight = world.start + timedelta(days=int(day))
        for _ in range(rng.randrange(6, 15)):
            advocate = forge.person(program.country, city)
            enrolled = enrol_advocate(world, program, advocate, world.day(0, day))
            if enrolled is None:
                continue
            referee = forge.person(program.country, city)
            referee.carrier = carrier
            hour = rng.randrange(17, 20) - offset_of(referee)
            at = midnight + timedelta(hours=hour, seconds=rng.randrange(3600))
            ctx = context(forge, referee, "mobile", ip=rng.choice(gateways))
            if at > enrolled and world.refer(
                program, advocate, referee, at, ctx, LEGIT, "carrier_cgnat_crowd"
            ):
                legit_orders(world, program, referee, at)


def influencers(world: World, scale: float) -> None:
    """A creator posts a code: bursts of strangers nationwide, many via in-app browsers."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(6, scale)):
        program = pick_program(rng, (45, 25, 30))
        creator = forge.person(program.country)
        enrolled = enrol_advocate(world, program, creator, world.day(0, 10))
        if enrolled is None:
            continue
        for _ in range(rng.randrange(1, 4)):
            post = enrolled + timedelta(days=rng.uniform(0.5, world.days - 12))
            for _ in range(rng.randrange(12, 35)):
                country = program.country
                if rng.random() < 0.08:
                    country = NEIGHBOUR[program.country]
                fan = forge.person(country, web_share=0.25)
                if fan.device.kind == "web" and rng.random() < 0.6:
                    agent = in_app_browser_agent(rng, country)
                    fan.device = Device(fan.device.device_id, (agent,), "web")
                at = post + timedelta(seconds=int(rng.expovariate(1 / 20000)) + 30)
                if world.refer(
                    program, creator, fan, at, context(forge, fan), LEGIT, "influencer_burst"
                ):
                    legit_orders(
                        world, program, fan, at, attempt=0.55, near_min=0.35, exact_min=0.04
                    )


def travellers(world: World, scale: float) -> None:
    """Visitors roaming on a home SIM, or locals on holiday: country and IP disagree."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(110, scale)):
        program = pick_program(rng)
        advocate = forge.person(program.country)
        if enrol_advocate(world, program, advocate, enrol_day(world)) is None:
            continue
        if rng.random() < 0.7:
            visitor = forge.person(rng.choice(ABROAD[program.country]), web_share=0.05)
            visitor.city = advocate.city
            roll = rng.random()
            if roll < 0.45:  # roaming data egresses through the home carrier
                ip = forge.gateway(visitor.country, "", visitor.carrier)
            elif roll < 0.75:
                ip = forge.business_ip(program.country)  # hotel Wi-Fi
            else:
                ip = forge.gateway(program.country, advocate.city, forge.carrier(program.country))
        else:
            visitor = forge.person(program.country)
            away = rng.choice(HOLIDAY[program.country])
            ip = forge.gateway(away, "", next(iter(CARRIERS[away])))
        _refer_at_ip(world, program, advocate, visitor, ip, "traveller")


def _refer_at_ip(
    world: World,
    program: Program,
    advocate: Person,
    referee: Person,
    ip: str,
    pattern: str,
    mean_days: float = 5.0,
) -> None:
    enrolled = world.enrolled_at(program, advocate)
    if enrolled is None:
        return
    at = signup_after(world, referee, enrolled, mean_days)
    ctx = context(world.forge, referee, ip=ip)
    if world.refer(program, advocate, referee, at, ctx, LEGIT, pattern):
        legit_orders(world, program, referee, at)


def vpn_users(world: World, scale: float) -> None:
    """Privacy-minded people keep a commercial VPN on: datacenter exits, normal lives."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(110, scale)):
        program = pick_program(rng)
        advocate = forge.person(program.country)
        network = "auto"
        day = enrol_day(world)
        if rng.random() < 0.3:
            advocate.home_ip = forge.vpn_ip()
            network = "home"
        if enrol_advocate(world, program, advocate, day, network) is None:
            continue
        referee = forge.person(program.country)
        _refer_at_ip(world, program, advocate, referee, forge.vpn_ip(), "vpn_user")


def family_tablets(world: World, scale: float) -> None:
    """The kitchen iPad: parents and teenagers each sign up on it, weeks apart."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(30, scale)):
        program = pick_program(rng, (55, 10, 35))
        tablet = forge.tablet()
        parent = forge.person(program.country)
        network = "auto"
        if rng.random() < 0.4:
            parent.device, network = tablet, "home"
        if enrol_advocate(world, program, parent, enrol_day(world), network) is None:
            continue
        for _ in range(rng.randrange(1, 4)):
            card = parent.card if rng.random() < 0.3 else None
            member = forge.person(
                program.country, parent.city, tablet, parent.home_ip, parent.last, card=card
            )
            _refer(world, program, parent, member, "shared_family_tablet", 12, "home")


def old_family_phones(world: World, scale: float) -> None:
    """One old Android handed around the family; each relative has their own account."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(35, scale)):
        program = pick_program(rng, (50, 20, 30))
        phone = forge.old_android()
        owner = forge.person(program.country)
        if rng.random() < 0.6:
            owner.device = phone
        if enrol_advocate(world, program, owner, enrol_day(world, 0.1)) is None:
            continue
        for _ in range(rng.randrange(2, 5)):
            relative = forge.person(
                program.country,
                owner.city,
                phone,
                owner.home_ip,
                owner.last if rng.random() < 0.7 else None,
            )
            if rng.random() < 0.5:
                domain = rng.choice(OLD_PROVIDERS[program.country])
                relative.email = forge.email(relative.first, relative.last, program.country, domain)
            relative.carrier = owner.carrier
            _refer(world, program, owner, relative, "old_family_phone", 10)


def shared_family_cards(world: World, scale: float) -> None:
    """A spouse or grown kid pays with the advocate's card, sometimes one already on file."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(50, scale)):
        program = pick_program(rng)
        advocate = forge.person(program.country)
        if rng.random() < 0.5 and _was_referred_first(world, program, advocate) is None:
            continue
        day = enrol_day(world)
        enrolled = world.enrolled_at(program, advocate)
        if enrolled is None and enrol_advocate(world, program, advocate, day, "home") is None:
            continue
        for _ in range(rng.choice((1, 1, 2))):
            family = forge.person(
                program.country,
                advocate.city,
                home_ip=advocate.home_ip,
                last=advocate.last,
                card=advocate.card,
            )
            _refer(
                world,
                program,
                advocate,
                family,
                "shared_family_card",
                4,
                "home",
                card=advocate.card,
            )


def _was_referred_first(world: World, program: Program, person: Person) -> Person | None:
    """The advocate joined through a friend and paid with their own card first."""
    friend = world.forge.person(program.country, person.city)
    if enrol_advocate(world, program, friend, world.day(0, world.days / 2)) is None:
        return None
    if not _refer(world, program, friend, person, "friends", 3, attempt=1.0):
        return None
    converted = world.referred_at(program, person) or world.start
    day = local_day(world, converted, offset_of(person)) + world.rng.uniform(2, 10)
    if enrol_advocate(world, program, person, day, "home") is None:
        return None
    return person


def ordinary_returns(world: World, scale: float) -> None:
    """Wrong orders and missing items: partial or full refunds, a few after the reward."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(150, scale)):
        program = pick_program(rng)
        advocate = forge.person(program.country)
        if enrol_advocate(world, program, advocate, world.day(0, world.days - 25)) is None:
            continue
        referee = forge.person(program.country, advocate.city)
        enrolled = world.enrolled_at(program, advocate) or world.start
        at = signup_after(world, referee, enrolled, 4)
        if not world.refer(
            program, advocate, referee, at, context(forge, referee), LEGIT, "ordinary_returns"
        ):
            continue
        order = legit_orders(world, program, referee, at, attempt=1.0)
        if order is not None:
            _return_order(world, program, referee, order)


def _return_order(
    world: World, program: Program, referee: Person, order: tuple[str, datetime, Decimal]
) -> None:
    rng = world.rng
    order_id, placed, amount = order
    roll = rng.random()
    if roll < 0.55:
        share = Decimal(rng.randrange(10, 46)) / 100
        world.refund(
            program, referee, order_id, world.later(placed, 1800, 2 * 86400), amount * share
        )
    elif roll < 0.85:
        world.refund(program, referee, order_id, world.later(placed, 600, 3 * 86400), amount)
    else:  # a late dispute lands after the holding period, like refund abuse would
        late = (program.holding_days + rng.uniform(1, 10)) * 86400
        share = Decimal(1) if rng.random() < 0.6 else Decimal(rng.randrange(30, 80)) / 100
        world.refund(
            program, referee, order_id, world.later(placed, late, late + 86400), amount * share
        )


def popup_ambassadors(world: World, scale: float) -> None:
    """A staff tablet at a market stall signs up stranger after stranger on venue Wi-Fi."""
    rng, forge = world.rng, world.forge
    for _ in range(scaled(4, scale)):
        program = pick_program(rng, (55, 10, 35))
        staff = forge.person(program.country)
        if enrol_advocate(world, program, staff, world.day(0, 5)) is None:
            continue
        stand = forge.tablet()
        for _ in range(rng.choice((1, 2, 2))):
            _popup_event(world, program, staff, stand)


def _popup_event(world: World, program: Program, staff: Person, stand: Device) -> None:
    rng, forge = world.rng, world.forge
    day = world.day(6, world.days - 4)
    if rng.random() < 0.5:
        venue_ip = forge.business_ip(program.country)
    else:  # the stand's own 4G hotspot
        venue_ip = forge.gateway(program.country, staff.city, forge.carrier(program.country))
    at = world.local_time(day, offset_of(staff), (0,) * 10 + (1,) + (0,) * 13)
    for _ in range(rng.randrange(18, 40)):
        at += timedelta(seconds=int(rng.expovariate(1 / 420)) + 60)
        visitor = forge.person(program.country, staff.city)
        ctx = context(forge, visitor, device=stand, ip=venue_ip)
        if not world.refer(program, staff, visitor, at, ctx, LEGIT, "popup_ambassador"):
            continue
        if rng.random() < 0.45:  # orders at the stand to get the credit on the spot
            amount = program.min_order + Decimal(rng.randrange(0, 900)) / 100
            if rng.random() < 0.15:
                amount = program.min_order
            world.purchase(program, visitor, world.later(at, 120, 900), amount)
        else:
            legit_orders(world, program, visitor, at, attempt=0.55)


PATTERNS = (
    friends,
    households,
    coworkers,
    carrier_crowds,
    influencers,
    travellers,
    vpn_users,
    family_tablets,
    old_family_phones,
    shared_family_cards,
    ordinary_returns,
    popup_ambassadors,
)
PATTERN_NAMES = (
    "friends",
    "household",
    "office_coworkers",
    "carrier_cgnat_crowd",
    "influencer_burst",
    "traveller",
    "vpn_user",
    "shared_family_tablet",
    "old_family_phone",
    "shared_family_card",
    "ordinary_returns",
    "popup_ambassador",
)
