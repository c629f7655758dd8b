"""Fraud scoring at serving time: the feature contract and numpy-only model scorers.

Nothing in this package may import scikit-learn or scipy: it ships in every Lambda
that scores referrals, and reads the trained artifact with numpy and json alone.
"""
