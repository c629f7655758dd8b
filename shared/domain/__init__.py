"""Entities and rules. Nothing here knows about AWS, HTTP or storage.

Every model builds its validator on first use (`defer_build=True`): a function imports
the entities of every schema it serves but validates a few, and building them all at
import was 15-25 ms of each HTTP function's cold import.
"""
