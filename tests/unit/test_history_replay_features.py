"""Replaying an exported history reproduces the live features, feature by feature."""

from __future__ import annotations

import json

from shared.backtest.ops import parse_lines
from shared.backtest.replay import Backtest
from shared.repositories.history import StoredHistory
from shared.repositories.referrals import ReferralRepository
from shared.repositories.scoring_evidence import ScoringEvidence
from shared.scoring.features import FeatureExtractor
from shared.training.history_export import HistoryExport
from tests.unit.history_world import LiveWorld


def _recorded_history() -> tuple[LiveWorld, list[str]]:
    """Within one hour, so neither side runs a scheduled job: links through a shared
    device, IP, email alias and card, a throwaway address, a bot, purchases, a finance
    decision, a refund and an erased customer."""
    world = LiveWorld()
    program = world.program()
    _, first = world.advocate(program, "maria.lopez@example.com", "203.0.113.7", "dev-a1")
    _, second = world.advocate(program, "tom@example.net", "198.51.100.9", "dev-a2")
    made = [
        world.referral(program, first, "maria.lopez2@example.com", "203.0.113.7", "dev-a1"),
        world.referral(program, first, "friend1@gmail.com", "192.0.2.10", "dev-x"),
        world.referral(program, first, "f.riend1+x@gmail.com", "192.0.2.11", "dev-x"),
        world.referral(
            program,
            second,
            "someone@mailinator.com",
            "192.0.2.50",
            "dev-y",
            ua="python-requests/2.31",
        ),
        world.referral(program, second, "plain.person@example.org", "2001:db8::1", "dev-z"),
    ]
    ids = [r.referral_id for r in made]
    for n, referral_id in enumerate(ids):
        world.tick(240)
        world.purchase(referral_id, f"ord-{n}", f"card-{n % 3}")
    in_review = [i for i in ids if world.referral_now(i).status.value == "review"]
    for referral_id in in_review:
        world.decide(referral_id, "approve", "finance-1")
    world.refund(ids[-1], "ord-4")
    # The throwaway-mail referee asked to be forgotten: the export names them by a pseudonym.
    world.services.customers.erase(made[3].referee_customer_id, "privacy-1")
    return world, ids


def test_replaying_an_export_gives_every_referral_the_features_it_had_live() -> None:
    # Given a history recorded through the services, and each referral's live features
    world, ids = _recorded_history()
    live = FeatureExtractor(ScoringEvidence(world.table), world.hasher)
    expected = {}
    for referral_id in ids:
        referral = world.referral_now(referral_id)
        assert referral.risk is not None
        key = (referral.program_id, referral.referee_customer_id)
        expected[key] = live.extract(referral_id, referral.risk.scored_at).values

    # When the history is exported and the export replayed
    exported = world.export()
    text = [json.dumps(op) for op in exported.ops]
    replay = Backtest(incremental=False)
    result = replay.run(parse_lines(text))

    # Then every referral has, as of its score time, the features it had live
    assert result.stats["refused"] == {}
    replayed = FeatureExtractor(ScoringEvidence(replay.table), replay.hasher)
    repo = ReferralRepository(replay.table)
    names = HistoryExport(StoredHistory(world.table), world.pseudonym, world.clock.now())
    names.export()
    for (program, referee), values in expected.items():
        referral_id = replay.referral_id_of(program, names.name(referee))
        assert referral_id is not None
        referral = repo.get(referral_id)
        assert referral is not None and referral.risk is not None
        got = replayed.extract(referral_id, referral.risk.scored_at).values
        for name, value in values.items():
            assert got[name] == value, f"{referee}: {name} live {value}, replayed {got[name]}"
