"""Entities and rules. Nothing here knows about AWS, HTTP or storage."""
