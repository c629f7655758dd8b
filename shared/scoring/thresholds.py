"""The numbers features and rules are read against, each with the reason it is where it is.

Features compute on some of them (a shared terminal is decided while the features are
built) and rules on others; one module keeps a number and its reason in one place.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.domain.evidence import EvidenceKind

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

# --- email ----------------------------------------------------------------------------------

# What a mailbox name rebuilt from another's name parts (`mark.jensen` -> `jensenm84`)
# counts as: as close as a one-letter typo, because character overlap alone misses it.
REBUILT_NAME_SIMILARITY = 0.95
# Similar mailbox names at or above this share hint at one person's addresses.
SIMILAR_EMAIL = 0.85
# Similar mailbox names at or above this share (SIMILAR_EMAIL) hint at one person's
# addresses, and at or above this share they are one person's name at another provider: rare
# between different people (a few in ten thousand legitimate referrals), so it holds the
# payout for a person's look whatever the model thinks.
NEAR_IDENTICAL_EMAIL = 0.9

# --- identity links -------------------------------------------------------------------------

# A device the advocate shares with at least this many other customers, each paying with
# a card of their own, is a shared terminal (a store tablet, a kiosk at an event).
TERMINAL_CUSTOMERS = 3
# What a shared terminal explains: links through the device and the network it sits on.
TERMINAL_EXPLAINS = (
    "same_device",
    "same_ip",
    "same_ip_prefix24",
    "same_user_agent",
    "device_referrals_24h",
    "ip_referrals_24h",
    "ip_prefix_referrals_24h",
    "device_customers",
    "ip_customers",
)
# Other customers on one card: a family shares a card with the advocate (its own rule);
# this many strangers on it are not a family.
CARD_SHARED_BY = 2
# Identifiers listed in evidence are capped; the count is always complete.
EVIDENCE_IDS = 10

# --- velocity -------------------------------------------------------------------------------

# Evidence read only for counts within a window around the referral and for links to its
# advocate (the advocate's customer, or the advocate's other referees).
WINDOWED: dict[EvidenceKind, timedelta] = {
    EvidenceKind.DEVICE: DAY,
    EvidenceKind.IP: DAY,
    EvidenceKind.IP_PREFIX: DAY,
}
# Referrals paid with the referee's card are counted over a week around the card's first
# use on the referral (devices and networks over a day, WINDOWED).
CARD_WINDOW = WEEK
# Influencers cause bursts too: velocity alone never flags, it strengthens other signals.
# Uses of one advocate's code (within an hour, a day, a week) that add a hint, then a
# stronger one.
ADVOCATE_REFERRALS_1H = (5, 10)
ADVOCATE_REFERRALS_24H = (15, 40)
ADVOCATE_REFERRALS_7D = 50
# Other referrals from the referee's device within a day: any is telling (one device is
# one person more often than not); this many is one machine signing people up.
DEVICE_REFERRALS_FARM = 3
# Other referrals from the referee's IP address within a day: households and offices
# share an address, so fewer than the first count nothing, and the second counts more.
IP_REFERRALS = (3, 8)
# Other referrals from its /24 network, which strangers share on one carrier or campus:
# only a crowd counts, and only as a hint.
NETWORK_REFERRALS = 15
# Other referrals paid with the referee's card within a week: any is telling (a card is
# one payer); this many is one payer behind a batch of referrals.
CARD_REFERRALS_MANY = 3

# --- conversion -----------------------------------------------------------------------------

# Signing up straight from a link is normal; buying within a minute rarely is.
FAST_SIGNUP_SECONDS = 10
FAST_PURCHASE_SECONDS = (60, 300)
# A referee abroad whose first order is exactly the minimum, placed within a day of the
# referral, is the cash-out of a bought or borrowed account: each signal alone is
# ordinary (travellers, small first orders, keen friends), the three together are not.
# Merchants' own histories showed the shipped model catching 12% of it, from weak
# signals only; a held payout is what a person needs to see it.
CROSS_BORDER_MINIMUM_SECONDS = 24 * 3600

# --- the referral graph ---------------------------------------------------------------------

# A ring is a cycle advocate -> referee (who is an advocate) -> ... -> the first advocate.
RING_MAX_LENGTH = 6
# Bounds the breadth-first search so a popular advocate network cannot blow up one scoring.
RING_MAX_CUSTOMERS = 200

# The latest referrals linked by device or card whose outcome is read: a farm's rejections
# show in its latest few; reading more would make one busy device slow every score.
LINKED_OUTCOMES_READ = 20

# --- timing ---------------------------------------------------------------------------------

# An advocate's usual time of day needs this many earlier referrals to mean anything.
USUAL_HOUR_MIN_REFERRALS = 3

# --- the advocate's history -----------------------------------------------------------------

# The advocate's most recent referrals whose outcome is read for the reversal rate.
REVERSAL_LOOKBACK = 20
# The rate counts this many more referrals as having gone well: one bad outcome out of
# one is an accident (a return, a mistaken refusal) more often than a pattern.
REVERSAL_PRIOR = 2
# An advocate's outcomes only count once there are enough of them to be a pattern.
MIN_DECIDED_FOR_REVERSALS = 3
# Shares of the advocate's decided referrals reversed or rejected that add a hint, then a
# stronger one.
REVERSAL_RATES = (0.3, 0.5)
# Refunds after payout: one is an ordinary return; this many from one advocate's referees
# is a pattern worth a person's look before paying again...
CLAWBACKS_TO_HOLD = 2
# ... and this share of their decided referrals: a busy advocate's friends return things too.
CLAWBACK_SHARE_TO_HOLD = 0.4

# --- the priced decision (shared/scoring/policy.py) -----------------------------------------

# A reviewer's look at one referral: about four minutes of finance time at 45 an hour.
REVIEW_COST = Decimal("3.00")
# What holding a legitimate friend's reward for a review costs in goodwill, as a share of
# the rewards: a day or two's wait, rarely a lost customer.
REVIEW_DELAY_SHARE = Decimal("0.10")
# Share of the fraud put in front of a reviewer that the reviewer refuses.
REVIEWER_CATCH = Decimal("0.90")
# A wrongly refused friend costs their rewards and the customer they would have become:
# three times the rewards, the margin of about a year of a typical referred customer.
REFUSAL_COST_MULTIPLE = Decimal("3")
