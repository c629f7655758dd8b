"""Who the Meridian app's customers are: names, mailboxes, phones, networks and cards.

Every string here only has to look like real mobile traffic; nothing is ever contacted.
All randomness comes from the one `random.Random` a `Forge` is built with.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

# --- places -----------------------------------------------------------------------------

# City -> UTC offset in hours (summer time in the south, winter time in the north, held
# fixed over the two months the generator covers).
CITIES: dict[str, dict[str, float]] = {
    "AU": {"Sydney": 11, "Melbourne": 11, "Brisbane": 10, "Perth": 8, "Adelaide": 10.5},
    "US": {"New York": -5, "Los Angeles": -8, "Chicago": -6, "Houston": -6, "Seattle": -8},
}
CITY_WEIGHTS = {"AU": (38, 32, 16, 9, 5), "US": (30, 26, 18, 14, 12)}

# Mobile carriers' public egress blocks (/16s). Behind each, carrier-grade NAT puts
# thousands of subscribers on a dozen gateway addresses per city.
CARRIERS: dict[str, dict[str, tuple[str, ...]]] = {
    "AU": {
        "Telstra": ("1.128", "1.129", "1.132", "1.136", "1.144", "1.152"),
        "Optus": ("49.176", "49.178", "49.180", "49.184", "49.188"),
        "TPG Vodafone": ("120.16", "120.17", "120.18", "120.21"),
    },
    "US": {
        "T-Mobile": ("172.56", "172.58", "172.59", "172.32"),
        "Verizon": ("174.192", "174.200", "174.204", "174.208", "174.224"),
        "AT&T": ("166.170", "166.172", "166.196", "107.77", "107.115"),
    },
    "NZ": {"Spark": ("49.224", "49.225"), "One NZ": ("202.175",)},
    "GB": {"EE": ("148.252",), "Vodafone UK": ("92.40",)},
    "SG": {"Singtel": ("111.65",)},
    "CA": {"Rogers": ("72.136",), "Bell": ("184.151",)},
    "MX": {"Telcel": ("189.203",)},
    "ID": {"Telkomsel": ("114.122",)},
}
CARRIER_WEIGHTS = {"AU": (45, 35, 20), "US": (38, 36, 26)}
# Gateway addresses per carrier and city: small on purpose, CGNAT is what it is.
GATEWAYS_PER_CITY = 14

# Home broadband: one stable address per household.
RESIDENTIAL = {
    "AU": (
        "58.104",
        "58.106",
        "110.142",
        "110.143",
        "101.160",
        "101.161",
        "180.150",
        "119.18",
        "211.26",
        "49.195",
        "124.168",
        "122.105",
    ),
    "US": (
        "73.15",
        "73.42",
        "73.170",
        "98.207",
        "24.27",
        "66.108",
        "71.82",
        "76.176",
        "99.12",
        "99.46",
        "71.105",
        "72.76",
        "68.0",
        "70.174",
    ),
    "NZ": ("125.236", "222.154"),
    "GB": ("86.28", "81.102"),
    "CA": ("99.236", "174.91"),
    "SG": ("116.86", "118.200"),
    "MX": ("187.190", "201.141"),
}
# Business broadband: offices and venues egress from a handful of static addresses.
BUSINESS = {
    "AU": ("203.45", "203.134", "61.88", "202.124"),
    "US": ("12.130", "65.196", "208.184", "63.145"),
}
# Hosting and commercial VPN exits (M247, Datacamp, cloud providers).
DATACENTER = (
    "185.156.175",
    "89.187.170",
    "146.70.117",
    "37.19.198",
    "45.133.173",
    "3.25.41",
    "52.62.118",
    "18.204.77",
    "159.203.24",
    "167.99.201",
    "134.209.93",
)
VPN_EXITS = (
    "185.156.175",
    "89.187.170",
    "146.70.117",
    "37.19.198",
    "45.133.173",
    "103.108.94",
    "149.88.20",
)

# --- names and mailboxes ------------------------------------------------------------------

FIRST = {
    "AU": (
        "Olivia",
        "Charlotte",
        "Amelia",
        "Isla",
        "Mia",
        "Ava",
        "Grace",
        "Chloe",
        "Zoe",
        "Ruby",
        "Sophie",
        "Emily",
        "Hannah",
        "Matilda",
        "Priya",
        "Mei",
        "Aisha",
        "Jack",
        "Oliver",
        "Noah",
        "William",
        "Thomas",
        "Lachlan",
        "Liam",
        "Cooper",
        "Harrison",
        "Ethan",
        "Lucas",
        "James",
        "Riley",
        "Mitchell",
        "Nguyen",
        "Arjun",
        "Wei",
        "Daniel",
        "Sam",
        "Josh",
        "Ben",
        "Kate",
        "Jess",
        "Tom",
        "Bec",
        "Nathan",
        "Kirra",
    ),
    "US": (
        "Emma",
        "Olivia",
        "Sophia",
        "Isabella",
        "Madison",
        "Ashley",
        "Jessica",
        "Sarah",
        "Brianna",
        "Kayla",
        "Maria",
        "Jasmine",
        "Aaliyah",
        "Mei",
        "Priya",
        "Michael",
        "Christopher",
        "Matthew",
        "Joshua",
        "David",
        "Tyler",
        "Brandon",
        "Justin",
        "Jose",
        "Luis",
        "Carlos",
        "DeShawn",
        "Jamal",
        "Kevin",
        "Ryan",
        "Andrew",
        "Eric",
        "Megan",
        "Lauren",
        "Taylor",
        "Jordan",
        "Alex",
        "Chris",
        "Nick",
        "Danielle",
    ),
    "NZ": ("Aroha", "Tama", "Ella", "Finn", "Manaia", "Georgia"),
    "GB": ("Harry", "Amelia", "George", "Poppy", "Oscar", "Freya"),
    "SG": ("Wei Ling", "Jun Jie", "Hui Min", "Darren"),
    "CA": ("Logan", "Avery", "Owen", "Brooklyn"),
    "MX": ("Santiago", "Valentina", "Mateo", "Ximena"),
}
LAST = {
    "AU": (
        "Smith",
        "Jones",
        "Williams",
        "Brown",
        "Wilson",
        "Taylor",
        "Nguyen",
        "Johnson",
        "Martin",
        "White",
        "Anderson",
        "Walker",
        "Thompson",
        "Kelly",
        "Ryan",
        "Chen",
        "Singh",
        "Patel",
        "Murphy",
        "O'Brien",
        "Campbell",
        "Mitchell",
        "Tran",
        "Li",
        "Harris",
        "Papadopoulos",
        "Rossi",
        "Kaur",
        "Hughes",
        "McDonald",
    ),
    "US": (
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Garcia",
        "Miller",
        "Davis",
        "Rodriguez",
        "Martinez",
        "Hernandez",
        "Lopez",
        "Wilson",
        "Anderson",
        "Thomas",
        "Jackson",
        "Lee",
        "Kim",
        "Nguyen",
        "Patel",
        "Robinson",
        "Walker",
        "Young",
        "Allen",
        "King",
        "Wright",
        "Scott",
        "Green",
        "Baker",
        "Washington",
    ),
    "NZ": ("Ngata", "Wilson", "Parata", "Smith", "Walker"),
    "GB": ("Clarke", "Evans", "Hughes", "Roberts", "Wood"),
    "SG": ("Tan", "Lim", "Ng", "Wong"),
    "CA": ("Tremblay", "Roy", "MacDonald", "Gagnon"),
    "MX": ("Hernandez", "Ramirez", "Flores", "Morales"),
}
NICKNAMES = (
    "sunny",
    "jojo",
    "bear",
    "kiwi",
    "lulu",
    "ace",
    "moose",
    "bubbles",
    "taz",
    "skip",
    "dusty",
    "pip",
    "bluey",
    "chooks",
    "bub",
    "mack",
)
PROVIDERS = {
    "AU": (
        ("gmail.com", 45),
        ("outlook.com", 9),
        ("hotmail.com", 7),
        ("icloud.com", 12),
        ("bigpond.com", 6),
        ("yahoo.com.au", 6),
        ("live.com.au", 3),
        ("optusnet.com.au", 3),
        ("tpg.com.au", 2),
        ("proton.me", 2),
    ),
    "US": (
        ("gmail.com", 50),
        ("yahoo.com", 12),
        ("icloud.com", 12),
        ("outlook.com", 7),
        ("hotmail.com", 5),
        ("aol.com", 3),
        ("comcast.net", 3),
        ("att.net", 2),
        ("proton.me", 2),
        ("verizon.net", 1),
    ),
    "NZ": (("gmail.com", 60), ("xtra.co.nz", 25), ("outlook.com", 15)),
    "GB": (("gmail.com", 50), ("btinternet.com", 20), ("outlook.com", 20), ("yahoo.co.uk", 10)),
    "SG": (("gmail.com", 70), ("singnet.com.sg", 15), ("hotmail.com", 15)),
    "CA": (("gmail.com", 60), ("hotmail.ca", 20), ("rogers.com", 20)),
    "MX": (("gmail.com", 60), ("hotmail.com", 30), ("outlook.com", 10)),
}
# Old-school mailboxes used by the older relatives on a shared family phone.
OLD_PROVIDERS = {
    "AU": ("bigpond.com", "hotmail.com", "yahoo.com.au", "optusnet.com.au"),
    "US": ("aol.com", "yahoo.com", "comcast.net", "att.net", "hotmail.com"),
}
# Mailboxes that bot farms create in bulk: free, no phone check or cheap to pass.
FARM_PROVIDERS = (
    ("gmail.com", 40),
    ("outlook.com", 25),
    ("proton.me", 15),
    ("hotmail.com", 12),
    ("yahoo.com", 8),
)

# --- cards ----------------------------------------------------------------------------------

# Fingerprint format: fp_<6-digit BIN>_<10 base36>. The BIN is the issuer's prefix, so
# everyone at one big bank shares it; only the tail tells two cards apart.
BANK_BINS = {
    "AU": ("462263", "456443", "494052", "516361", "557594", "433961", "376011", "521729"),
    "US": (
        "414720",
        "426684",
        "440066",
        "517805",
        "542418",
        "601100",
        "371449",
        "480213",
        "403766",
        "546616",
    ),
    "NZ": ("450915", "524364"),
    "GB": ("475129", "535522"),
    "SG": ("455606",),
    "CA": ("450644", "520082"),
    "MX": ("477213",),
    "ID": ("421570",),
}
# Apple Pay / Google Pay device tokens (DPANs) come from token BIN ranges.
WALLET_BINS = {"AU": ("489504", "530695"), "US": ("489537", "559666")}
# Reloadable prepaid and gift cards sold at supermarkets and servos.
PREPAID_BINS = {"AU": ("533317", "404038", "485340"), "US": ("423223", "531106", "446542")}
# App-only banks and virtual card issuers.
VIRTUAL_BINS = {"AU": ("459676", "535316"), "US": ("485246", "528911")}

# --- phones ---------------------------------------------------------------------------------

APP = "MeridianApp"
APP_VERSIONS = (("5.2.1", 55), ("5.2.0", 20), ("5.1.3", 15), ("5.0.4", 10))
OLD_APP_VERSIONS = ("4.7.3", "4.9.0", "4.9.2")

# (model identifier, iOS version)
IPHONES = (
    ("iPhone14,3", "17.4"),
    ("iPhone15,2", "17.3.1"),
    ("iPhone16,1", "17.5"),
    ("iPhone13,2", "16.7.8"),
    ("iPhone12,1", "17.2.1"),
    ("iPhone14,7", "17.4.1"),
    ("iPhone15,4", "17.5"),
    ("iPhone14,5", "17.1.2"),
    ("iPhone11,8", "16.7.7"),
)
# iOS minor version -> (CFNetwork, Darwin) as the system HTTP stack reports them.
CFNETWORK = {
    "17.5": ("1496.0.7", "23.5.0"),
    "17.4": ("1494.0.7", "23.4.0"),
    "17.3": ("1492.0.1", "23.3.0"),
    "17.2": ("1490.0.4", "23.2.0"),
    "17.1": ("1485", "23.1.0"),
    "16.7": ("1410.0.3", "22.6.0"),
}
# (model, Android version, build id)
ANDROIDS = (
    ("SM-S918B", "14", "UP1A.231005.007"),
    ("SM-A546E", "14", "UP1A.231005.007"),
    ("Pixel 7", "14", "AP1A.240305.019.A1"),
    ("Pixel 8 Pro", "14", "AP1A.240405.002"),
    ("SM-G991U", "14", "UP1A.231005.007"),
    ("CPH2207", "13", "TP1A.220905.001"),
    ("M2101K6G", "13", "TKQ1.221013.002"),
    ("SM-A156E", "14", "UP1A.231005.007"),
    ("moto g power (2022)", "12", "S3RQS32.20-42-10"),
    ("Pixel 6a", "14", "AP1A.240305.019"),
)
OLD_ANDROIDS = (
    ("SM-J730G", "9", "PPR1.180610.011"),
    ("SM-G930F", "8.0.0", "R16NW"),
    ("Moto G (5S)", "8.1.0", "OPPS28.65-37-7-12"),
    ("CPH1701", "7.1.1", "N6F26Q"),
    ("SM-A520F", "8.0.0", "R16NW"),
    ("LG-M250", "7.0", "NRD90U"),
)
IPADS = (("iPad13,18", "17.3"), ("iPad12,1", "17.4"), ("iPad7,11", "16.7"))
ANDROID_TABLETS = (("SM-X200", "14", "UP1A.231005.007"), ("SM-T505", "12", "SP1A.210812.016"))
# Emulator images as their build fingerprints give them away: the stock Android
# emulator, Genymotion's VirtualBox image, and a spoofed model over an emulator build.
EMULATORS = (
    ("sdk_gphone64_x86_64", "13", "TE1A.220922.034"),
    ("sdk_gphone_x86", "11", "RSR1.201013.001"),
    ("Android SDK built for x86", "10", "QSR1.210802.001"),
    ("Genymotion 'Phone' version", "11", "RQ1A.210105.003"),
    ("vbox86p", "10", "QQ2A.200501.001.B2"),
    ("SM-G988N", "9", "PQ3A.190605.07021633"),
)
OKHTTP = ("okhttp/4.12.0", "okhttp/4.11.0", "okhttp/4.10.0")


@dataclass(frozen=True)
class Device:
    """One app install (or one browser cookie) and the user agents it sends."""

    device_id: str
    user_agents: tuple[str, ...]
    kind: str  # "ios", "android", "web", "tablet", "old_android", "emulator"


@dataclass
class Person:
    customer_id: str
    first: str
    last: str
    email: str
    country: str
    city: str
    device: Device
    home_ip: str
    carrier: str
    card: str
    extra: dict[str, str] = field(default_factory=dict)


def _ios_agents(model: str, ios: str, version: str) -> tuple[str, ...]:
    cf, darwin = CFNETWORK[".".join(ios.split(".")[:2])]
    build = version.replace(".", "") + "0"
    return (
        f"{APP}/{version} ({model}; iOS {ios}; Scale/3.00)",
        f"Meridian/{build} CFNetwork/{cf} Darwin/{darwin}",
    )


def _android_agents(
    model: str, android: str, build: str, version: str, okhttp: str = "okhttp/4.12.0"
) -> tuple[str, ...]:
    return (
        f"{APP}/{version} (Linux; Android {android}; {model} Build/{build})",
        okhttp,
        f"Dalvik/2.1.0 (Linux; U; Android {android}; {model} Build/{build})",
    )


def mobile_web_agent(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        ios = rng.choice(("17_4_1", "17_3_1", "17_5", "16_7_8"))
        short = ios.replace("_", ".")
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{short[:4]} Mobile/15E148 Safari/604.1"
        )
    if roll < 0.8:
        chrome = rng.choice(("124.0.6367.82", "123.0.6312.118", "122.0.6261.119"))
        return (
            f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{chrome} Mobile Safari/537.36"
        )
    if roll < 0.92:
        return (
            "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, "
            "like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"
        )
    return (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36"
    )


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


class Forge:
    """Makes unique, realistic identities from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._taken: set[str] = set()
        self._gateways: dict[tuple[str, str, str], list[str]] = {}

    # --- identifiers ---------------------------------------------------------------------
    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._taken:
                self._taken.add(value)
                return str(value)

    def customer_id(self) -> str:
        alphabet = string.ascii_lowercase + string.digits
        return self._unique(lambda: "usr_" + "".join(self.rng.choices(alphabet, k=12)))

    def order_id(self, prefix: str) -> str:
        return self._unique(lambda: f"{prefix}-{self.rng.randrange(10**8, 10**9)}")

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ios_install_id(self) -> str:
        return self._unique(lambda: self._uuid().upper())

    def android_id(self) -> str:
        return self._unique(lambda: f"{self.rng.getrandbits(64):016x}")

    def web_id(self) -> str:
        return self._unique(lambda: "mw-" + self._uuid())

    # --- devices -------------------------------------------------------------------------
    def app_version(self) -> str:
        return _weighted(self.rng, APP_VERSIONS)

    def phone(self, web_share: float = 0.12) -> Device:
        """A customer's own phone: the app on iOS or Android, sometimes mobile web."""
        rng = self.rng
        if rng.random() < web_share:
            return Device(self.web_id(), (mobile_web_agent(rng),), "web")
        version = self.app_version()
        if rng.random() < 0.55:
            model, ios = rng.choice(IPHONES)
            return Device(self.ios_install_id(), _ios_agents(model, ios, version), "ios")
        model, android, build = rng.choice(ANDROIDS)
        okhttp = rng.choice(OKHTTP)
        agents = _android_agents(model, android, build, version, okhttp)
        return Device(self.android_id(), agents, "android")

    def old_android(self) -> Device:
        model, android, build = self.rng.choice(OLD_ANDROIDS)
        version = self.rng.choice(OLD_APP_VERSIONS)
        agents = _android_agents(model, android, build, version, "okhttp/3.12.13")
        return Device(self.android_id(), agents, "old_android")

    def tablet(self) -> Device:
        version = self.app_version()
        if self.rng.random() < 0.6:
            model, ios = self.rng.choice(IPADS)
            cf, darwin = CFNETWORK[ios]
            agents = (
                f"{APP}/{version} ({model}; iPadOS {ios}; Scale/2.00)",
                f"Meridian/{version.replace('.', '')}0 CFNetwork/{cf} Darwin/{darwin}",
            )
            return Device(self.ios_install_id(), agents, "tablet")
        model, android, build = self.rng.choice(ANDROID_TABLETS)
        return Device(self.android_id(), _android_agents(model, android, build, version), "tablet")

    def emulator(self, image: tuple[str, str, str], version: str) -> Device:
        model, android, build = image
        agents = _android_agents(model, android, build, version, "okhttp/4.9.3")
        return Device(self.android_id(), agents, "emulator")

    # --- networks ------------------------------------------------------------------------
    def _host(self, prefix: str) -> str:
        octets = 4 - prefix.count(".") - 1
        tail = [str(self.rng.randrange(1, 255)) for _ in range(octets)]
        return ".".join([prefix, *tail])

    def city(self, country: str) -> str:
        names = list(CITIES[country])
        return self.rng.choices(names, weights=CITY_WEIGHTS[country])[0]

    def carrier(self, country: str) -> str:
        names = list(CARRIERS[country])
        weights = CARRIER_WEIGHTS.get(country, tuple(1 for _ in names))
        return self.rng.choices(names, weights=weights)[0]

    def gateway(self, country: str, city: str, carrier: str) -> str:
        """One of the few CGNAT egress addresses a carrier uses in a city."""
        key = (country, city, carrier)
        if key not in self._gateways:
            blocks = CARRIERS[country][carrier]
            size = GATEWAYS_PER_CITY if country in CITY_WEIGHTS else 4
            self._gateways[key] = [self._host(self.rng.choice(blocks)) for _ in range(size)]
        return self.rng.choice(self._gateways[key])

    def residential_ip(self, country: str) -> str:
        return self._host(self.rng.choice(RESIDENTIAL.get(country, RESIDENTIAL["US"])))

    def business_ip(self, country: str) -> str:
        return self._host(self.rng.choice(BUSINESS[country]))

    def datacenter_ip(self) -> str:
        return self._host(self.rng.choice(DATACENTER))

    def vpn_ip(self) -> str:
        return self._host(self.rng.choice(VPN_EXITS))

    # --- cards ---------------------------------------------------------------------------
    def card(self, country: str, bins: tuple[str, ...] | None = None) -> str:
        if bins is None:
            roll = self.rng.random()
            if roll < 0.22 and country in WALLET_BINS:
                bins = WALLET_BINS[country]
            elif roll < 0.26 and country in PREPAID_BINS:
                bins = PREPAID_BINS[country]  # teenagers and gift cards
            elif roll < 0.32 and country in VIRTUAL_BINS:
                bins = VIRTUAL_BINS[country]
            else:
                bins = BANK_BINS[country]
        alphabet = string.ascii_lowercase + string.digits
        bin6 = self.rng.choice(bins)
        return self._unique(lambda: f"fp_{bin6}_" + "".join(self.rng.choices(alphabet, k=10)))

    # --- mailboxes -----------------------------------------------------------------------
    def name(self, country: str) -> tuple[str, str]:
        return self.rng.choice(FIRST[country]), self.rng.choice(LAST[country])

    def provider(self, country: str) -> str:
        return _weighted(self.rng, PROVIDERS.get(country, PROVIDERS["US"]))

    def email(
        self, first: str, last: str, country: str, provider: str | None = None, ios: bool = False
    ) -> str:
        rng = self.rng
        if ios and rng.random() < 0.08:
            # Sign in with Apple's Hide My Email: random letters and digits, like a bot's.
            alphabet = string.ascii_lowercase + string.digits
            return self._unique(
                lambda: "".join(rng.choices(alphabet, k=10)) + "@privaterelay.appleid.com"
            )
        f = first.lower().replace(" ", "").replace("'", "")
        la = last.lower().replace(" ", "").replace("'", "")
        domain = provider or self.provider(country)
        styles = (
            f"{f}.{la}",
            f"{f}{la}",
            f"{f[0]}{la}",
            f"{f}_{la}",
            f"{f}{la}{rng.randrange(70, 100)}",
            f"{f}.{la}{rng.randrange(1, 30)}",
            f"{rng.choice(NICKNAMES)}{rng.randrange(10, 99)}",
            f"{f}{la[0]}{rng.randrange(1000, 9999)}",
            f"{f}{rng.randrange(1985, 2007)}",
        )
        weights = (20, 14, 10, 6, 10, 8, 6, 12, 14)

        def make() -> str:
            local = rng.choices(styles, weights=weights)[0]
            if local in {f"{f}.{la}", f"{f}{la}"} and rng.random() < 0.5:
                local += str(rng.randrange(1, 99))
            return f"{local}@{domain}"

        return self._unique(make)

    def generated_mailbox(self) -> str:
        """A farm's mailbox: machine-made letters and digits at a free provider."""
        rng = self.rng
        lower, digits = string.ascii_lowercase, string.digits

        def make() -> str:
            roll = rng.random()
            if roll < 0.45:
                local = "".join(rng.choices(lower + digits, k=rng.randrange(9, 14)))
            elif roll < 0.8:
                letters = "".join(rng.choices(lower, k=rng.randrange(5, 9)))
                local = letters + "".join(rng.choices(digits, k=rng.randrange(3, 6)))
            else:
                first, last = self.name(rng.choice(("AU", "US")))
                local = f"{first.lower()}{last.lower()[:3]}{rng.randrange(100, 99999)}"
                local = local.replace("'", "").replace(" ", "")
            return f"{local}@{_weighted(rng, FARM_PROVIDERS)}"

        return self._unique(make)

    # --- people --------------------------------------------------------------------------
    def person(
        self,
        country: str,
        city: str | None = None,
        device: Device | None = None,
        home_ip: str | None = None,
        last: str | None = None,
        web_share: float = 0.12,
        card: str | None = None,
    ) -> Person:
        first, family = self.name(country)
        family = last or family
        device = device or self.phone(web_share)
        city = city or (self.city(country) if country in CITIES else "")
        return Person(
            customer_id=self.customer_id(),
            first=first,
            last=family,
            email=self.email(first, family, country, ios=device.kind == "ios"),
            country=country,
            city=city,
            device=device,
            home_ip=home_ip or self.residential_ip(country),
            carrier=self.carrier(country),
            card=card or self.card(country),
        )


def in_app_browser_agent(rng: random.Random, country: str) -> str:
    """A link tapped inside Instagram or TikTok opens their built-in browser."""
    if rng.random() < 0.55:
        model, ios = rng.choice(IPHONES)
        under = ios.replace(".", "_")
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {under} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Mobile/21E236 Instagram 326.0.3.26.105 ({model}; iOS "
            f"{under}; en_{country}; en; scale=3.00; 1170x2532; 580279410)"
        )
    model, android, build = rng.choice(ANDROIDS)
    return (
        f"Mozilla/5.0 (Linux; Android {android}; {model} Build/{build}; wv) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 "
        f"trill_340204 JsSdk/1.0 NetType/4G Channel/googleplay AppName/musical_ly"
    )
