"""Conventions of the simulated European meal-kit shop: people, mailboxes, networks, devices, cards.

Every value is only a string: no address here is ever contacted. IPv4 prefixes are
public-looking /16s attributed to the kind of network they stand for (residential ISP,
mobile carrier behind carrier-grade NAT, hosting provider, commercial VPN exit).
"""

from __future__ import annotations

import random
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

# --- names -------------------------------------------------------------------------------

# fmt: off
FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "DE": (
        "Anna", "Lena", "Laura", "Julia", "Sarah", "Lisa", "Katharina", "Sophie", "Marie",
        "Hannah", "Jana", "Miriam", "Sabine", "Claudia", "Petra", "Nicole", "Stefanie",
        "Leonie", "Franziska", "Jan", "Lukas", "Tim", "Felix", "Jonas", "Max", "Paul",
        "Tobias", "Florian", "Sebastian", "Christian", "Michael", "Thomas", "Andreas",
        "Markus", "Stefan", "Daniel", "Niklas", "Moritz", "Jürgen", "Jörg", "Björn", "Sören",
    ),
    "FR": (
        "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Marion",
        "Claire", "Élodie", "Aurélie", "Céline", "Nathalie", "Isabelle", "Sophie", "Lucas",
        "Hugo", "Louis", "Thomas", "Nicolas", "Julien", "Maxime", "Antoine", "Alexandre",
        "Romain", "Mathieu", "Guillaume", "Pierre", "François", "Jérôme", "Sébastien",
        "Olivier", "Théo", "Clément",
    ),
    "NL": (
        "Emma", "Sophie", "Julia", "Anna", "Lotte", "Sanne", "Lisa", "Fleur", "Eva", "Iris",
        "Anouk", "Femke", "Marloes", "Esther", "Inge", "Daan", "Sem", "Lucas", "Thijs",
        "Jesse", "Bram", "Ruben", "Lars", "Tim", "Bas", "Niels", "Jeroen", "Sander", "Joost",
        "Maarten", "Pieter", "Wouter", "Koen", "Stijn", "Jasper",
    ),
    "GB": (
        "Olivia", "Amelia", "Isla", "Emily", "Sophie", "Jessica", "Charlotte", "Lucy",
        "Hannah", "Chloe", "Rebecca", "Sarah", "Laura", "Emma", "Gemma", "Claire", "Oliver",
        "George", "Harry", "Jack", "Jacob", "Charlie", "Thomas", "James", "William", "Daniel",
        "Matthew", "Ryan", "Adam", "Luke", "Ben", "Sam", "Tom", "Chris", "Mark", "Priya",
        "Aisha", "Mohammed", "Arjun",
    ),
    "PL": (
        "Anna", "Katarzyna", "Magdalena", "Agnieszka", "Joanna", "Piotr", "Tomasz", "Paweł",
        "Michał", "Krzysztof", "Kamil", "Marcin",
    ),
    "RO": (
        "Andreea", "Elena", "Ioana", "Maria", "Alexandra", "Alexandru", "Andrei", "Mihai",
        "Ionuț", "Cristian", "Bogdan", "Florin",
    ),
    "ES": (
        "Lucía", "María", "Paula", "Laura", "Carmen", "Marta", "Javier", "Pablo", "Alejandro",
        "David", "Sergio", "Álvaro",
    ),
    "IT": (
        "Giulia", "Francesca", "Chiara", "Sara", "Martina", "Elisa", "Marco", "Luca",
        "Andrea", "Matteo", "Alessandro", "Davide",
    ),
    "PT": ("Ana", "Beatriz", "Inês", "Mariana", "Rita", "João", "Pedro", "Tiago", "Rui", "Diogo"),
    "LT": ("Rūta", "Eglė", "Ieva", "Lina", "Jonas", "Mantas", "Tomas", "Darius", "Lukas"),
    "BG": ("Maria", "Ivana", "Elena", "Desislava", "Georgi", "Ivan", "Dimitar", "Nikolay"),
    "CZ": ("Tereza", "Eliška", "Lucie", "Petra", "Jakub", "Jan", "Tomáš", "Ondřej", "Lukáš"),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "DE": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
        "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
        "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Köhler",
        "Jäger", "Groß", "Weiß", "Böhm", "Y\u0131lmaz", "Kaya", "Nowak",
    ),
    "FR": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David",
        "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèvre",
        "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand",
        "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Benali",
    ),
    "NL": (
        "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
        "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
        "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
        "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan",
        "Vermeulen", "van den Heuvel", "van der Veen", "van den Broek", "Willems",
    ),
    "GB": (
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson",
        "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White",
        "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson",
        "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark",
        "Lee", "King", "Baker", "Harrison", "Morgan", "Khan", "Ali", "O'Brien", "Murphy",
    ),
    "PL": (
        "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
        "Zieliński", "Szymański", "Woźniak", "Dąbrowski",
    ),
    "RO": ("Popescu", "Ionescu", "Popa", "Dumitru", "Stan", "Stoica", "Gheorghe", "Matei", "Rusu"),
    "ES": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez"),
    "IT": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
    "PT": ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins"),
    "LT": ("Kazlauskas", "Jankauskas", "Petrauskas", "Stankevičius", "Vasiliauskas", "Žukauskas"),
    "BG": ("Ivanov", "Georgiev", "Dimitrov", "Petrov", "Nikolov", "Todorov", "Stoyanov"),
    "CZ": ("Novák", "Svoboda", "Novotný", "Dvořák", "Černý", "Procházka", "Kučera"),
}

# --- mailboxes ---------------------------------------------------------------------------

# Shares per market; 2025 surveys put gmx/web.de together near gmail in Germany.
MAIL_PROVIDERS: dict[str, tuple[tuple[str, int], ...]] = {
    "DE": (
        ("gmail.com", 25), ("gmx.de", 18), ("web.de", 17), ("t-online.de", 10),
        ("gmx.net", 5), ("outlook.de", 4), ("hotmail.de", 4), ("icloud.com", 5),
        ("yahoo.de", 3), ("googlemail.com", 3), ("posteo.de", 2), ("freenet.de", 2),
        ("mail.de", 1), ("outlook.com", 1),
    ),
    "FR": (
        ("gmail.com", 35), ("orange.fr", 12), ("hotmail.fr", 11), ("free.fr", 6),
        ("laposte.net", 6), ("yahoo.fr", 6), ("outlook.fr", 5), ("icloud.com", 5),
        ("sfr.fr", 4), ("wanadoo.fr", 3), ("live.fr", 3), ("neuf.fr", 1), ("bbox.fr", 1),
    ),
    "NL": (
        ("gmail.com", 40), ("hotmail.com", 12), ("outlook.com", 10), ("ziggo.nl", 8),
        ("kpnmail.nl", 6), ("icloud.com", 6), ("live.nl", 5), ("hotmail.nl", 4),
        ("hetnet.nl", 2), ("home.nl", 2), ("planet.nl", 2), ("xs4all.nl", 2), ("upcmail.nl", 1),
    ),
    "GB": (
        ("gmail.com", 38), ("hotmail.co.uk", 12), ("outlook.com", 10), ("icloud.com", 10),
        ("btinternet.com", 8), ("yahoo.co.uk", 7), ("sky.com", 4), ("live.co.uk", 4),
        ("virginmedia.com", 3), ("aol.com", 2), ("talktalk.net", 2), ("googlemail.com", 2),
    ),
    "PL": (("wp.pl", 22), ("gmail.com", 35), ("o2.pl", 14), ("onet.pl", 14), ("interia.pl", 15)),
    "RO": (("yahoo.com", 35), ("gmail.com", 50), ("yahoo.ro", 10), ("outlook.com", 5)),
    "ES": (("gmail.com", 55), ("hotmail.es", 20), ("yahoo.es", 10), ("outlook.es", 10)),
    "IT": (("gmail.com", 45), ("libero.it", 20), ("hotmail.it", 15), ("virgilio.it", 10)),
    "PT": (("gmail.com", 60), ("sapo.pt", 20), ("hotmail.com", 20)),
    "LT": (("gmail.com", 60), ("inbox.lt", 30), ("one.lt", 10)),
    "BG": (("abv.bg", 45), ("gmail.com", 45), ("mail.bg", 10)),
    "CZ": (("seznam.cz", 50), ("gmail.com", 30), ("email.cz", 10), ("centrum.cz", 10)),
    "AT": (("gmail.com", 35), ("gmx.at", 25), ("aon.at", 20), ("icloud.com", 20)),
    "BE": (("gmail.com", 40), ("telenet.be", 20), ("skynet.be", 15), ("hotmail.com", 25)),
    "CH": (("gmail.com", 35), ("bluewin.ch", 30), ("gmx.ch", 20), ("icloud.com", 15)),
    "IE": (("gmail.com", 50), ("hotmail.com", 20), ("eircom.net", 15), ("icloud.com", 15)),
}

# fmt: on

# Neighbours whose names come from a listed country (Belgium drawn as Flanders).
NAME_ORIGIN = {"AT": "DE", "CH": "DE", "BE": "NL", "IE": "GB"}

# Providers that deliver "name+tag@" to "name@"; gmail also ignores dots in the local part.
PLUS_TAG_PROVIDERS = frozenset(
    {"gmail.com", "googlemail.com", "outlook.com", "outlook.de", "hotmail.com", "icloud.com"}
)
# Same account, other domain: gmail/googlemail, gmx.de/gmx.net, and the United Internet pair.
SISTER_DOMAINS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("googlemail.com",),
    "googlemail.com": ("gmail.com",),
    "gmx.de": ("gmx.net", "web.de"),
    "gmx.net": ("gmx.de", "web.de"),
    "web.de": ("gmx.de",),
    "hotmail.fr": ("outlook.fr", "live.fr"),
    "orange.fr": ("wanadoo.fr",),
    "hotmail.co.uk": ("outlook.com", "live.co.uk"),
    "ziggo.nl": ("upcmail.nl",),
}

# --- networks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    name: str
    country: str
    kind: str  # residential | mobile | hosting | vpn | relay
    prefixes: tuple[str, ...]


# fmt: off
RESIDENTIAL: tuple[Network, ...] = (
    Network("Deutsche Telekom", "DE", "residential", ("79.197", "84.150", "87.162", "91.42")),
    Network("Vodafone Kabel", "DE", "residential", ("95.91", "178.27", "188.96")),
    Network("O2 Telefonica DSL", "DE", "residential", ("89.12", "77.183")),
    Network("1&1 Versatel", "DE", "residential", ("85.16", "212.114")),
    Network("Orange France", "FR", "residential", ("90.12", "86.220", "92.154", "2.6")),
    Network("Free SAS", "FR", "residential", ("82.64", "88.166", "78.192")),
    Network("SFR", "FR", "residential", ("109.12", "77.200")),
    Network("Bouygues Telecom", "FR", "residential", ("176.151", "89.86")),
    Network("Ziggo", "NL", "residential", ("84.27", "77.248", "212.238")),
    Network("KPN", "NL", "residential", ("145.53", "86.85", "31.151")),
    Network("Odido Thuis", "NL", "residential", ("62.45",)),
    Network("Delta Fiber", "NL", "residential", ("92.70",)),
    Network("BT", "GB", "residential", ("86.150", "81.152", "109.150")),
    Network("Sky Broadband", "GB", "residential", ("90.210", "2.122", "5.81")),
    Network("Virgin Media", "GB", "residential", ("82.35", "86.27", "92.234")),
    Network("TalkTalk", "GB", "residential", ("92.24", "89.242")),
    Network("Orange Polska", "PL", "residential", ("83.24", "89.70")),
    Network("UPC Polska", "PL", "residential", ("89.64",)),
    Network("Digi RCS-RDS", "RO", "residential", ("86.120", "79.114", "5.12")),
    Network("Movistar", "ES", "residential", ("88.24", "83.50")),
    Network("TIM", "IT", "residential", ("79.20", "151.36")),
    Network("Fastweb", "IT", "residential", ("93.44",)),
    Network("MEO", "PT", "residential", ("85.243",)),
    Network("Telia Lietuva", "LT", "residential", ("78.56",)),
    Network("Vivacom", "BG", "residential", ("95.42",)),
    Network("O2 Czech", "CZ", "residential", ("90.177",)),
    Network("Cosmote", "GR", "residential", ("94.65",)),
    Network("A1 Hrvatska", "HR", "residential", ("93.136",)),
    Network("A1 Telekom Austria", "AT", "residential", ("80.108", "91.114")),
    Network("Proximus", "BE", "residential", ("81.241", "91.180")),
    Network("Telenet", "BE", "residential", ("84.192", "81.82")),
    Network("Eir", "IE", "residential", ("86.40", "83.70")),
    Network("Swisscom", "CH", "residential", ("85.1", "178.197")),
)

MOBILE: tuple[Network, ...] = (
    Network("Telekom Mobil", "DE", "mobile", ("80.187", "80.226")),
    Network("Vodafone DE Mobil", "DE", "mobile", ("109.40", "46.88")),
    Network("O2 DE Mobil", "DE", "mobile", ("176.3", "82.113")),
    Network("Orange Mobile", "FR", "mobile", ("92.184",)),
    Network("SFR Mobile", "FR", "mobile", ("37.170",)),
    Network("Free Mobile", "FR", "mobile", ("37.161",)),
    Network("KPN Mobiel", "NL", "mobile", ("77.60",)),
    Network("Vodafone NL", "NL", "mobile", ("185.138",)),
    Network("Odido Mobiel", "NL", "mobile", ("62.140",)),
    Network("EE", "GB", "mobile", ("31.94",)),
    Network("Vodafone UK", "GB", "mobile", ("85.255",)),
    Network("O2 UK", "GB", "mobile", ("82.132",)),
    Network("Three UK", "GB", "mobile", ("92.40",)),
    Network("Play", "PL", "mobile", ("5.173",)),
    Network("Orange Romania", "RO", "mobile", ("188.25",)),
    Network("Vodafone ES", "ES", "mobile", ("37.133",)),
    Network("WindTre", "IT", "mobile", ("5.90",)),
    Network("NOS Movel", "PT", "mobile", ("89.180",)),
    Network("Bite", "LT", "mobile", ("88.119",)),
    Network("A1 Bulgaria", "BG", "mobile", ("212.5",)),
    Network("T-Mobile CZ", "CZ", "mobile", ("37.188",)),
    Network("Magenta AT", "AT", "mobile", ("62.178",)),
    Network("Orange Belgium", "BE", "mobile", ("46.178",)),
    Network("Three Ireland", "IE", "mobile", ("37.228",)),
    Network("Sunrise Mobile", "CH", "mobile", ("212.243",)),
    Network("Cosmote Mobile", "GR", "mobile", ("109.242",)),
    Network("Hrvatski Telekom Mobile", "HR", "mobile", ("31.45",)),
)

HOSTING: tuple[Network, ...] = (
    Network("Hetzner", "DE", "hosting", ("88.198", "136.243", "95.216")),
    Network("OVHcloud", "FR", "hosting", ("51.38", "51.77", "54.37")),
    Network("DigitalOcean AMS", "NL", "hosting", ("164.90", "178.62")),
    Network("AWS eu-central-1", "DE", "hosting", ("3.120", "18.192")),
    Network("Leaseweb", "NL", "hosting", ("185.107",)),
)

# Commercial VPN exits sit in rented datacenter space; the exit country is what geo-IP says.
VPN_EXITS: tuple[Network, ...] = (
    Network("NordVPN M247", "NL", "vpn", ("185.206", "37.120")),
    Network("NordVPN M247", "DE", "vpn", ("185.216",)),
    Network("Surfshark Datacamp", "GB", "vpn", ("89.187",)),
    Network("Surfshark Datacamp", "FR", "vpn", ("146.70",)),
    Network("Mullvad 31173", "SE", "vpn", ("185.213", "193.138")),
    Network("Proton VPN", "CH", "vpn", ("185.159", "149.88")),
    Network("ExpressVPN", "GB", "vpn", ("45.87",)),
)

# fmt: on

# iCloud Private Relay egresses through CDN space but keeps the user's region.
PRIVATE_RELAY_PREFIXES: tuple[str, ...] = ("172.224", "172.226", "104.28")


def networks_in(pool: tuple[Network, ...], country: str) -> tuple[Network, ...]:
    found = tuple(n for n in pool if n.country == country)
    return found or pool


# --- devices -----------------------------------------------------------------------------

CHROME_MAJORS = ((140, 50), (139, 25), (141, 15), (138, 7), (137, 3))
FIREFOX_MAJORS = ((143, 40), (142, 30), (144, 15), (140, 10), (128, 5))  # 128/140 are ESR
SAFARI_VERSIONS = (("18.6", 45), ("26.0", 30), ("18.5", 15), ("17.6", 10))
SAMSUNG_VERSIONS = (("28.0", 60), ("27.0", 30), ("26.0", 10))

# Theme mix: Android Chrome and desktop Firefox lead (2025 share for this shop's audience).
BROWSER_KINDS: tuple[tuple[str, int], ...] = (
    ("android_chrome", 30),
    ("firefox_windows", 13),
    ("iphone_safari", 15),
    ("chrome_windows", 12),
    ("android_samsung", 6),
    ("firefox_linux", 3),
    ("firefox_mac", 3),
    ("edge_windows", 5),
    ("safari_mac", 5),
    ("android_firefox", 3),
    ("chrome_mac", 5),
)
MOBILE_KINDS = frozenset({"android_chrome", "iphone_safari", "android_samsung", "android_firefox"})


@dataclass(frozen=True)
class Device:
    kind: str
    device_id: str
    user_agent: str

    @property
    def is_mobile(self) -> bool:
        return self.kind in MOBILE_KINDS or self.kind in {"old_phone", "emulator", "instagram"}


def weighted(rng: random.Random, options: Sequence[tuple[T, float]]) -> T:
    values = [o for o, _ in options]
    weights = [w for _, w in options]
    return rng.choices(values, weights=weights)[0]


def user_agent(rng: random.Random, kind: str) -> str:
    chrome = weighted(rng, CHROME_MAJORS)
    firefox = weighted(rng, FIREFOX_MAJORS)
    safari = weighted(rng, SAFARI_VERSIONS)
    webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
    templates = {
        "android_chrome": f"Mozilla/5.0 (Linux; Android 10; K) {webkit} "
        f"Chrome/{chrome}.0.0.0 Mobile Safari/537.36",
        "android_samsung": f"Mozilla/5.0 (Linux; Android 10; K) {webkit} "
        f"SamsungBrowser/{weighted(rng, SAMSUNG_VERSIONS)} Chrome/130.0.0.0 Mobile Safari/537.36",
        "android_firefox": f"Mozilla/5.0 (Android {rng.choice((13, 14, 15))}; Mobile; "
        f"rv:{firefox}.0) Gecko/{firefox}.0 Firefox/{firefox}.0",
        "iphone_safari": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) "
        f"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{safari} Mobile/15E148 Safari/604.1",
        "firefox_windows": f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{firefox}.0) "
        f"Gecko/20100101 Firefox/{firefox}.0",
        "firefox_linux": f"Mozilla/5.0 (X11; Linux x86_64; rv:{firefox}.0) "
        f"Gecko/20100101 Firefox/{firefox}.0",
        "firefox_mac": f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{firefox}.0) "
        f"Gecko/20100101 Firefox/{firefox}.0",
        "chrome_windows": f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {webkit} "
        f"Chrome/{chrome}.0.0.0 Safari/537.36",
        "chrome_mac": f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {webkit} "
        f"Chrome/{chrome}.0.0.0 Safari/537.36",
        "edge_windows": f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {webkit} "
        f"Chrome/{chrome}.0.0.0 Safari/537.36 Edg/{chrome}.0.0.0",
        "safari_mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{safari} Safari/605.1.15",
    }
    return templates[kind]


OLD_DEVICE_UAS: tuple[str, ...] = (
    # Android 6 stops at Chrome 106, before the reduced UA hid the model.
    "Mozilla/5.0 (Linux; Android 6.0.1; SM-G920F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/106.0.5249.126 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 7.0; SM-G930F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/20.0 Chrome/106.0.5249.126 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_8_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/15.6.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_10 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    # Amazon Fire tablets: the shared kitchen tablet.
    "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Silk/131.3.1 like Chrome/131.0.6778.260 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 11; KFRAWI) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Silk/133.2.7 like Chrome/133.0.6943.137 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 9; SM-T510) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.6045.193 Safari/537.36",
)

EMULATOR_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (Linux; Android 11; sdk_gphone_x86) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/83.0.4103.106 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; sdk_gphone64_x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/109.0.5414.123 Mobile Safari/537.36",
    # Spoofed flagships with an unreduced Chrome build number real Android Chrome never sends.
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.7339.81 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.7258.94 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/138.0.7204.63 Mobile Safari/537.36",
)

INSTAGRAM_MODELS = (
    ("samsung", "SM-S911B", "dm1q", "qcom"),
    ("samsung", "SM-A546B", "a54x", "s5e8835"),
    ("Google", "Pixel 8", "shiba", "shiba"),
    ("Xiaomi", "23049PCD8G", "marble", "qcom"),
)

LOCALES = {
    "DE": "de_DE", "FR": "fr_FR", "NL": "nl_NL", "GB": "en_GB",
    "AT": "de_AT", "CH": "de_CH", "BE": "nl_BE", "IE": "en_IE",
}  # fmt: skip


def instagram_ua(rng: random.Random, country: str) -> str:
    """In-app browser of Instagram on Android, as seen from an influencer's story link."""
    maker, model, board, chip = rng.choice(INSTAGRAM_MODELS)
    chrome = weighted(rng, CHROME_MAJORS)
    build = rng.randint(7000, 7400)
    locale = LOCALES.get(country, "en_GB")
    return (
        f"Mozilla/5.0 (Linux; Android 14; {model} Build/UP1A.231005.007; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
        f"Chrome/{chrome}.0.{build}.{rng.randint(40, 180)} Mobile Safari/537.36 "
        f"Instagram {rng.randint(396, 402)}.0.0.{rng.randint(20, 60)}.{rng.randint(60, 120)} "
        f"Android (34/14; 450dpi; 1080x2340; {maker}; {model}; {board}; {chip}; {locale}; "
        f"{rng.randint(700000000, 799999999)})"
    )


# --- people ------------------------------------------------------------------------------


# Dotless i (as in Turkish Yilmaz) has no decomposition, so it is mapped by hand.
GERMAN_SPELLING = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "\u0131": "i"}
)


def ascii_fold(text: str) -> str:
    """Mailbox spelling of a name: German umlauts expand, other accents drop."""
    expanded = text.translate(GERMAN_SPELLING)
    decomposed = unicodedata.normalize("NFKD", expanded)
    kept = "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in " -'"))
    return kept.lower().replace("'", "")


def accent_drop(text: str) -> str:
    """The other spelling of an umlaut name (Müller -> muller), as used for near-aliases."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("\u0131", "i"))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


@dataclass
class Person:
    customer_id: str
    first: str
    last: str
    country: str
    email: str
    home_ip: str
    home_network: Network
    devices: list[Device] = field(default_factory=list)
    card: str = ""

    @property
    def device(self) -> Device:
        return self.devices[0]

    @property
    def home(self) -> tuple[str, Network]:
        return self.home_ip, self.home_network


class IdentityFactory:
    """Draws ids, mailboxes, addresses, devices and cards from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._seen: set[str] = set()
        self._carrier_gateways: dict[str, list[str]] = {}

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._seen:
                self._seen.add(value)
                return value

    def customer_id(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        return self._unique(lambda: "KB-" + "".join(self.rng.choices(alphabet, k=9)))

    def hex_token(self, length: int) -> str:
        return self._unique(lambda: "".join(self.rng.choices("0123456789abcdef", k=length)))

    def order_id(self, country: str) -> str:
        return self._unique(lambda: f"{country}{self.rng.randint(10_000_000, 99_999_999)}")

    def card(self, market: str) -> str:
        """Fingerprint of a payment instrument; DE/NL checkouts lean on PayPal and SEPA."""
        methods = {
            "DE": (("card", 40), ("paypal", 35), ("sepa", 25)),
            "NL": (("card", 35), ("ideal", 45), ("paypal", 20)),
            "FR": (("card", 80), ("paypal", 20)),
            "GB": (("card", 85), ("paypal", 15)),
        }.get(market, (("card", 85), ("paypal", 15)))
        return f"pf_{weighted(self.rng, methods)}_{self.hex_token(20)}"

    def virtual_card(self) -> str:
        return f"pf_card_{self.hex_token(20)}"

    # -- addresses --

    def ip_in(self, network: Network) -> str:
        prefix = self.rng.choice(network.prefixes)
        return f"{prefix}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"

    def residential(self, country: str) -> tuple[str, Network]:
        network = self.rng.choice(networks_in(RESIDENTIAL, country))
        return self.ip_in(network), network

    def mobile_ip(self, country: str, gateways: int = 40) -> str:
        """Carrier-grade NAT: a carrier's users leave through a small pool of public IPs."""
        network = self.rng.choice(networks_in(MOBILE, country))
        key = f"{network.name}/{gateways}"
        pool = self._carrier_gateways.get(key)
        if pool is None:
            pool = [self.ip_in(network) for _ in range(gateways)]
            self._carrier_gateways[key] = pool
        return self.rng.choice(pool)

    def vpn_exit(self, country: str | None = None) -> tuple[str, str]:
        exits = [n for n in VPN_EXITS if country is None or n.country == country] or VPN_EXITS
        network = self.rng.choice(exits)
        return self.ip_in(network), network.country

    def hosting_ip(self) -> tuple[str, str]:
        network = self.rng.choice(HOSTING)
        return self.ip_in(network), network.country

    def private_relay_ip(self) -> str:
        prefix = self.rng.choice(PRIVATE_RELAY_PREFIXES)
        return f"{prefix}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"

    # -- devices --

    def device(self, kind: str | None = None) -> Device:
        chosen = kind or weighted(self.rng, BROWSER_KINDS)
        return Device(chosen, f"dv_{self.hex_token(24)}", user_agent(self.rng, chosen))

    def old_device(self) -> Device:
        return Device("old_phone", f"dv_{self.hex_token(24)}", self.rng.choice(OLD_DEVICE_UAS))

    def emulator(self) -> Device:
        return Device("emulator", f"dv_{self.hex_token(24)}", self.rng.choice(EMULATOR_UAS))

    def instagram_device(self, country: str) -> Device:
        return Device("instagram", f"dv_{self.hex_token(24)}", instagram_ua(self.rng, country))

    # -- people --

    def name(self, country: str) -> tuple[str, str]:
        origin = NAME_ORIGIN.get(country, country)
        firsts = FIRST_NAMES.get(origin, FIRST_NAMES["GB"])
        lasts = LAST_NAMES.get(origin, LAST_NAMES["GB"])
        return self.rng.choice(firsts), self.rng.choice(lasts)

    def mailbox(self, first: str, last: str, country: str, provider: str | None = None) -> str:
        providers = MAIL_PROVIDERS.get(country, MAIL_PROVIDERS["GB"])
        domain = provider or weighted(self.rng, providers)
        given, family = ascii_fold(first).replace(" ", ""), ascii_fold(last).replace(" ", "")
        year = self.rng.randint(58, 99) if self.rng.random() < 0.6 else self.rng.randint(0, 7)
        styles = (
            f"{given}.{family}",
            f"{given}{family}",
            f"{given[0]}.{family}",
            f"{given}.{family}{year:02d}",
            f"{given}{family[:1]}{self.rng.randint(1, 999)}",
            f"{family}.{given}",
            f"{given}_{family}",
            f"{given}{year:02d}",
            f"{given[0]}{family}{self.rng.randint(1, 99)}",
        )
        local = self.rng.choices(styles, weights=(24, 10, 10, 16, 8, 8, 6, 8, 10))[0]
        if f"{local}@{domain}" not in self._seen:
            self._seen.add(f"{local}@{domain}")
            return f"{local}@{domain}"
        # Taken: people then add a number, as the provider's sign-up page suggests.
        return self._unique(lambda: f"{local}{self.rng.randint(1, 9999)}@{domain}")

    def person(
        self,
        country: str,
        home: tuple[str, Network] | None = None,
        last: str | None = None,
        market: str | None = None,
    ) -> Person:
        first, family = self.name(country)
        family = last or family
        ip, network = home or self.residential(country)
        device = self.device()
        return Person(
            customer_id=self.customer_id(),
            first=first,
            last=family,
            country=country,
            email=self.mailbox(first, family, country),
            home_ip=ip,
            home_network=network,
            devices=[device],
            card=self.card(market or country),
        )
