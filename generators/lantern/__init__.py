"""Traffic of a European meal-kit subscription shop with referral programs in EUR and GBP."""
