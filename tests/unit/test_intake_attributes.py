"""Non-personal attributes intake reads from raw values before hashing them."""

from __future__ import annotations

import json

import pytest

from shared.domain.evidence import Fingerprint, fingerprint
from shared.domain.hosting_networks import NetworkType, hosting_list_version, read_network
from shared.domain.intake_attributes import (
    SCHEMA_VERSION,
    DeviceIdFormat,
    email_local_part,
    intake_attributes,
    looks_generated,
)
from shared.domain.user_agents import read_user_agent
from shared.pii import PiiHasher
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import ReferralCreate
from tests.support import advocate_body, program_body, referral_body, unique
from tests.unit.conftest import Services

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15"
)
FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
ANDROID_EMULATOR = (
    "Mozilla/5.0 (Linux; Android 11; Android SDK built for x86) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/83.0.4103.106 Mobile Safari/537.36"
)
ANDROID_GPHONE_EMULATOR = (
    "Mozilla/5.0 (Linux; Android 13; sdk_gphone64_x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/109.0.5414.123 Mobile Safari/537.36"
)
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.6367.60 Safari/537.36"
)
PHANTOMJS = (
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
    "PhantomJS/2.1.1 Safari/538.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.mark.parametrize(
    ("user_agent", "family", "os_family", "device_family"),
    [
        (CHROME_WINDOWS, "Chrome", "Windows", None),
        (SAFARI_MAC, "Safari", "Mac OS X", "Mac"),
        (FIREFOX_UBUNTU, "Firefox", "Ubuntu", None),
        (IPHONE, "Mobile Safari", "iOS", "iPhone"),
        (ANDROID_PHONE, "Chrome Mobile", "Android", "Samsung SM-S918B"),
    ],
)
def test_a_real_browser_is_named_by_family_and_is_neither_automated_nor_virtual(
    user_agent: str, family: str, os_family: str, device_family: str | None
) -> None:
    traits = read_user_agent(user_agent)

    assert (traits.user_agent_family, traits.os_family, traits.device_family) == (
        family,
        os_family,
        device_family,
    )
    assert not traits.automated
    assert not traits.virtual_device


@pytest.mark.parametrize(
    "user_agent",
    [HEADLESS_CHROME, "curl/8.5.0", "python-requests/2.31.0", PHANTOMJS, GOOGLEBOT],
)
def test_headless_browsers_http_libraries_and_crawlers_are_automated(user_agent: str) -> None:
    assert read_user_agent(user_agent).automated


def test_a_selenium_driven_browser_sending_its_own_user_agent_reads_as_that_browser() -> None:
    # Given WebDriver leaves the browser's user agent untouched, the string cannot tell it.
    traits = read_user_agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
    )

    assert traits.user_agent_family == "Firefox"
    assert not traits.automated


@pytest.mark.parametrize("user_agent", [ANDROID_EMULATOR, ANDROID_GPHONE_EMULATOR])
def test_android_emulator_images_are_virtual_devices(user_agent: str) -> None:
    traits = read_user_agent(user_agent)

    assert traits.virtual_device
    assert traits.os_family == "Android"


@pytest.mark.parametrize(
    ("device_id", "expected"),
    [
        (None, DeviceIdFormat.MISSING),
        ("  ", DeviceIdFormat.MISSING),
        ("f47ac10b-58cc-4372-a567-0e02b2c3d479", DeviceIdFormat.UUID_V4),
        ("F47AC10B-58CC-4372-A567-0E02B2C3D479", DeviceIdFormat.IDFA),
        ("00000000-0000-0000-0000-000000000000", DeviceIdFormat.ZEROED),
        ("a8098c1a-f86e-11da-bd1a-00112444be1e", DeviceIdFormat.UUID_OTHER),
        ("9774d56d682e549c", DeviceIdFormat.ANDROID_ID),
        ("dev-12345", DeviceIdFormat.OTHER),
    ],
)
def test_the_device_id_is_kept_only_as_its_format(
    device_id: str | None, expected: DeviceIdFormat
) -> None:
    attributes = intake_attributes(email=None, ip=None, device_id=device_id, user_agent=None)

    assert attributes.device_id_format is expected


def test_an_address_in_a_listed_cloud_block_is_hosting_and_names_its_provider() -> None:
    reading = read_network("3.5.140.2")

    assert reading is not None
    assert (reading.network_type, reading.provider) == (NetworkType.HOSTING, "aws")


def test_a_public_address_outside_the_list_is_other() -> None:
    reading = read_network("8.8.8.8")

    assert reading is not None
    assert (reading.network_type, reading.provider) == (NetworkType.OTHER, None)


@pytest.mark.parametrize("ip", ["10.1.2.3", "127.0.0.1", "192.168.0.9", "2001:db8::1"])
def test_private_and_documentation_addresses_are_reserved(ip: str) -> None:
    reading = read_network(ip)

    assert reading is not None
    assert reading.network_type is NetworkType.RESERVED


def test_a_value_that_is_no_address_has_no_network_type() -> None:
    assert read_network("not-an-ip") is None


def test_the_hosting_list_carries_its_version() -> None:
    assert hosting_list_version() == "2026-12-03"


def test_the_email_shape_counts_the_local_part_without_its_plus_tag() -> None:
    attributes = intake_attributes(
        email="Jane.Doe7+promo@example.com", ip=None, device_id=None, user_agent=None
    )

    assert email_local_part("Jane.Doe7+promo@example.com") == "jane.doe7"
    assert (attributes.email_local_length, attributes.email_local_digit_percent) == (9, 11)
    assert not attributes.email_looks_generated


@pytest.mark.parametrize("local", ["jane.doe", "john1985", "m.rossi", "anna-lena"])
def test_a_chosen_looking_local_part_is_not_generated(local: str) -> None:
    assert not looks_generated(local)


@pytest.mark.parametrize(
    "local", ["xk7q2m9w4p1z", "user84213", "3f2a9c0e7b1d4a6f", "qwrtzpsdfghjklmnb"]
)
def test_many_digits_hex_or_vowelless_strings_look_generated(local: str) -> None:
    assert looks_generated(local)


def test_no_values_give_empty_attributes_under_the_current_schema() -> None:
    attributes = intake_attributes(email=None, ip=None, device_id=None, user_agent=None)

    assert attributes.schema_version == SCHEMA_VERSION == 1
    assert attributes.user_agent_family is None
    assert attributes.network_type is None
    assert attributes.email_local_length is None


def test_a_fingerprint_stored_before_attributes_existed_still_loads() -> None:
    # Given a stored document as intake wrote it before attributes were read
    stored = {
        "email": "e" * 64,
        "email_domain": "d" * 64,
        "device": None,
        "ip": "i" * 64,
        "ip_prefix": "p" * 64,
        "user_agent": None,
        "country": "US",
        "automation_user_agent": False,
        "disposable_email": False,
    }

    loaded = Fingerprint.model_validate(stored)

    assert loaded.attributes is None
    assert loaded.ip == "i" * 64


def test_a_fingerprint_round_trips_its_attributes_through_json() -> None:
    prints = fingerprint(
        PiiHasher(lambda: b"k" * 32),
        email="xk7q2m9w4p1z@example.com",
        ip="159.89.10.20",
        device_id="9774d56d682e549c",
        user_agent=ANDROID_EMULATOR,
        country="us",
    )

    again = Fingerprint.model_validate(prints.model_dump(mode="json"))

    assert again == prints
    assert again.attributes is not None
    assert again.attributes.hosting_provider == "digitalocean"
    assert again.attributes.virtual_device


def test_a_recorded_referral_carries_its_attributes_and_no_raw_value(
    services: Services,
) -> None:
    # Given a program, an advocate and a referee coming from a headless browser on a cloud host
    program_id = services.programs.create(
        ProgramCreate.model_validate(program_body()).command()
    ).program_id
    code = services.advocates.enrol(
        program_id, AdvocateEnrol.model_validate(advocate_body()).command()
    ).advocate.referral_code
    email = f"{unique('zq')}84213@example.org"
    device_id = "F47AC10B-58CC-4372-A567-0E02B2C3D479"
    ip = "35.190.10.77"
    body = referral_body(
        program_id,
        code,
        referee={"customer_id": unique("ref"), "email": email},
        context={"ip": ip, "device_id": device_id, "user_agent": HEADLESS_CHROME, "country": "US"},
    )

    # When intake records the referral
    referral_id = services.referrals.create(
        ReferralCreate.model_validate(body).command()
    ).referral_id

    # Then its stored evidence carries the attributes and none of the raw values (the
    # referral keeps the referee's address in referee_email, apart from its evidence)
    [item] = [
        item
        for item in services.table.all_items()
        if item.get("doc", {}).get("referral_id") == referral_id and "fingerprint" in item["doc"]
    ]
    attributes = item["doc"]["fingerprint"]["attributes"]
    assert attributes["schema_version"] == 1
    assert attributes["user_agent_family"] == "HeadlessChrome"
    assert attributes["automated_agent"] is True
    assert attributes["device_id_format"] == "idfa"
    assert (attributes["network_type"], attributes["hosting_provider"]) == ("hosting", "gcp")
    assert attributes["email_looks_generated"] is True
    stored = json.dumps(item, default=str).lower()
    for raw in (HEADLESS_CHROME, device_id, ip):
        assert raw.lower() not in stored
    evidence = json.dumps(item["doc"]["fingerprint"], default=str).lower()
    for raw in (HEADLESS_CHROME, email, email.split("@", maxsplit=1)[0], device_id, ip):
        assert raw.lower() not in evidence
