"""Training-time code: synthetic data, model fitting, export and evaluation.

Only this package may import scikit-learn or matplotlib; it is stripped from the
Lambda layer, which scores with ``shared.scoring`` and numpy alone.
"""
