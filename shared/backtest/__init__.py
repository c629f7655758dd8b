"""Replaying a recorded history of programs, referrals and events through the services.

The replay runs the same use cases as the functions do, on the in-memory table with a
simulated clock, so its decisions are the ones live traffic would have got.
"""
