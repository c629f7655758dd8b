"""The features read from intake attributes, the advocate's rhythm and the crowd around a
referee's device, address and cards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.intake_attributes import DeviceIdFormat, IntakeAttributes
from shared.scoring.evidence.timing import hour_distance
from shared.scoring.evidence.traits import device_id_mismatch
from tests.unit.scoring_support import World, fresh_ip

EMULATOR = (
    "Mozilla/5.0 (Linux; Android 13; sdk_gphone64_x86_64 Build/TE1A.220922.012; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def world() -> World:
    return World()


class TestOrders:
    def test_an_order_of_exactly_the_minimum_is_flagged(self, world: World) -> None:
        referral = world.qualify(world.refer(world.advocate(world.program())), amount="20.00")
        assert world.features(referral)["order_at_minimum"] == 1.0

    def test_an_order_a_cent_over_the_minimum_is_not(self, world: World) -> None:
        referral = world.qualify(world.refer(world.advocate(world.program())), amount="20.01")
        assert world.features(referral)["order_at_minimum"] == 0.0

    def test_a_program_without_a_minimum_never_flags_one(self, world: World) -> None:
        program = world.program(min_order_value=None)
        referral = world.qualify(world.refer(world.advocate(program)), amount="20.00")
        assert world.features(referral)["order_at_minimum"] == 0.0


class TestDeviceTraits:
    def test_an_android_emulator_is_a_virtual_device(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()), user_agent=EMULATOR)
        assert world.features(referral)["virtual_device"] == 1.0

    def test_a_real_phone_is_not(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()), user_agent=IPHONE)
        assert world.features(referral)["virtual_device"] == 0.0

    def test_a_machine_made_mailbox_is_generated(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()), email="x7k2q9w3m8@example.org")
        assert world.features(referral)["generated_mailbox"] == 1.0

    def test_a_person_chosen_mailbox_is_not(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()), email="maria.lopez85@example.org")
        assert world.features(referral)["generated_mailbox"] == 0.0

    def test_an_android_id_from_an_iphone_is_a_mismatch(self, world: World) -> None:
        referral = world.refer(
            world.advocate(world.program()), device="9f8e7d6c5b4a3921", user_agent=IPHONE
        )
        assert world.features(referral)["device_id_mismatch"] == 1.0

    def test_an_advertising_id_from_an_iphone_is_expected(self) -> None:
        attributes = IntakeAttributes(os_family="iOS", device_id_format=DeviceIdFormat.IDFA)
        assert not device_id_mismatch(attributes)

    def test_a_browser_cookie_id_says_nothing_about_the_os(self) -> None:
        attributes = IntakeAttributes(os_family="iOS", device_id_format=DeviceIdFormat.OTHER)
        assert not device_id_mismatch(attributes)


class TestTiming:
    def test_a_first_referral_waits_the_advocates_whole_tenure(self, world: World) -> None:
        advocate = world.advocate(world.program())
        world.later(hours=30)
        referral = world.refer(advocate)
        assert world.features(referral)["seconds_since_previous_referral"] == 30 * 3600

    def test_the_gap_is_counted_from_the_advocates_previous_referral(self, world: World) -> None:
        advocate = world.advocate(world.program())
        world.refer(advocate)
        world.later(seconds=90)
        referral = world.refer(advocate)
        assert world.features(referral)["seconds_since_previous_referral"] == 90.0

    def test_the_usual_hour_needs_three_earlier_referrals(self, world: World) -> None:
        advocate = world.advocate(world.program())
        for _ in range(2):
            world.refer(advocate)
            world.later(days=1)
        world.later(hours=12)
        referral = world.refer(advocate)
        assert world.features(referral)["hours_from_usual_time"] == 0.0

    def test_a_referral_at_the_other_side_of_the_clock_is_far_from_usual(
        self, world: World
    ) -> None:
        advocate = world.advocate(world.program())
        for _ in range(3):
            world.refer(advocate)
            world.later(days=1)
        world.later(hours=12)
        referral = world.refer(advocate)
        assert world.features(referral)["hours_from_usual_time"] == pytest.approx(12.0)

    def test_hours_either_side_of_midnight_are_close(self) -> None:
        earlier = [datetime(2026, 1, d, 23, 30, tzinfo=UTC) for d in (1, 2, 3)]
        at = datetime(2026, 1, 4, 0, 30, tzinfo=UTC)
        assert hour_distance(at, earlier) == pytest.approx(1.0)


class TestCrowd:
    def test_customers_on_the_referees_device_are_counted(self, world: World) -> None:
        program = world.program()
        for _ in range(3):
            world.refer(world.advocate(program), device="stall-tablet")
        referral = world.refer(world.advocate(program), device="stall-tablet")
        assert world.features(referral)["device_customers"] == 3.0

    def test_customers_on_the_referees_address_are_counted(self, world: World) -> None:
        program, ip = world.program(), fresh_ip()
        for _ in range(2):
            world.refer(world.advocate(program), ip=ip)
        referral = world.refer(world.advocate(program), ip=ip)
        assert world.features(referral)["ip_customers"] == 2.0

    def test_rejected_referrals_on_the_same_card_are_linked_bad(self, world: World) -> None:
        # Given a referral paid with card "farm-card" that was recorded rejected
        program = world.program()
        alias = world.advocate(program, "mallory", email="mallory@example.com")
        rejected = world.refer(alias, "mallory")  # a self-referral is recorded rejected
        world.buy(rejected, card="farm-card")
        # When another referee pays with the same card
        referral = world.qualify(world.refer(world.advocate(program)), card="farm-card")
        # Then the rejected referral counts against it
        assert world.features(referral)["linked_bad_referrals"] == 1.0

    def test_a_flatmate_with_their_own_device_card_and_mailbox_is_a_household(
        self, world: World
    ) -> None:
        ip = fresh_ip()
        advocate = world.advocate(world.program(), "jonas", email="jonas.berg@example.com", ip=ip)
        referral = world.qualify(world.refer(advocate, email="priya.k@example.org", ip=ip))
        assert world.features(referral)["household"] == 1.0

    def test_an_alias_on_the_advocates_address_is_no_household(self, world: World) -> None:
        ip = fresh_ip()
        advocate = world.advocate(world.program(), "jonas", email="jonas.berg@example.com", ip=ip)
        referral = world.qualify(world.refer(advocate, email="jonas.berg+2@example.com", ip=ip))
        assert world.features(referral)["household"] == 0.0

    def test_a_referee_on_the_advocates_card_is_no_household(self, world: World) -> None:
        ip = fresh_ip()
        advocate = world.advocate(world.program(), "jonas", email="jonas.berg@example.com", ip=ip)
        own = world.refer(world.advocate(world.program()), "jonas")
        world.buy(own, card="jonas-card")
        referral = world.qualify(
            world.refer(advocate, email="priya.k@example.org", ip=ip), card="jonas-card"
        )
        assert world.features(referral)["household"] == 0.0
