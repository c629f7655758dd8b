"""Fraud features, each computed from stored records as of a moment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.advocates import Advocate
from shared.domain.referrals import ReferralStatus
from shared.scoring.evidence.email import email_local_similarity, rebuilt_name
from shared.scoring.feature_spec import FEATURE_NAMES
from shared.scoring.thresholds import REBUILT_NAME_SIMILARITY
from tests.unit.scoring_support import World, fresh_ip


@pytest.fixture
def world() -> World:
    return World()


def test_every_feature_of_the_contract_is_computed_in_order(world: World) -> None:
    program = world.program()
    referral = world.refer(world.advocate(program))
    features = world.features(referral)
    assert list(features.values) == list(FEATURE_NAMES)
    assert features.row() == [features[name] for name in FEATURE_NAMES]


def test_an_unrelated_friend_has_no_link_to_the_advocate(world: World) -> None:
    program = world.program()
    referral = world.qualify(world.refer(world.advocate(program)))
    f = world.features(referral)
    for name in (
        "same_device",
        "same_ip",
        "same_ip_prefix24",
        "email_alias",
        "same_payment_fingerprint",
        "disposable_email",
        "automation_user_agent",
        "country_mismatch",
        "ring_cycle",
    ):
        assert f[name] == 0.0, name


class TestSelfReferralLinks:
    def test_referee_on_the_advocates_device_is_same_device(self, world: World) -> None:
        advocate = world.advocate(world.program(), device="family-laptop")
        referral = world.refer(advocate, device="family-laptop")
        assert world.features(referral)["same_device"] == 1.0

    def test_device_the_advocate_used_as_a_referee_elsewhere_counts(self, world: World) -> None:
        # Given the advocate was once referred in another program from device "d9"
        other = world.advocate(world.program())
        world.refer(other, "alice", device="d9")
        advocate = world.advocate(world.program(), "alice", device="d1")
        # When someone is referred by alice from "d9"
        referral = world.refer(advocate, device="d9")
        # Then the device links them to alice
        assert world.features(referral)["same_device"] == 1.0

    def test_a_household_sharing_an_ip_is_same_ip_but_nothing_more(self, world: World) -> None:
        # Given a flatmate on the advocate's IP, with their own device, browser and email
        ip = fresh_ip()
        advocate = world.advocate(world.program(), ip=ip)
        referral = world.qualify(world.refer(advocate, ip=ip))
        f = world.features(referral)
        assert (f["same_ip"], f["same_ip_prefix24"]) == (1.0, 1.0)
        assert (f["same_device"], f["same_user_agent"], f["email_alias"]) == (0.0, 0.0, 0.0)

    def test_a_neighbour_in_the_same_24_is_not_the_same_ip(self, world: World) -> None:
        advocate = world.advocate(world.program(), ip="192.0.2.10")
        referral = world.refer(advocate, ip="192.0.2.77")
        f = world.features(referral)
        assert (f["same_ip"], f["same_ip_prefix24"]) == (0.0, 1.0)

    def test_the_same_browser_string_is_same_user_agent(self, world: World) -> None:
        ua = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"
        advocate = world.advocate(world.program(), user_agent=ua)
        assert world.features(world.refer(advocate, user_agent=ua))["same_user_agent"] == 1.0


class TestEmails:
    @pytest.mark.parametrize(
        "alias",
        ["j.o.h.n.smith@gmail.com", "johnsmith+promo@gmail.com", "John.Smith@googlemail.com"],
    )
    def test_gmail_dot_and_plus_aliases_are_the_same_mailbox(
        self, world: World, alias: str
    ) -> None:
        advocate = world.advocate(world.program(), email="john.smith@gmail.com")
        f = world.features(world.refer(advocate, email=alias))
        assert f["email_alias"] == 1.0
        assert f["email_local_similarity"] == 1.0

    def test_dots_matter_outside_gmail(self, world: World) -> None:
        advocate = world.advocate(world.program(), email="john.smith@example.com")
        f = world.features(world.refer(advocate, email="johnsmith@example.com"))
        assert f["email_alias"] == 0.0

    def test_look_alike_names_are_similar_but_not_aliases(self, world: World) -> None:
        advocate = world.advocate(world.program(), email="mark.jensen@example.com")
        f = world.features(world.refer(advocate, email="markjensen84@example.net"))
        assert f["email_alias"] == 0.0
        assert f["email_local_similarity"] >= 0.85

    @pytest.mark.parametrize(
        "look_alike",
        ["nelsonm89@gmail.com", "m.nelson8@outlook.com", "nelson.michelle@yahoo.com"],
    )
    def test_a_name_rebuilt_from_the_advocates_name_parts_is_nearly_the_same(
        self, look_alike: str
    ) -> None:
        assert rebuilt_name(look_alike, "michelle.nelson@gmail.com")
        assert email_local_similarity(look_alike, "michelle.nelson@gmail.com") >= (
            REBUILT_NAME_SIMILARITY
        )

    @pytest.mark.parametrize(
        "relative", ["anna.nelson@gmail.com", "nelson@gmail.com", "mn@gmail.com"]
    )
    def test_a_relative_sharing_only_the_surname_is_no_rebuilt_name(self, relative: str) -> None:
        # Households share a surname; a different first name (or a bare surname) is no alias.
        assert not rebuilt_name(relative, "michelle.nelson@gmail.com")
        assert email_local_similarity(relative, "michelle.nelson@gmail.com") < 0.85

    def test_unrelated_names_are_not_similar(self) -> None:
        assert email_local_similarity("mark.jensen@example.com", "zoe.li@example.org") < 0.3

    def test_a_disposable_domain_is_flagged(self, world: World) -> None:
        advocate = world.advocate(world.program())
        f = world.features(world.refer(advocate, email="x1@mailinator.com"))
        assert f["disposable_email"] == 1.0

    def test_the_disposable_flag_survives_erasing_the_address(self, world: World) -> None:
        advocate = world.advocate(world.program())
        referral = world.refer(advocate, email="x2@mailinator.com")
        erased = referral.model_copy(update={"referee_email": None})
        features = world.extractor.extract(referral.referral_id, world.clock.now(), erased)
        assert features["disposable_email"] == 1.0


def test_automation_user_agent(world: World) -> None:
    advocate = world.advocate(world.program())
    referral = world.refer(advocate, user_agent="Mozilla/5.0 HeadlessChrome/120.0")
    assert world.features(referral)["automation_user_agent"] == 1.0


def test_country_mismatch(world: World) -> None:
    advocate = world.advocate(world.program(), country="US")
    assert world.features(world.refer(advocate, country="de"))["country_mismatch"] == 1.0


def test_referee_already_an_advocate_in_the_program(world: World) -> None:
    program = world.program()
    world.advocate(program, "bob")
    referral = world.refer(world.advocate(program), "bob")
    assert world.features(referral)["referee_is_advocate"] == 1.0


class TestVelocity:
    def test_advocate_referrals_count_around_this_one(self, world: World) -> None:
        advocate = world.advocate(world.program())
        first = world.refer(advocate)
        for minutes in (10, 20):
            world.later(minutes=minutes)
            world.refer(advocate)
        world.later(hours=5)
        world.refer(advocate)
        f = world.features(first)
        assert f["advocate_referrals_1h"] == 2.0
        assert f["advocate_referrals_24h"] == 3.0
        assert f["advocate_referrals_7d"] == 3.0

    def test_counts_stop_at_as_of(self, world: World) -> None:
        advocate = world.advocate(world.program())
        first = world.refer(advocate)
        scored_at = world.clock.now()
        world.later(minutes=5)
        world.refer(advocate)
        then = world.extractor.extract(first.referral_id, scored_at)
        assert then["advocate_referrals_1h"] == 0.0
        assert world.features(first)["advocate_referrals_1h"] == 1.0

    def test_other_referrals_from_one_device_within_a_day(self, world: World) -> None:
        program = world.program()
        referral = world.refer(world.advocate(program), device="farm-1")
        world.later(hours=2)
        world.refer(world.advocate(program), device="farm-1")
        world.later(hours=30)
        world.refer(world.advocate(program), device="farm-1")
        assert world.features(referral)["device_referrals_24h"] == 1.0

    def test_ip_and_network_counts_are_per_program(self, world: World) -> None:
        program, elsewhere = world.program(), world.program()
        referral = world.refer(world.advocate(program), ip="198.51.100.1")
        world.refer(world.advocate(program), ip="198.51.100.1")
        world.refer(world.advocate(program), ip="198.51.100.2")
        world.refer(world.advocate(elsewhere), ip="198.51.100.1")
        f = world.features(referral)
        assert (f["ip_referrals_24h"], f["ip_prefix_referrals_24h"]) == (1.0, 2.0)

    def test_one_card_paying_for_several_referrals(self, world: World) -> None:
        program = world.program()
        referral = world.refer(world.advocate(program))
        world.buy(referral, card="shared-card")
        for _ in range(2):
            other = world.refer(world.advocate(program))
            world.buy(other, card="shared-card")
        assert world.features(referral)["payment_fingerprint_referrals_7d"] == 2.0


class TestPayment:
    def test_a_card_the_advocate_paid_with_is_shared_payment(self, world: World) -> None:
        # Given the advocate bought with card "c-adv" as a referee in another program
        host = world.advocate(world.program())
        world.buy(world.refer(host, "carol"), card="c-adv")
        advocate = world.advocate(world.program(), "carol")
        # When carol's referee pays with the same card
        referral = world.refer(advocate)
        world.buy(referral, card="c-adv")
        assert world.features(referral)["same_payment_fingerprint"] == 1.0

    def test_the_advocates_other_referees_sharing_device_or_card(self, world: World) -> None:
        advocate = world.advocate(world.program())
        first = world.refer(advocate, device="tablet")
        world.buy(first, card="c1")
        world.refer(advocate, device="tablet")
        third = world.refer(advocate)
        world.buy(third, card="c1")
        assert world.features(first)["advocate_shared_fingerprint_referees"] == 2.0

    def test_customers_on_the_referees_card_in_any_program_are_counted(self, world: World) -> None:
        # Given two strangers who paid with card "c-farm" in another program
        elsewhere = world.program()
        for _ in range(2):
            world.buy(world.refer(world.advocate(elsewhere)), card="c-farm")
        # When a referee here pays with it too
        referral = world.refer(world.advocate(world.program()))
        world.buy(referral, card="c-farm")
        f = world.features(referral)
        # Then both strangers count, though neither is in this program's 7-day window
        assert f["payment_card_customers"] == 2.0
        assert f["payment_fingerprint_referrals_7d"] == 0.0
        assert len(f.evidence["card_customers"]) == 2

    def test_the_advocate_and_the_referee_are_not_strangers_on_their_card(
        self, world: World
    ) -> None:
        host = world.advocate(world.program())
        world.buy(world.refer(host, "dora"), card="c-family")
        referral = world.refer(world.advocate(world.program(), "dora"))
        world.buy(referral, card="c-family")
        world.buy(referral, card="c-family")
        f = world.features(referral)
        assert (f["same_payment_fingerprint"], f["payment_card_customers"]) == (1.0, 0.0)


class TestSharedTerminal:
    """A store tablet: the advocate enrols on it and signs up customers who pay their own way."""

    def _store(self, world: World, signed_up: int) -> Advocate:
        advocate = world.advocate(world.program(), device="store-tablet", ip="203.0.113.9")
        for _ in range(signed_up):
            world.later(minutes=30)
            world.buy(world.refer(advocate, device="store-tablet", ip="203.0.113.9"))
        world.later(minutes=30)
        return advocate

    def test_customers_paying_their_own_way_on_a_busy_tablet_are_not_linked(
        self, world: World
    ) -> None:
        advocate = self._store(world, signed_up=3)
        referral = world.refer(advocate, device="store-tablet", ip="203.0.113.9")
        world.buy(referral)
        f = world.features(referral)
        assert [f[n] for n in ("same_device", "same_ip", "device_referrals_24h")] == [0, 0, 0]
        assert f.evidence["shared_terminal"]["device_customers"] == 3

    def test_a_tablet_two_other_customers_used_is_still_a_link(self, world: World) -> None:
        advocate = self._store(world, signed_up=2)
        referral = world.refer(advocate, device="store-tablet", ip="203.0.113.9")
        world.buy(referral)
        f = world.features(referral)
        assert f["same_device"] == 1.0 and "shared_terminal" not in f.evidence

    def test_a_referee_paying_with_a_card_seen_on_the_tablet_is_still_linked(
        self, world: World
    ) -> None:
        advocate = self._store(world, signed_up=3)
        first = world.refer(advocate, device="store-tablet", ip="203.0.113.9")
        world.buy(first, card="one-card")
        referral = world.refer(advocate, device="store-tablet", ip="203.0.113.9")
        world.buy(referral, card="one-card")
        assert world.features(referral)["same_device"] == 1.0

    def test_a_referee_named_like_the_advocate_is_still_linked(self, world: World) -> None:
        advocate = self._store(world, signed_up=3)
        referral = world.refer(
            advocate,
            email=advocate.email.replace("@example.com", "1@example.net"),
            device="store-tablet",
            ip="203.0.113.9",
        )
        world.buy(referral)
        assert world.features(referral)["same_device"] == 1.0

    def test_before_paying_a_referee_on_the_tablet_is_linked(self, world: World) -> None:
        advocate = self._store(world, signed_up=3)
        referral = world.refer(advocate, device="store-tablet", ip="203.0.113.9")
        assert world.features(referral)["same_device"] == 1.0


class TestTiming:
    def test_seconds_to_conversion_from_referral_to_qualifying_event(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program()))
        world.later(seconds=90)
        world.buy(referral)
        world.later(hours=3)
        assert world.features(referral)["seconds_to_conversion"] == 90.0

    def test_order_value_ratio_against_the_minimum(self, world: World) -> None:
        referral = world.refer(world.advocate(world.program(min_order_value="20.00")))
        world.later(seconds=10)
        world.buy(referral, amount="30.00")
        assert world.features(referral)["order_value_ratio"] == 1.5

    def test_order_value_ratio_is_one_without_a_minimum(self, world: World) -> None:
        program = world.program(qualifying_event="signup", min_order_value=None)
        assert world.features(world.refer(world.advocate(program)))["order_value_ratio"] == 1.0

    def test_advocate_tenure_in_days(self, world: World) -> None:
        advocate = world.advocate(world.program())
        world.later(days=3, hours=12)
        assert world.features(world.refer(advocate))["advocate_tenure_days"] == 3.5


def _ring(world: World, length: int) -> list:
    """Customers c0..c(n-1), each an advocate, each referring the next; returns referrals."""
    program = world.program()
    names = [f"ring{length}-{i}-{world.clock.now().timestamp()}" for i in range(length)]
    advocates = [world.advocate(program, name) for name in names]
    referrals = []
    for i, advocate in enumerate(advocates):
        world.later(minutes=5)
        referrals.append(world.refer(advocate, names[(i + 1) % length]))
    return referrals


class TestRings:
    @pytest.mark.parametrize("length", [3, 6])
    def test_the_referral_closing_a_ring_of_up_to_six_sees_it(
        self, world: World, length: int
    ) -> None:
        closing = _ring(world, length)[-1]
        f = world.features(closing)
        assert f["ring_cycle"] == 1.0
        assert len(f.evidence["ring"]) == length + 1  # back to where it started

    def test_two_customers_referring_each_other_are_mutual_not_a_ring(self, world: World) -> None:
        # Given a refers b in one program
        a = world.advocate(world.program(), "mutual-a")
        world.refer(a, "mutual-b")
        # When b refers a in another
        back = world.refer(world.advocate(world.program(), "mutual-b"), "mutual-a")
        f = world.features(back)
        # Then it is a mutual referral, not a ring
        assert (f["ring_cycle"], f.evidence["mutual_referral"]) == (0.0, True)

    def test_a_mutual_pair_inside_a_longer_cycle_is_still_a_ring(self, world: World) -> None:
        # Given a -> b -> c -> a in one program
        closing = _ring(world, 3)[-1]
        # And a refers c directly in another (so c and a also referred each other)
        elsewhere = world.advocate(world.program(), closing.referee_customer_id)
        world.refer(elsewhere, closing.advocate_customer_id)
        f = world.features(closing)
        assert f["ring_cycle"] == 1.0 and len(f.evidence["ring"]) == 4
        assert f.evidence["mutual_referral"] is True

    def test_a_ring_of_seven_is_too_long_to_count(self, world: World) -> None:
        closing = _ring(world, 7)[-1]
        assert world.features(closing)["ring_cycle"] == 0.0

    def test_earlier_edges_see_the_ring_once_it_closes(self, world: World) -> None:
        first = _ring(world, 3)[0]
        before_closing = world.extractor.extract(
            first.referral_id, first.occurred_at + timedelta(minutes=1)
        )
        assert before_closing["ring_cycle"] == 0.0
        assert world.features(first)["ring_cycle"] == 1.0

    def test_a_chain_that_does_not_come_back_is_no_ring(self, world: World) -> None:
        program = world.program()
        a = world.advocate(program, "chain-a")
        world.refer(a, "chain-b")
        b = world.advocate(program, "chain-b")
        referral = world.refer(b, "chain-c")
        assert world.features(referral)["ring_cycle"] == 0.0


class TestReversalRate:
    def test_share_of_the_advocates_decided_referrals_rejected_or_reversed(
        self, world: World
    ) -> None:
        advocate = world.advocate(world.program())
        statuses = [ReferralStatus.REJECTED, ReferralStatus.HOLDING, ReferralStatus.REWARDED]
        for status in statuses:
            past = world.refer(advocate)
            world.repo.save(past.model_copy(update={"status": status, "version": 2}), 1)
        world.refer(advocate)  # pending: not decided, not counted
        world.later(hours=1)
        f = world.features(world.refer(advocate))
        assert f.evidence["advocate_decided_referrals"] == 3
        assert f.evidence["advocate_reversed_or_rejected"] == 1
        # One bad outcome of three, counted beside two that went well: 1 / (3 + 2)
        assert f["advocate_reversal_rate"] == pytest.approx(1 / 5, abs=1e-3)

    def test_one_bad_outcome_alone_is_not_yet_a_high_rate(self, world: World) -> None:
        advocate = world.advocate(world.program())
        past = world.refer(advocate)
        world.repo.save(
            past.model_copy(update={"status": ReferralStatus.REJECTED, "version": 2}), 1
        )
        world.later(hours=1)
        f = world.features(world.refer(advocate))
        assert f["advocate_reversal_rate"] == pytest.approx(1 / 3, abs=1e-3)

    def test_referrals_clawed_back_after_payout_are_counted_apart(self, world: World) -> None:
        # Given one referral reversed after payout and one reversed before it
        advocate = world.advocate(world.program())
        clawed = world.refer(advocate)
        world.repo.save(
            clawed.model_copy(
                update={
                    "status": ReferralStatus.REVERSED,
                    "clawed_back_at": world.clock.now(),
                    "version": 2,
                }
            ),
            1,
        )
        returned = world.refer(advocate)
        world.repo.save(
            returned.model_copy(update={"status": ReferralStatus.REVERSED, "version": 2}), 1
        )
        world.later(hours=1)
        # When the advocate's next referral is scored
        f = world.features(world.refer(advocate))
        # Then both are bad outcomes, and one of them a clawback
        assert f.evidence["advocate_reversed_or_rejected"] == 2
        assert f.evidence["advocate_clawed_back"] == 1

    def test_no_history_is_a_zero_rate(self, world: World) -> None:
        f = world.features(world.refer(world.advocate(world.program())))
        assert f["advocate_reversal_rate"] == 0.0


class TestStallTablet:
    """An ambassador signs strangers up on a stall's tablet that is not their own device."""

    def test_strangers_paying_their_own_way_on_the_ambassadors_stall_tablet_are_not_linked(
        self, world: World
    ) -> None:
        # Given an ambassador enrolled on their phone who signed three strangers up on a tablet
        advocate = world.advocate(world.program(), device="ambassador-phone")
        for _ in range(3):
            world.later(minutes=5)
            world.buy(world.refer(advocate, device="stall-tablet", ip="198.51.100.20"))
        # When a fourth stranger signs up on it and pays with their own card
        world.later(minutes=5)
        referral = world.refer(advocate, device="stall-tablet", ip="198.51.100.20")
        world.buy(referral)
        f = world.features(referral)
        # Then the tablet and its network say nothing about them
        assert [f[n] for n in ("device_referrals_24h", "ip_referrals_24h", "device_customers")] == [
            0,
            0,
            0,
        ]
        assert f.evidence["shared_terminal"]["device_customers"] == 3

    def test_accounts_sharing_cards_on_one_tablet_stay_linked(self, world: World) -> None:
        advocate = world.advocate(world.program(), device="farmer-phone")
        for _ in range(3):
            world.later(minutes=5)
            world.buy(world.refer(advocate, device="farm-tablet"), card="batch-card")
        world.later(minutes=5)
        referral = world.refer(advocate, device="farm-tablet")
        world.buy(referral, card="batch-card")
        f = world.features(referral)
        assert f["device_referrals_24h"] == 3 and "shared_terminal" not in f.evidence
