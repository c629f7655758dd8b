"""Repositories: aggregates stored in one table (see README "Data model")."""
