"""Genuine referrals: each function writes groups of one kind until it reaches its target."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from generators.lantern.identities import MAIL_PROVIDERS, Device, Person
from generators.lantern.world import Market, World

LEGIT = "legit"
NEIGHBOURS = {"DE": ("AT", "PL", "NL"), "FR": ("BE", "ES"), "NL": ("BE", "DE"), "GB": ("IE",)}
FAN_NEIGHBOURS = {"DE": ("AT", "CH"), "FR": ("BE", "CH"), "NL": ("BE",), "GB": ("IE",)}
HOLIDAY_COUNTRIES = ("ES", "IT", "PT", "GR", "HR")
EXPAT_COUNTRIES = ("ES", "IT", "PT", "PL", "RO", "CZ", "GB", "DE", "FR", "NL")
COMPANY_DOMAINS = {
    "DE": ("stadtwerke-nordheim.de", "kanzlei-brenner.de", "hafenlogistik-gmbh.de"),
    "FR": ("agence-lumiere.fr", "cabinet-roussel.fr"),
    "NL": ("bakker-logistiek.nl", "gemeente-veldhoven.nl"),
    "GB": ("northgate-consulting.co.uk", "harbourside-nhs.uk"),
}


def friends(world: World, target: int) -> int:
    """One advocate, one to a few friends in the same market, ordinary pace."""
    made = 0
    while made < target:
        market = world.market()
        day = world.day()
        advocate = _advocate(world, market, day)
        for _ in range(min(6, 1 + int(world.rng.expovariate(1.1)))):
            country = market.country
            if world.rng.random() < 0.04:
                country = world.rng.choice(NEIGHBOURS[market.country])
            friend = world.ids.person(country, market=market.country)
            when = world.local_moment(
                day + timedelta(days=world.rng.randint(0, 12)), market.country
            )
            at = world.refer(
                market, advocate, friend, when, world.home_context(friend), LEGIT, "ordinary_friend"
            )
            made += 1
            if at is not None and world.rng.random() < 0.62:
                world.convert(market, friend, at)
    return made


def _advocate(world: World, market: Market, day: datetime) -> Person:
    """Mostly a long-standing customer; one in eight was referred here and liked the boxes."""
    earlier = [p for p, paid in world.happy_referees[market.country] if paid < day]
    if earlier and world.rng.random() < 0.12:
        return world.rng.choice(earlier)
    return world.ids.person(market.country)


def households(world: World, target: int) -> int:
    """Family or flatmates behind one home IP, each with their own phone, card and mailbox."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        home = advocate.home
        same_evening = world.rng.random() < 0.5
        when = world.local_moment(world.day(), market.country)
        for _ in range(world.rng.choice((1, 1, 2, 2, 3))):
            family = advocate.last if world.rng.random() < 0.45 else None
            member = world.ids.person(market.country, home=home, last=family)
            when = (
                world.after(when, 3, 25)
                if same_evening
                else world.local_moment(world.day(), market.country)
            )
            ctx = world.context(member.home_ip, member.device, market.country)
            at = world.refer(market, advocate, member, when, ctx, LEGIT, "household")
            made += 1
            if at is not None and world.rng.random() < 0.7:
                world.convert(market, member, at, fast=world.rng.random() < 0.25)
    return made


WORK_HOURS = tuple(3.0 if 9 <= h <= 17 else 0.05 for h in range(24))


def offices(world: World, target: int) -> int:
    """Coworkers on one corporate line, managed desktops with one identical browser build."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        office_ip, _ = world.ids.residential(market.country)
        base = office_ip.rsplit(".", 1)[0]
        image = world.ids.device(
            world.rng.choice(("chrome_windows", "edge_windows", "firefox_windows"))
        )
        day = world.day(hi=world.days - 10)
        for _ in range(world.rng.randint(3, 8)):
            mate = world.ids.person(market.country)
            if world.rng.random() < 0.15:
                domain = world.rng.choice(COMPANY_DOMAINS[market.country])
                mate.email = mate.email.split("@")[0] + "@" + domain
            pc = Device(image.kind, f"dv_{world.ids.hex_token(24)}", image.user_agent)
            ip = base + "." + str(world.rng.choice((10, 11, 12, 13)))
            when = world.local_moment(
                day + timedelta(days=world.rng.randint(0, 9)), market.country, WORK_HOURS
            )
            at = world.refer(
                market,
                advocate,
                mate,
                when,
                world.context(ip, pc, market.country),
                LEGIT,
                "office_coworkers",
            )
            made += 1
            if at is not None and world.rng.random() < 0.6:
                world.convert(market, mate, at)
    return made


def mobile_cgnat(world: World, target: int) -> int:
    """Strangers on phones behind a carrier's handful of public NAT addresses."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        advocate.devices = [world.ids.device("android_chrome")]
        for _ in range(world.rng.choice((1, 1, 2))):
            friend = world.ids.person(market.country)
            friend.devices = [
                world.ids.device(
                    world.rng.choice(("android_chrome", "iphone_safari", "android_samsung"))
                )
            ]
            ip = world.ids.mobile_ip(market.country, gateways=4)
            when = world.local_moment(world.day(), market.country)
            at = world.refer(
                market,
                advocate,
                friend,
                when,
                world.context(ip, friend.device, market.country),
                LEGIT,
                "mobile_cgnat",
            )
            made += 1
            if at is not None and world.rng.random() < 0.6:
                world.convert(market, friend, at)
    return made


def influencers(world: World, target: int) -> int:
    """A food creator's story: dozens of strangers within hours, many in the in-app browser."""
    made = 0
    while made < target:
        market = world.market()
        creator = world.ids.person(market.country)
        for _ in range(world.rng.randint(1, 3)):
            post = world.local_moment(
                world.day(hi=world.days - 3),
                market.country,
                tuple(8.0 if 17 <= h <= 21 else 0.5 for h in range(24)),
            )
            for _ in range(world.rng.randint(12, 55)):
                made += _influencer_follower(world, market, creator, post)
    return made


def _influencer_follower(world: World, market: Market, creator: Person, post: datetime) -> int:
    country = market.country
    if world.rng.random() < 0.08:  # the creator's audience reaches over the border
        country = world.rng.choice(FAN_NEIGHBOURS[market.country])
    fan = world.ids.person(country, market=market.country)
    if world.rng.random() < 0.6:
        fan.devices = [world.ids.instagram_device(country)]
    when = post + timedelta(seconds=int(world.rng.expovariate(1 / (5 * 3600))))
    at = world.refer(market, creator, fan, when, world.home_context(fan), LEGIT, "influencer")
    if at is not None and world.rng.random() < 0.42:
        world.convert(market, fan, at, fast=world.rng.random() < 0.2, keeps_subscription=0.35)
    return 1


def travellers(world: World, target: int) -> int:
    """Referee on holiday: hotel Wi-Fi abroad when signing up, the order once back home."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        friend = world.ids.person(market.country)
        abroad = world.rng.choice(HOLIDAY_COUNTRIES)
        hotel_ip, _ = world.ids.residential(abroad)
        when = world.local_moment(world.day(hi=world.days - 5), abroad)
        at = world.refer(
            market,
            advocate,
            friend,
            when,
            world.context(hotel_ip, friend.device, abroad),
            LEGIT,
            "traveller",
        )
        made += 1
        if at is not None and world.rng.random() < 0.7:
            back = at + timedelta(days=world.rng.randint(2, 10), hours=world.rng.randint(0, 8))
            world.convert(market, friend, at, paid_at=back)
    return made


def shared_family_devices(world: World, target: int) -> int:
    """Grandparents and teenagers on the kitchen tablet or a hand-me-down phone."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        tablet = world.ids.old_device()
        shared = world.rng.random() < 0.6
        if shared:
            advocate.devices.insert(0, tablet)
        world.enrol(
            market,
            advocate,
            world.local_moment(world.day(hi=world.days - 7), market.country) + timedelta(days=1),
        )
        for _ in range(world.rng.choice((1, 1, 2))):
            relative = world.ids.person(market.country, home=advocate.home)
            device = tablet if shared else world.ids.old_device()
            when = world.local_moment(world.day(), market.country)
            at = world.refer(
                market,
                advocate,
                relative,
                when,
                world.context(advocate.home_ip, device, market.country),
                LEGIT,
                "shared_family_device",
            )
            made += 1
            if at is not None and world.rng.random() < 0.65:
                world.convert(market, relative, at, fast=world.rng.random() < 0.3)
    return made


def vpn_users(world: World, target: int) -> int:
    """Privacy-minded locals on commercial VPN exits or iCloud Private Relay."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        friend = world.ids.person(market.country)
        if world.rng.random() < 0.35:
            friend.devices = [world.ids.device(world.rng.choice(("iphone_safari", "safari_mac")))]
            ip, country = world.ids.private_relay_ip(), market.country
        else:
            friend.devices = [
                world.ids.device(
                    world.rng.choice(("firefox_linux", "firefox_windows", "android_firefox"))
                )
            ]
            exit_country = market.country if world.rng.random() < 0.5 else None
            ip, country = world.ids.vpn_exit(exit_country)
        when = world.local_moment(world.day(), market.country)
        at = world.refer(
            market,
            advocate,
            friend,
            when,
            world.context(ip, friend.device, country),
            LEGIT,
            "vpn_user",
        )
        made += 1
        if at is not None and world.rng.random() < 0.6:
            world.convert(market, friend, at)
    return made


def shared_family_cards(world: World, target: int) -> int:
    """The partner signs up on their own phone but pays with the advocate's card."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        partner = world.ids.person(market.country, home=advocate.home)
        ctx = world.home_context(partner)
        at = world.refer(
            market,
            advocate,
            partner,
            world.local_moment(world.day(), market.country),
            ctx,
            LEGIT,
            "shared_family_card",
        )
        made += 1
        if at is not None and world.rng.random() < 0.9:
            world.convert(market, partner, at, card=advocate.card, fast=world.rng.random() < 0.3)
    return made


def ordinary_returns(world: World, target: int) -> int:
    """Missing-ingredient credits and boxes lost in transit; some settled after the reward."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        friend = world.ids.person(market.country)
        at = world.refer(
            market,
            advocate,
            friend,
            world.local_moment(world.day(), market.country),
            world.home_context(friend),
            LEGIT,
            "ordinary_return",
        )
        made += 1
        if at is None:
            continue
        order_id, paid_at, paid = world.convert(market, friend, at, keeps_subscription=0.4)
        _return(world, market, friend, order_id, paid_at, paid)
    return made


def _return(
    world: World, market: Market, friend: Person, order_id: str, paid_at: datetime, paid: Decimal
) -> None:
    holding = market.holding_days
    late = world.rng.random() < 0.25  # disputes that customer service settles weeks later
    days = world.rng.randint(holding + 1, holding + 12) if late else world.rng.randint(1, 6)
    when = paid_at + timedelta(days=days, hours=world.rng.randint(0, 10))
    if world.rng.random() < 0.6:
        credit = min(paid, Decimal(world.rng.choice(("3.49", "4.99", "6.50", "8.99", "12.00"))))
        world.refund(market, friend, when, order_id, credit)
        return
    world.refund(market, friend, when, order_id, paid)


def expats_with_vpns(world: World, target: int) -> int:
    """Real friends abroad: expats, roaming visitors, VPNs; often ordering side by side."""
    made = 0
    while made < target:
        market = world.market()
        advocate = world.ids.person(market.country)
        on_vpn_too = world.rng.random() < 0.2
        for _ in range(world.rng.choice((1, 1, 1, 2))):
            friend, ctx, side_by_side = _expat(world, market.country)
            when = world.local_moment(world.day(), market.country)
            if on_vpn_too:  # enrolled over the same connection, e.g. the shared VPN
                world.enrol(
                    market,
                    advocate,
                    when,
                    world.context(ctx["ip"], advocate.device, ctx["country"]),
                )
            at = world.refer(market, advocate, friend, when, ctx, LEGIT, "expat_vpn")
            made += 1
            if at is not None and world.rng.random() < 0.7:
                # Trying the shop for a friend's sake: the smallest cart more often (15%).
                amount = world.first_box(market, trial_share=0.15)
                world.convert(
                    market, friend, at, fast=side_by_side, amount=amount, keeps_subscription=0.35
                )
    return made


def _expat(world: World, market_country: str) -> tuple[Person, dict[str, str], bool]:
    abroad = world.rng.choice([c for c in EXPAT_COUNTRIES if c != market_country])
    roll = world.rng.random()
    origin = abroad if roll < 0.35 or world.rng.random() < 0.5 else market_country
    friend = world.ids.person(
        origin if origin in MAIL_PROVIDERS else market_country, market=market_country
    )
    if roll < 0.35:  # visiting: EU roaming is home-routed, so the IP is the home carrier's
        ctx = world.context(world.ids.mobile_ip(abroad), friend.device, abroad)
        return friend, ctx, world.rng.random() < 0.75
    if roll < 0.7:  # living abroad, on a VPN to reach the home-market shop
        ip, exit_country = world.ids.vpn_exit()
        return friend, world.context(ip, friend.device, exit_country), world.rng.random() < 0.4
    ip, _ = world.ids.residential(abroad)
    return friend, world.context(ip, friend.device, abroad), world.rng.random() < 0.3
