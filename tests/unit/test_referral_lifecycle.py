"""The referral's life cycle: `Referral.move` is the only way its status changes."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.evidence import Fingerprint
from shared.domain.referrals import TRANSITIONS, IllegalMove, Referral, ReferralStatus
from tests.support import T0

S = ReferralStatus


def _referral(status: ReferralStatus = S.PENDING) -> Referral:
    return Referral(
        referral_id="ref_lifecycle",
        program_id="prg_lifecycle",
        advocate_id="adv_lifecycle",
        advocate_customer_id="cust-a",
        referral_code="CODE1",
        referee_customer_id="cust-b",
        fingerprint=Fingerprint(),
        status=status,
        occurred_at=T0,
        recorded_at=T0,
        updated_at=T0,
    )


def test_a_move_the_table_allows_advances_the_version_and_the_time() -> None:
    later = T0 + timedelta(hours=1)

    moved = _referral().move(S.HOLDING, later)

    assert (moved.status, moved.version, moved.updated_at) == (S.HOLDING, 2, later)


def test_a_move_the_table_forbids_is_refused() -> None:
    with pytest.raises(IllegalMove):
        _referral(S.REWARDED).move(S.HOLDING, T0)


def test_a_release_with_nothing_to_pay_may_end_a_holding_referral_rewarded() -> None:
    assert _referral(S.HOLDING).move(S.REWARDED, T0).status == S.REWARDED


def test_the_same_hold_reason_twice_changes_nothing() -> None:
    held = _referral(S.HOLDING).held("program_paused", T0)

    assert held.held("program_paused", T0 + timedelta(hours=1)) is held


def test_a_move_ends_the_hold() -> None:
    held = _referral(S.HOLDING).held("budget_exhausted", T0)

    moved = held.move(S.REWARDING, T0)

    assert (moved.hold_reason, moved.hold_since) == (None, None)


def test_a_plain_change_cannot_carry_a_status() -> None:
    with pytest.raises(ValueError):
        _referral().changed(T0, status=S.HOLDING)


@given(st.lists(st.sampled_from(list(S)), max_size=12))
def test_any_sequence_of_moves_leaves_a_path_in_the_table(targets: list[ReferralStatus]) -> None:
    # Given a pending referral and random requested moves
    referral = _referral()
    history = [referral.status]

    # When each is attempted in turn
    for target in targets:
        try:
            referral = referral.move(target, T0)
        except IllegalMove:
            continue
        history.append(referral.status)

    # Then the statuses it passed through are a path in the transition table
    assert all(b in TRANSITIONS[a] for a, b in pairwise(history))
    assert referral.version == len(history)
