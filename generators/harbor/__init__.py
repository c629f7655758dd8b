"""harbor: traffic of a North American apparel and outdoor-gear shop's referral programs."""
