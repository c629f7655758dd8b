"""Honest behaviour, each named, each deliberately brushing against some fraud signal."""

from __future__ import annotations

from generators.harbor.identities import DESKTOP, INSTAGRAM_IOS, OLD_DEVICES, Device, Person
from generators.harbor.ledger import Referral, context, home_context
from generators.harbor.shop import DAY, HOUR, PROGRAMS
from generators.harbor.world import Buying, World

OFFICE_HOURS = tuple(10 if 9 <= hour <= 17 else 0 for hour in range(24))
ISP_MAILBOXES = {
    "US": ("comcast.net", "att.net", "verizon.net", "cox.net", "sbcglobal.net"),
    "CA": ("shaw.ca", "rogers.com", "sympatico.ca", "telus.net", "videotron.ca"),
}
COMPANY_WORDS = (
    "northwind cascadia brightline ironwood maplecrest tidewater summit "
    "bluestem granite harborview keystone prairie redcedar"
).split()
COMPANY_KINDS = ("logistics", "health", "media", "eng", "financial", "labs", "group", "dental")
# Hotel, airport and foreign-home addresses (first octets) for travellers.
ABROAD = {
    "MX": ("187", "189", "201"),
    "GB": ("81", "86", "90"),
    "FR": ("90", "92", "109"),
    "DE": ("84", "91", "93"),
    "JP": ("126", "153"),
    "IT": ("79", "93"),
    "ES": ("88", "83"),
    "CR": ("186", "201"),
    "PT": ("85", "94"),
    "IS": ("157",),
}


def friend_of(world: World, advocate: Person) -> Person:
    """A friend: mostly the same country, their own mailbox, device, home and card."""
    country = advocate.country if world.rng.random() < 0.93 else world.country()
    return world.ids.person(country)


def refer_and_buy(
    world: World,
    program: str,
    advocate: Person,
    referee: Person,
    at: int,
    ctx: dict,
    pattern: str,
    buying: Buying | None = None,
    card: str | None = None,
) -> Referral | None:
    spec = PROGRAMS[program]
    referral = world.ledger.refer(program, advocate, referee, at, ctx, "legit", pattern)
    if referral is not None:
        world.buy(referral, spec, card or referee.cards[0], buying or Buying())
    return referral


def ordinary_friends(world: World, advocates: int) -> None:
    """Someone shares their link with a few friends over the following weeks."""
    for _ in range(world.count(advocates)):
        advocate = world.ids.person(world.country())
        spec = world.program_for(advocate.country)
        enrolled = world.enrol_home(spec, advocate, 0, world.days * 0.85)
        share_friends(world, spec.ref, advocate, enrolled, depth=0)


def share_friends(world: World, program: str, advocate: Person, since: int, depth: int) -> None:
    rng = world.rng
    moment = since
    for _ in range(rng.choices((1, 2, 3, 4, 5, 6), weights=(34, 26, 17, 11, 7, 5))[0]):
        friend = friend_of(world, advocate)
        moment = world.after(moment, 5.0, friend)
        referral = refer_and_buy(
            world, program, advocate, friend, moment, world.visit(friend), "ordinary_friends"
        )
        # A happy referee sometimes enrols too and passes the link on.
        if referral and depth < 2 and rng.random() < 0.08:
            spec = world.program_for(friend.country)
            at = world.after(referral.at, 6.0, friend)
            enrolled = world.ledger.enrol(spec.ref, friend, at, world.visit(friend))
            share_friends(world, spec.ref, friend, enrolled, depth + 1)


def households(world: World, homes: int) -> None:
    """Family or roommates behind one home router, each with their own device and card."""
    rng = world.rng
    for _ in range(world.count(homes)):
        country = world.country()
        home_ip = world.ids.residential_ip(country)
        surname = world.ids.name()[1]
        advocate = world.ids.person(country, last=surname, home_ip=home_ip)
        spec = world.program_for(country)
        moment = world.enrol_home(spec, advocate, 0, world.days * 0.9)
        for _ in range(rng.choices((1, 2, 3, 4), weights=(40, 32, 18, 10))[0]):
            last = surname if rng.random() < 0.8 else None
            domain = rng.choice(ISP_MAILBOXES[country]) if rng.random() < 0.3 else None
            member = world.ids.person(country, last=last, domain=domain, home_ip=home_ip)
            member.utc_offset = advocate.utc_offset
            if rng.random() < 0.1:  # the cable modem picked up a new lease
                home_ip = world.ids.octets(home_ip.split(".")[0], 3)
                member.home_ip = home_ip
            moment = world.after(moment, 2.5, member)
            refer_and_buy(
                world, spec.ref, advocate, member, moment, world.visit(member, 0.1), "household"
            )


def coworkers(world: World, offices: int) -> None:
    """A link posted in the office chat: many people, one corporate egress, one laptop image."""
    rng = world.rng
    for _ in range(world.count(offices)):
        country = world.country()
        spec = world.program_for(country)
        egress = world.ids.corporate_egress()
        image = rng.choice(DESKTOP[:3])
        company = f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}"
        domain = f"{company}.{'ca' if country == 'CA' else 'com'}"
        advocate = world.ids.person(country, home_ip=egress[0])
        advocate.device = Device(advocate.device.device_id, image)
        posted = world.clock.at(
            world.clock.day(0, world.days * 0.85), advocate.utc_offset, OFFICE_HOURS
        )
        world.ledger.enrol(spec.ref, advocate, posted, home_context(advocate))
        for _ in range(rng.randint(3, 14)):
            mailbox = domain if rng.random() < 0.2 else None
            colleague = world.ids.person(country, domain=mailbox, home_ip=rng.choice(egress))
            colleague.utc_offset = advocate.utc_offset
            if rng.random() < 0.7:
                colleague.device = Device(colleague.device.device_id, image)
            day = posted / DAY + rng.expovariate(1 / 1.5)
            if int(day) % 7 >= 5:
                day += 2
            at = world.clock.at(day, colleague.utc_offset, OFFICE_HOURS)
            refer_and_buy(
                world, spec.ref, advocate, colleague, at, home_context(colleague), "coworkers"
            )


def mobile_cgnat(world: World, advocates: int) -> None:
    """Strangers on phones whose carrier puts thousands behind a few addresses."""
    rng = world.rng
    for _ in range(world.count(advocates)):
        advocate = phone_user(world, world.country())
        spec = world.program_for(advocate.country)
        moment = world.enrol_home(spec, advocate, 0, world.days * 0.85)
        for _ in range(rng.choices((1, 2, 3, 4), weights=(40, 30, 20, 10))[0]):
            referee = phone_user(world, advocate.country)
            moment = world.after(moment, 4.0, referee)
            refer_and_buy(
                world, spec.ref, advocate, referee, moment, home_context(referee), "mobile_cgnat"
            )


def phone_user(world: World, country: str) -> Person:
    kind = "ios" if world.rng.random() < 0.74 else "android"
    person = world.ids.person(country, device=world.ids.device(kind))
    person.home_ip = world.rng.choice(world.carrier[country][: len(world.carrier[country]) // 3])
    return person


def influencers(world: World, creators: int) -> None:
    """An outdoor creator posts the link: a burst of strangers within a day or two."""
    rng = world.rng
    for _ in range(world.count(creators)):
        creator = world.ids.person(world.country())
        spec = world.program_for(creator.country)
        enrolled = world.enrol_home(spec, creator, 0, world.days * 0.3)
        for _ in range(rng.randint(1, 2)):
            posted = world.clock.at(
                world.clock.day(enrolled / DAY, world.days - 1), creator.utc_offset
            )
            for _ in range(rng.randint(20, 70)):
                follower = follower_of(world, creator)
                at = posted + int(rng.expovariate(1 / (7 * HOUR)))
                refer_and_buy(
                    world,
                    spec.ref,
                    creator,
                    follower,
                    at,
                    world.visit(follower, 0.5),
                    "influencer",
                    Buying(chance=0.38, lean=0.15),
                )


def follower_of(world: World, creator: Person) -> Person:
    roll = world.rng.random()
    country = creator.country if roll < 0.85 else ("CA" if creator.country == "US" else "US")
    follower = world.ids.person(country)
    if world.rng.random() < 0.4:
        follower.device = Device(follower.device.device_id, world.rng.choice(INSTAGRAM_IOS))
    return follower


def travellers(world: World, referrals: int) -> None:
    """The referee clicks from abroad: a hotel in Cancun, a snowbird condo, a semester away."""
    rng = world.rng
    for _ in range(world.count(referrals)):
        advocate = world.ids.person(world.country())
        spec = world.program_for(advocate.country)
        moment = world.enrol_home(spec, advocate, 0, world.days * 0.85)
        friend = world.ids.person(advocate.country)
        if advocate.country == "CA" and rng.random() < 0.4:
            abroad, ip = "US", world.ids.residential_ip("US")
        else:
            abroad = rng.choice(list(ABROAD))
            ip = world.ids.octets(rng.choice(ABROAD[abroad]), 3)
        moment = world.after(moment, 3.0, friend)
        ctx = context(ip, friend.device.device_id, friend.device.user_agent, abroad)
        refer_and_buy(world, spec.ref, advocate, friend, moment, ctx, "traveller")


def shared_family_device(world: World, families: int) -> None:
    """The family iPad or a hand-me-down phone: one device id, several customers."""
    rng = world.rng
    for _ in range(world.count(families)):
        country = world.country()
        old = Device(world.ids.device_id(), rng.choice(OLD_DEVICES))
        advocate = world.ids.person(country, device=old)
        spec = world.program_for(country)
        moment = world.enrol_home(spec, advocate, 0, world.days * 0.85)
        if rng.random() < 0.35:  # the advocate upgraded; the old phone went to a teenager
            advocate.device = world.ids.device("ios")
        for _ in range(rng.choices((1, 2, 3), weights=(60, 30, 10))[0]):
            relative = world.ids.person(country, last=advocate.last, home_ip=advocate.home_ip)
            relative.device = old
            moment = world.after(moment, 4.0, relative)
            refer_and_buy(
                world,
                spec.ref,
                advocate,
                relative,
                moment,
                home_context(relative),
                "shared_family_device",
            )


def vpn_users(world: World, referrals: int) -> None:
    """Privacy-minded shoppers whose traffic leaves from a commercial VPN's rented racks."""
    rng = world.rng
    for _ in range(world.count(referrals)):
        advocate = world.ids.person(world.country())
        spec = world.program_for(advocate.country)
        if rng.random() < 0.3:
            ip, country = world.ids.vpn_exit()
            at = world.clock.at(world.clock.day(0, world.days * 0.85), advocate.utc_offset)
            enrolled = world.ledger.enrol(
                spec.ref,
                advocate,
                at,
                context(ip, advocate.device.device_id, advocate.device.user_agent, country),
            )
        else:
            enrolled = world.enrol_home(spec, advocate, 0, world.days * 0.85)
        domain = "proton.me" if rng.random() < 0.25 else None
        friend = world.ids.person(advocate.country, domain=domain)
        ip, country = world.ids.vpn_exit()
        ctx = context(ip, friend.device.device_id, friend.device.user_agent, country)
        refer_and_buy(
            world, spec.ref, advocate, friend, world.after(enrolled, 4.0, friend), ctx, "vpn_user"
        )


def shared_family_card(world: World, families: int) -> None:
    """A spouse or grown child checks out with the advocate's card."""
    rng = world.rng
    for _ in range(world.count(families)):
        country = world.country()
        spec = world.program_for(country)
        advocate = world.ids.person(country)
        if rng.random() < 0.5:  # the advocate first arrived as someone's referee
            sponsor = world.ids.person(country)
            at = world.enrol_home(spec, sponsor, 0, world.days * 0.4)
            first = refer_and_buy(
                world,
                spec.ref,
                sponsor,
                advocate,
                world.after(at, 3, advocate),
                world.visit(advocate),
                "ordinary_friends",
                Buying(chance=0.95),
            )
            start = first.at if first else at
        else:
            start = 0
        at = world.after(start, 4.0, advocate)
        moment = world.ledger.enrol(spec.ref, advocate, at, world.visit(advocate))
        for _ in range(rng.choices((1, 2), weights=(75, 25))[0]):
            relative = world.ids.person(country, last=advocate.last, home_ip=advocate.home_ip)
            if rng.random() < 0.4:
                relative.home_ip = world.ids.residential_ip(country)
            moment = world.after(moment, 3.0, relative)
            refer_and_buy(
                world,
                spec.ref,
                advocate,
                relative,
                moment,
                world.visit(relative),
                "shared_family_card",
                card=advocate.cards[0],
            )


def ordinary_returns(world: World, referrals: int) -> None:
    """Wrong size, wrong colour: part or all of the order comes back, sometimes after payout."""
    returner = Buying(chance=1.0, returns=1.0, repeat=0.05, return_days=12.0)
    for _ in range(world.count(referrals)):
        advocate = world.ids.person(world.country())
        spec = world.program_for(advocate.country)
        enrolled = world.enrol_home(spec, advocate, 0, world.days * 0.7)
        friend = friend_of(world, advocate)
        refer_and_buy(
            world,
            spec.ref,
            advocate,
            friend,
            world.after(enrolled, 3.0, friend),
            world.visit(friend),
            "ordinary_returns",
            returner,
        )


def group_trips(world: World, organisers: int) -> None:
    """A quiet advocate resurfaces weeks later to outfit a hiking or ski trip: a burst of
    trip mates in one evening, each from their own home, device and card."""
    rng = world.rng
    for _ in range(world.count(organisers)):
        organiser = world.ids.person(world.country())
        spec = world.program_for(organiser.country)
        enrolled = world.enrol_home(spec, organiser, 0, world.days * 0.3)
        trip_day = enrolled / DAY + rng.uniform(18, 40)
        if trip_day >= world.days - 1:
            trip_day = world.days - rng.uniform(1.5, 3)
        moment = world.clock.at(trip_day, organiser.utc_offset)
        for _ in range(rng.randint(4, 11)):
            mate = friend_of(world, organiser)
            moment += rng.randint(2 * 60, 50 * 60)
            refer_and_buy(
                world,
                spec.ref,
                organiser,
                mate,
                moment,
                world.visit(mate, 0.4),
                "group_trip",
                Buying(chance=0.75, median_hours=30, lean=-0.3),
            )
