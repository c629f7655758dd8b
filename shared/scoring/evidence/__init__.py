"""The evidence behind a referral's features, one module per kind of evidence.

`source` is what the groups read through (a port, and one extraction's memoised view);
`identity` (device, IP, card links, the shared terminal), `email`, `velocity`,
`conversion`, `graph` (referee advocates, rings) and `history` (the advocate's past)
each compute the features `shared.scoring.feature_spec.FEATURE_GROUPS` lists for them.
"""
