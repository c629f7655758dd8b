"""Adapters from the ports to AWS (and to memory for tests and the backtest)."""
