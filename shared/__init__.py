"""Referral reward fulfilment: domain, adapters and the local stack."""
