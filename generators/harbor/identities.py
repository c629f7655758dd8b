"""Conventions of the harbor shop's traffic: people, mailboxes, devices, networks, cards.

Everything here is a string that only has to look like real North American web traffic;
nothing is ever contacted. Every draw goes through the one seeded ``random.Random``.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

FIRST_NAMES = (
    "james michael robert john david william richard joseph thomas christopher daniel "
    "matthew anthony mark steven andrew joshua kevin brian ryan jacob nicholas tyler "
    "brandon justin eric jordan dylan ethan noah liam logan owen connor hunter mason "
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen emily "
    "ashley amanda megan rachel lauren hannah olivia emma chloe madison abigail grace "
    "taylor morgan kayla brittany samantha nicole alexis sophie isabelle claire zoe "
    "priya ananya wei jun mei hiro yuki minh thanh carlos sofia diego valentina mateo "
    "lucia jamal aaliyah malik imani andre tremaine mohammed fatima omar layla "
    "gabriel amelie etienne genevieve mathieu camille"
).split()

LAST_NAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez "
    "hernandez lopez gonzalez wilson anderson thomas taylor moore jackson martin lee "
    "perez thompson white harris sanchez clark ramirez lewis robinson walker young "
    "allen king wright scott torres nguyen hill flores green adams nelson baker hall "
    "campbell mitchell carter roberts patel shah chen wang li kim park tran pham "
    "murphy kelly sullivan obrien macdonald fraser campbell stewart tremblay gagnon "
    "roy cote bouchard gauthier morin lavoie fortin singh gill dhillon sandhu "
    "lindqvist olsen larsen novak kowalski schmidt weber fischer"
).split()

# Webmail share in North America, with the legacy ISP mailboxes people still keep.
US_PROVIDERS = (
    ("gmail.com", 48),
    ("yahoo.com", 12),
    ("outlook.com", 7),
    ("hotmail.com", 8),
    ("icloud.com", 11),
    ("aol.com", 2),
    ("comcast.net", 4),
    ("att.net", 2),
    ("sbcglobal.net", 1),
    ("verizon.net", 1),
    ("cox.net", 1),
    ("charter.net", 1),
    ("me.com", 2),
)
CA_PROVIDERS = (
    ("gmail.com", 46),
    ("hotmail.com", 11),
    ("outlook.com", 7),
    ("yahoo.ca", 7),
    ("icloud.com", 9),
    ("shaw.ca", 5),
    ("rogers.com", 4),
    ("sympatico.ca", 3),
    ("telus.net", 3),
    ("videotron.ca", 2),
    ("bell.net", 2),
    ("live.ca", 1),
)
FRESH_PROVIDERS = (("gmail.com", 55), ("outlook.com", 20), ("yahoo.com", 15), ("proton.me", 4))

# Residential first octets per ISP (cable, fibre, DSL). Host parts are drawn per home.
US_RESIDENTIAL = {
    "comcast": (73, 98, 24, 76, 67),
    "spectrum": (66, 174, 97, 75),
    "att-fiber": (99, 107, 104),
    "verizon-fios": (71, 108, 100),
    "cox": (68, 70, 72),
    "frontier": (47, 50),
}
CA_RESIDENTIAL = {
    "rogers": (99, 174, 72),
    "shaw": (70, 68, 24),
    "bell": (142, 184, 65),
    "videotron": (24, 184),
    "telus": (154, 75, 207),
}
# Mobile carrier CGNAT egress: a handful of addresses in a few /24s carry whole regions.
MOBILE_CARRIERS = {
    "US": (("tmobile", "172.58"), ("verizon-wireless", "174.205"), ("att-mobility", "166.205")),
    "CA": (
        ("rogers-wireless", "72.138"),
        ("telus-mobility", "206.172"),
        ("bell-mobility", "184.151"),
    ),
}
# Hosting and cloud ranges (first two octets) an attacker rents by the hour.
HOSTING_PREFIXES = (
    "159.203",  # droplet-style VPS
    "165.227",
    "138.197",
    "45.79",  # small-VPS hosts
    "172.104",
    "45.76",
    "149.28",
    "3.84",  # big-cloud compute
    "18.206",
    "34.86",
    "35.196",
    "104.248",
)
# Commercial VPN exit blocks (leased colo space), with the country the exit claims.
VPN_EXITS = (
    ("89.187.178", "US"),
    ("156.146.55", "US"),
    ("212.102.40", "US"),
    ("185.153.177", "CA"),
    ("37.19.213", "US"),
    ("149.88.18", "CA"),
    ("195.181.166", "NL"),
)
# Static business blocks for office egress.
CORPORATE_PREFIXES = ("12.161", "63.117", "204.14", "199.59", "216.52", "208.92")

TIMEZONES = {"US": (4, 5, 5, 6, 7, 7), "CA": (4, 4, 5, 6, 7, 7)}  # UTC offsets, autumn DST

IOS_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/26.0.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/26.0 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.6 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:143.0) Gecko/20100101 Firefox/143.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:143.0) Gecko/20100101 Firefox/143.0",
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921U) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36",
)
IPAD_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.6 Safari/605.1.15",
)
OLD_DEVICES = (
    "Mozilla/5.0 (iPad; CPU OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/12.1.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_8_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/15.6.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_10 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 9; SM-T510) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/127.0.0.0 Safari/537.36",
)
INSTAGRAM_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/22G86 Instagram 398.0.0.24.84 (iPhone15,2; iOS 18_6; en_US; "
    "en; scale=3.00; 1179x2556; 781245093)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/22G86 Instagram 399.1.0.22.80 (iPhone16,1; iOS 18_6; en_CA; "
    "en; scale=3.00; 1179x2556; 783390127)",
)
# Android emulator images as the farm's browsers report them, raw and dressed up.
EMULATOR = (
    "Mozilla/5.0 (Linux; Android 14; sdk_gphone64_x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Android SDK built for x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36",
)
SPOOFED_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921U) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Mobile Safari/537.36",
)
HEADLESS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/141.0.0.0 Safari/537.36"
)

# Device mix of the shop: desktop and iPhone Safari dominate.
DEVICE_MIX = (("ios", 44), ("desktop", 40), ("android", 12), ("ipad", 4))
ALNUM = string.ascii_letters + string.digits


def weighted(rng: Random, pairs: tuple[tuple[str, int], ...]) -> str:
    """One key of ``pairs`` drawn in proportion to its weight."""
    keys = [key for key, _ in pairs]
    return rng.choices(keys, weights=[weight for _, weight in pairs])[0]


@dataclass(frozen=True)
class Device:
    device_id: str
    user_agent: str


@dataclass
class Person:
    customer_id: str
    first: str
    last: str
    email: str
    country: str
    utc_offset: int
    home_ip: str
    device: Device
    cards: list[str] = field(default_factory=list)


class Identities:
    """Draws unique customer ids, mailboxes, devices, addresses and cards."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        self._taken: set[str] = set()

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._taken:
                self._taken.add(value)
                return value

    def customer_id(self) -> str:
        # Storefront customer numbers: 13 digits, issued by a sharded sequence, so
        # neighbouring sign-ups do not get neighbouring numbers.
        return self._unique(lambda: f"{self.rng.randint(6_000_000_000_000, 7_999_999_999_999)}")

    def name(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def handle(self, first: str, last: str) -> str:
        rng = self.rng
        year = rng.randint(62, 106) % 100
        styles = (
            f"{first}.{last}",
            f"{first}{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first[0]}{last}",
            f"{first}_{last}{year:02d}",
            f"{first}.{last}{rng.randint(1, 9999)}",
            f"{first[0]}{last}{year:02d}",
            f"{last}{first[0]}",
            f"{first}{rng.choice(['hikes', 'outdoors', 'runs', 'bear', 'fox', 'pnw'])}",
        )
        return rng.choices(styles, weights=(16, 14, 16, 10, 8, 10, 10, 4, 3))[0]

    def email(self, first: str, last: str, domain: str) -> str:
        return self._unique(lambda: f"{self.handle(first, last)}@{domain}")

    def email_exact(self, email: str) -> str | None:
        """Claim a mailbox spelled exactly so; None if someone already has it."""
        if email in self._taken:
            return None
        self._taken.add(email)
        return email

    def provider(self, country: str) -> str:
        return weighted(self.rng, CA_PROVIDERS if country == "CA" else US_PROVIDERS)

    def device_id(self) -> str:
        # The storefront's first-party device cookie: a random UUID v4.
        def make() -> str:
            hexes = f"{self.rng.getrandbits(128):032x}"
            variant = "89ab"[self.rng.randrange(4)]
            return (
                f"{hexes[:8]}-{hexes[8:12]}-4{hexes[13:16]}-{variant}{hexes[17:20]}-{hexes[20:32]}"
            )

        return self._unique(make)

    def device(self, kind: str | None = None) -> Device:
        kind = kind or weighted(self.rng, DEVICE_MIX)
        pool = {"ios": IOS_SAFARI, "desktop": DESKTOP, "android": ANDROID, "ipad": IPAD_SAFARI}
        return Device(self.device_id(), self.rng.choice(pool[kind]))

    def card(self) -> str:
        # Processor card fingerprint: opaque, stable for one card number.
        return self._unique(lambda: "card_" + "".join(self.rng.choices(ALNUM, k=16)))

    def octets(self, prefix: str, count: int) -> str:
        tail = [str(self.rng.randint(1, 254)) for _ in range(count)]
        return ".".join([prefix, *tail])

    def residential_ip(self, country: str) -> str:
        isps = CA_RESIDENTIAL if country == "CA" else US_RESIDENTIAL
        first = self.rng.choice(self.rng.choice(list(isps.values())))
        return self.octets(str(first), 3)

    def carrier_egress(self, country: str, size: int) -> list[str]:
        """A carrier's CGNAT egress pool: few addresses shared by thousands of phones."""
        pool = []
        for _, prefix in MOBILE_CARRIERS["CA" if country == "CA" else "US"]:
            third = self.rng.randint(0, 255)
            pool += [f"{prefix}.{third}.{self.rng.randint(1, 254)}" for _ in range(size)]
        return pool

    def hosting_block(self) -> str:
        """A /24 in a hosting range; attackers' instances land on neighbouring hosts."""
        return self.octets(self.rng.choice(HOSTING_PREFIXES), 1)

    def vpn_exit(self, country: str | None = None) -> tuple[str, str]:
        exits = [exit for exit in VPN_EXITS if country in (None, exit[1])]
        block, country = self.rng.choice(exits)
        return f"{block}.{self.rng.randint(2, 250)}", country

    def corporate_egress(self) -> list[str]:
        block = self.octets(self.rng.choice(CORPORATE_PREFIXES), 1)
        base = self.rng.randrange(0, 240, 16)
        return [f"{block}.{base + offset}" for offset in (1, 2)]

    def person(
        self,
        country: str = "US",
        *,
        last: str | None = None,
        domain: str | None = None,
        home_ip: str | None = None,
        device: Device | None = None,
    ) -> Person:
        first, drawn_last = self.name()
        last = last or drawn_last
        email = self.email(first, last, domain or self.provider(country))
        return Person(
            customer_id=self.customer_id(),
            first=first,
            last=last,
            email=email,
            country=country,
            utc_offset=self.rng.choice(TIMEZONES[country]),
            home_ip=home_ip or self.residential_ip(country),
            device=device or self.device(),
            cards=[self.card()],
        )
