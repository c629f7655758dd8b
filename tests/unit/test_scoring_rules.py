"""Rules, and the decision that combines them with the model."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.ports import BlockEntry
from shared.scoring import rules
from shared.scoring.decision import REJECT_AT, REVIEW_AT, ModelVerdict, decide, rules_score
from shared.scoring.feature_spec import FEATURE_NAMES
from shared.scoring.feature_values import Features
from shared.scoring.serving import ModelJudge
from shared.scoring.thresholds import REBUILT_NAME_SIMILARITY
from tests.support import T0


def features(evidence: dict[str, Any] | None = None, **values: float) -> Features:
    base = dict.fromkeys(FEATURE_NAMES, 0.0)
    base.update(seconds_to_conversion=86_400.0, order_value_ratio=2.0, advocate_tenure_days=90.0)
    base.update(values)
    return Features("ref_x", T0, base, {"qualifying_event": "purchase", **(evidence or {})})


def fired(f: Features, blocks: list[BlockEntry] | None = None) -> list[str]:
    return [hit.code for hit in rules.evaluate(f, blocks or [])]


def risk_of(f: Features, *, auto_reject: bool = True, verdict: ModelVerdict | None = None):
    return decide(rules.evaluate(f), verdict, auto_reject=auto_reject, scored_at=T0)


def ordinary() -> ModelVerdict:
    """The model finding a referral unremarkable."""
    return ModelVerdict(version="m-test", score=5.0, review_at=50.0, reject_at=90.0)


class TestRules:
    def test_ordinary_traffic_fires_nothing(self) -> None:
        assert fired(features()) == []
        assert risk_of(features()).decision == "approve"

    def test_a_shared_household_ip_alone_is_approved(self) -> None:
        f = features(same_ip=1.0, same_ip_prefix24=1.0)
        assert fired(f) == [rules.SELF_REFERRAL_IP]
        risk = risk_of(f)
        assert risk.decision == "approve"
        assert "households" in risk.reasons[0].message

    def test_the_advocates_device_goes_to_review(self) -> None:
        assert risk_of(features(same_device=1.0)).decision == "review"

    def test_device_ip_and_browser_together_are_stronger_than_each(self) -> None:
        alone = risk_of(features(same_device=1.0)).score
        together = risk_of(features(same_device=1.0, same_ip=1.0, same_user_agent=1.0)).score
        assert together > alone

    def test_an_email_alias_is_rejected(self) -> None:
        risk = risk_of(features(email_alias=1.0, email_local_similarity=1.0))
        assert (risk.decision, [r.code for r in risk.reasons]) == ("reject", [rules.EMAIL_ALIAS])

    def test_a_similar_email_is_a_weak_alias_signal(self) -> None:
        hit = rules.email_alias(features(email_local_similarity=0.86))
        assert hit is not None and hit.weight < 0.5 and not hit.firm
        assert hit.reason.evidence == {"similarity_percent": 86}

    def test_the_advocates_name_at_another_provider_holds_the_payout(self) -> None:
        # Given a referee whose mailbox name is nearly the advocate's, at another domain
        f = features(email_local_similarity=0.93)
        # When the model finds the referral ordinary
        risk = risk_of(f, verdict=ordinary())
        # Then a person still looks before it pays
        assert risk.decision == "review"
        assert risk.reasons[0].evidence == {"similarity_percent": 93}

    def test_the_referee_referring_the_advocate_back_is_a_weak_signal(self) -> None:
        f = features({"mutual_referral": True})
        assert fired(f) == [rules.MUTUAL_REFERRAL]
        assert risk_of(f).decision == "approve"

    def test_a_mutual_referral_beside_the_advocates_device_goes_to_review(self) -> None:
        f = features({"mutual_referral": True}, same_device=1.0)
        assert risk_of(f).decision == "review"

    def test_a_ring_is_not_also_a_mutual_referral(self) -> None:
        f = features({"mutual_referral": True, "ring": ["a", "b", "c", "a"]}, ring_cycle=1.0)
        assert fired(f) == [rules.RING]

    @pytest.mark.parametrize(
        ("values", "code"),
        [
            ({"same_payment_fingerprint": 1.0}, rules.SHARED_PAYMENT),
            ({"disposable_email": 1.0}, rules.DISPOSABLE_EMAIL),
            ({"automation_user_agent": 1.0}, rules.AUTOMATION),
            ({"advocate_referrals_1h": 12.0}, rules.VELOCITY_ADVOCATE),
            ({"device_referrals_24h": 1.0}, rules.VELOCITY_DEVICE),
            ({"ip_referrals_24h": 4.0}, rules.VELOCITY_IP),
            ({"ip_prefix_referrals_24h": 20.0}, rules.VELOCITY_IP),
            ({"payment_fingerprint_referrals_7d": 1.0}, rules.VELOCITY_PAYMENT),
            ({"ring_cycle": 1.0}, rules.RING),
            ({"seconds_to_conversion": 20.0}, rules.FAST_CONVERSION),
            ({"country_mismatch": 1.0}, rules.COUNTRY_MISMATCH),
        ],
    )
    def test_each_signal_has_its_reason_code(self, values: dict[str, float], code: str) -> None:
        assert fired(features(**values)) == [code]

    def test_two_people_on_one_ip_are_not_ip_velocity(self) -> None:
        assert fired(features(ip_referrals_24h=1.0)) == []

    def test_a_fast_signup_is_normal_in_a_signup_program(self) -> None:
        f = features({"qualifying_event": "signup"}, seconds_to_conversion=40.0)
        assert fired(f) == []

    def test_a_referee_abroad_ordering_the_minimum_within_a_day_is_held_whatever_the_model_says(
        self,
    ) -> None:
        # Given a referee in another country whose first order is exactly the minimum, 3 h in
        f = features(country_mismatch=1.0, order_at_minimum=1.0, seconds_to_conversion=10_800.0)

        # When it is decided with a model that finds it ordinary
        risk = risk_of(f, verdict=ordinary())

        # Then a person sees it first, and the reason says why
        assert risk.decision == "review"
        assert risk.reasons[0].code == rules.CROSS_BORDER_MINIMUM
        assert risk.reasons[0].evidence["seconds_to_conversion"] == 10_800

    @pytest.mark.parametrize(
        "values",
        [
            {"country_mismatch": 0.0, "order_at_minimum": 1.0, "seconds_to_conversion": 600.0},
            {"country_mismatch": 1.0, "order_at_minimum": 0.0, "seconds_to_conversion": 600.0},
            {"country_mismatch": 1.0, "order_at_minimum": 1.0, "seconds_to_conversion": 86_400.0},
        ],
        ids=["same country", "above the minimum", "a day later"],
    )
    def test_two_of_the_cross_border_signals_are_not_the_pattern(
        self, values: dict[str, float]
    ) -> None:
        assert rules.CROSS_BORDER_MINIMUM not in fired(features(**values))

    def test_a_name_rebuilt_from_the_advocates_is_an_alias_signal(self) -> None:
        hit = rules.email_alias(features(email_local_similarity=REBUILT_NAME_SIMILARITY))
        assert hit is not None and hit.code == rules.EMAIL_ALIAS and not hit.firm
        assert "name parts" in hit.reason.message

    def test_a_family_card_alone_waits_for_the_models_agreement(self) -> None:
        # Given a referee paying with the advocate's card and nobody else's
        f = features(same_payment_fingerprint=1.0)
        # When the model finds the referral ordinary
        risk = risk_of(f, verdict=ordinary())
        # Then it is approved, with the card named as a reason
        assert risk.decision == "approve"
        assert [r.code for r in risk.reasons] == [rules.SHARED_PAYMENT]

    def test_the_advocates_card_used_by_strangers_too_is_rejected(self) -> None:
        f = features(
            {"card_customers": ["c1"]}, same_payment_fingerprint=1.0, payment_card_customers=1.0
        )
        risk = risk_of(f, verdict=ordinary())
        assert risk.decision == "reject"
        assert risk.reasons[0].evidence["customers"] == ["c1"]

    def test_a_card_shared_by_strangers_holds_the_payout_whatever_the_model_says(self) -> None:
        f = features({"card_customers": ["c1", "c2"]}, payment_card_customers=2.0)
        risk = risk_of(f, verdict=ordinary())
        assert risk.decision == "review"
        assert risk.reasons[0].code == rules.SHARED_PAYMENT

    def test_one_stranger_on_the_card_is_not_enough(self) -> None:
        assert fired(features(payment_card_customers=1.0)) == []

    def test_a_strangers_card_paying_for_other_referrals_this_week_holds_the_payout(
        self,
    ) -> None:
        # Given a card another customer used, which paid for another referral this week
        f = features(
            {"card_customers": ["c1"]},
            payment_card_customers=1.0,
            payment_fingerprint_referrals_7d=1.0,
        )
        # When the model finds the referral ordinary
        risk = risk_of(f, verdict=ordinary())
        # Then a person looks before it pays
        assert risk.decision == "review"
        shared = next(r for r in risk.reasons if r.code == rules.SHARED_PAYMENT)
        assert shared.evidence == {"customers": ["c1"], "referrals_7d": 1}

    def test_repeated_clawbacks_hold_the_payout_whatever_the_model_says(self) -> None:
        f = features({"advocate_decided_referrals": 3, "advocate_clawed_back": 2})
        risk = risk_of(f, verdict=ordinary())
        assert risk.decision == "review"
        assert risk.reasons[0].code == rules.REFERRER_REVERSALS
        assert risk.reasons[0].evidence["clawed_back_referrals"] == 2

    def test_a_busy_advocates_occasional_clawbacks_do_not_hold_payouts(self) -> None:
        f = features({"advocate_decided_referrals": 20, "advocate_clawed_back": 2})
        assert fired(f) == []

    def test_reversals_need_a_history_to_count(self) -> None:
        few = features({"advocate_decided_referrals": 2, "advocate_reversed_or_rejected": 2})
        many = features({"advocate_decided_referrals": 6, "advocate_reversed_or_rejected": 3})
        assert fired(few) == []
        assert fired(many) == [rules.REFERRER_REVERSALS]

    def test_a_ring_is_rejected_and_says_how_long(self) -> None:
        f = features({"ring": ["a", "b", "c", "a"]}, ring_cycle=1.0)
        risk = risk_of(f)
        assert risk.decision == "reject"
        assert risk.reasons[0].evidence["length"] == 3

    def test_blocked_evidence_is_a_hard_reject_whatever_else(self) -> None:
        entry = BlockEntry("blk_1", "device", "h", "chargebacks")
        hits = rules.evaluate(features(), [entry])
        risk = decide(hits, None, auto_reject=True, scored_at=T0)
        assert (risk.decision, risk.score) == ("reject", Decimal("100.00"))
        assert risk.reasons[0].code == rules.BLOCKED
        assert risk.reasons[0].evidence["entries"][0]["entry_id"] == "blk_1"

    def test_evidence_holds_no_floats(self) -> None:
        # DynamoDB refuses floats, so a reason's evidence must hold none.
        values = dict.fromkeys(FEATURE_NAMES, 1.0)
        values.update(
            email_local_similarity=0.93, advocate_reversal_rate=0.6666, seconds_to_conversion=12.5
        )
        f = features(
            {"ring": ["a", "b", "a"], "advocate_decided_referrals": 9, "countries": {"a": "US"}},
            **values,
        )

        def floats(value: Any) -> list[float]:
            if isinstance(value, float):
                return [value]
            if isinstance(value, dict):
                return [x for v in value.values() for x in floats(v)]
            if isinstance(value, list):
                return [x for v in value for x in floats(v)]
            return []

        hits = rules.evaluate(f)
        assert len(hits) >= 10
        for hit in hits:
            assert floats(hit.reason.evidence) == [], hit.code


class TestDecision:
    def test_scores_combine_as_independent_signals(self) -> None:
        hits = rules.evaluate(features(same_device=1.0, disposable_email=1.0))
        assert rules_score(hits) == pytest.approx(100 * (1 - 0.4 * 0.65))

    def test_thresholds_split_approve_review_reject(self) -> None:
        assert 0 < REVIEW_AT < REJECT_AT <= 100

    def test_without_auto_reject_a_reject_goes_to_review(self) -> None:
        risk = risk_of(features(ring_cycle=1.0), auto_reject=False)
        assert risk.decision == "review"
        assert [r.code for r in risk.reasons] == [rules.RING]

    def test_strongest_reason_comes_first(self) -> None:
        risk = risk_of(features(country_mismatch=1.0, ring_cycle=1.0, disposable_email=1.0))
        assert [r.code for r in risk.reasons] == [
            rules.RING,
            rules.DISPOSABLE_EMAIL,
            rules.COUNTRY_MISMATCH,
        ]

    def test_rules_only_is_named_as_such(self) -> None:
        assert risk_of(features()).model_version == rules.RULES_VERSION == "rules-1"

    def test_the_same_inputs_decide_the_same(self) -> None:
        f = features(same_device=1.0, fast=0.0, seconds_to_conversion=30.0)
        assert risk_of(f) == risk_of(f)

    def test_a_model_alone_can_send_to_review_with_an_anomaly_reason(self) -> None:
        verdict = ModelVerdict(
            version="if-test",
            score=72.0,
            review_at=60.0,
            reject_at=95.0,
            drivers=(("advocate_referrals_24h", "30 referrals used this code", 30.0),),
        )
        risk = risk_of(features(), verdict=verdict)
        assert (risk.decision, risk.model_version) == ("review", "if-test")
        assert risk.reasons[-1].code == rules.ANOMALY
        assert "30 referrals used this code" in risk.reasons[-1].message
        # 72 is 12 of the 35 points between the model's lines, placed between the risk lines.
        assert risk.score == Decimal("53.71")

    def test_the_models_lines_are_the_risk_lines(self) -> None:
        def placed(score: float) -> float:
            verdict = ModelVerdict(version="if-test", score=score, review_at=60.0, reject_at=95.0)
            return verdict.on_risk_scale()

        assert placed(60.0) == pytest.approx(REVIEW_AT)
        assert placed(95.0) == pytest.approx(REJECT_AT)
        assert (placed(0.0), placed(100.0)) == (0.0, 100.0)
        assert placed(30.0) < placed(59.9) < REVIEW_AT < placed(61.0) < placed(94.0) < REJECT_AT

    def test_a_model_that_never_rejects_still_reaches_the_top_of_the_scale(self) -> None:
        verdict = ModelVerdict(version="if-test", score=80.0, review_at=60.0)
        assert verdict.on_risk_scale() == pytest.approx(REVIEW_AT + 20.0 * 60.0 / 40.0)

    def test_a_calm_model_does_not_overrule_a_rule(self) -> None:
        verdict = ModelVerdict(version="if-test", score=5.0, review_at=60.0, reject_at=95.0)
        risk = risk_of(features(email_alias=1.0), verdict=verdict)
        assert risk.decision == "reject"
        assert rules.ANOMALY not in [r.code for r in risk.reasons]


class TestCorroboration:
    """With a model, a soft rule's review needs the model to find the referral unusual."""

    def soft(self) -> Features:
        f = features(same_device=1.0)
        assert risk_of(f).decision == "review"  # rules alone: review
        return f

    def test_a_soft_rule_the_model_finds_ordinary_explains_but_approves(self) -> None:
        calm = ModelVerdict(version="if-test", score=20.0, review_at=60.0, reject_at=95.0)
        risk = risk_of(self.soft(), verdict=calm)
        assert risk.decision == "approve"
        assert rules.SELF_REFERRAL_DEVICE in [r.code for r in risk.reasons]

    def test_an_approved_soft_rule_scores_below_the_review_line_in_the_same_order(
        self,
    ) -> None:
        calm = ModelVerdict(version="if-test", score=20.0, review_at=60.0, reject_at=95.0)
        device = risk_of(self.soft(), verdict=calm)
        stronger = risk_of(features(same_device=1.0, same_ip=1.0), verdict=calm)
        assert device.decision == stronger.decision == "approve"
        assert device.score < stronger.score < Decimal(str(REVIEW_AT))

    def test_a_soft_rule_the_model_agrees_with_is_reviewed(self) -> None:
        uneasy = ModelVerdict(version="if-test", score=61.0, review_at=60.0, reject_at=95.0)
        assert risk_of(self.soft(), verdict=uneasy).decision == "review"


class _FakeModel:
    """The surface of `shared.scoring.model.FraudModel` that scoring relies on."""

    version = "if-fake-1"
    feature_names = FEATURE_NAMES

    class thresholds:
        review = 50.0
        reject = 90.0

    def __init__(self) -> None:
        self.calls = 0

    def score(self, matrix: Any) -> list[float]:
        self.calls += 1
        row = list(matrix[0])
        return [min(100.0, 10.0 * row[FEATURE_NAMES.index("advocate_referrals_1h")])]

    def explain(self, row: Any) -> list[tuple[str, float, float]]:
        index = FEATURE_NAMES.index("advocate_referrals_1h")
        return [("advocate_referrals_1h", 0.4, float(row[index]))]


class TestModelJudge:
    def test_verdict_names_the_features_the_model_explains(self) -> None:
        judge = ModelJudge(_FakeModel())
        verdict = judge.verdict(features(advocate_referrals_1h=7.0))
        assert (verdict.score, verdict.decision) == (70.0, "review")
        assert verdict.drivers[0][0] == "advocate_referrals_1h"
        assert "7 referrals" in verdict.drivers[0][1]

    def test_the_same_row_is_scored_once(self) -> None:
        model = _FakeModel()
        judge = ModelJudge(model)
        for _ in range(3):
            judge.verdict(features(advocate_referrals_1h=2.0))
        assert model.calls == 1

    def test_a_model_expecting_unknown_features_is_refused(self) -> None:
        model = _FakeModel()
        model.feature_names = (*FEATURE_NAMES, "shoe_size")  # type: ignore[assignment]
        with pytest.raises(ValueError, match="shoe_size"):
            ModelJudge(model)


def test_decision_time_is_the_scored_at_it_is_given() -> None:
    at = datetime.fromisoformat("2027-01-01T00:00:00+00:00")
    assert decide([], None, auto_reject=True, scored_at=at).scored_at == at
